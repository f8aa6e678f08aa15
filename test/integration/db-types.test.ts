import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import { renderSchemaTypes, SCHEMA_FILE } from "../../scripts/db-types.ts";
import { forEachEngine, suiteDatabase } from "../helpers/engines.ts";

forEachEngine("Kysely table types", (engine) => {
  const suite = suiteDatabase(engine);

  test("src/core/db/schema.ts is what the migrated database's tables generate", async () => {
    const generated = await renderSchemaTypes(suite.get().database);
    assert.ok(
      generated === fs.readFileSync(SCHEMA_FILE, "utf8"),
      "src/core/db/schema.ts does not match the migrations: run `npm run db:types` and commit the result.",
    );
  });
});
