import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import { CONTRACT_FILE, renderApiContract } from "../../src/app/api-contract.ts";

/* The JSON API's shapes are a contract with the club's scripts and integrations: an accidental change to
 * a route, a field, a response or an error code fails here. A deliberate one regenerates the file
 * (npm run docs:openapi) and shows up in review. */

test("the OpenAPI document is the committed contract (docs/api/openapi.json; npm run docs:openapi after a deliberate change)", async () => {
  const live = JSON.parse(await renderApiContract());
  const committed = JSON.parse(fs.readFileSync(CONTRACT_FILE, "utf8"));
  assert.deepEqual(live, committed);
});
