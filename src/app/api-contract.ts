import fs from "node:fs";
import path from "node:path";
import { openApiDocument } from "../http/openapi.ts";
import { packageVersion } from "./build-info.ts";
import { loadConfig } from "./config.ts";
import type { AppContext } from "./context.ts";
import { buildServer } from "./server.ts";

/** Where the committed API contract lives: the OpenAPI document as this version of ClubOS serves it.
 * test/integration/api-contract.test.ts compares the live document with it, so a change to any route,
 * schema or error code is a deliberate one (npm run docs:openapi writes it again). */
export const CONTRACT_FILE = path.resolve(import.meta.dirname, "../../docs/api/openapi.json");

/** The OpenAPI document of the app's routes, built without a database, as stable JSON. */
export async function renderApiContract(): Promise<string> {
  const config = loadConfig({
    CLUBOS_DATA_DIR: "/nonexistent/data",
    CLUBOS_BACKUP_DIR: "/nonexistent/backups",
  });
  const app = await buildServer({ config, deploy: null } as unknown as AppContext);
  try {
    return `${JSON.stringify(openApiDocument(app, packageVersion()), null, 2)}\n`;
  } finally {
    await app.close();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) {
  fs.writeFileSync(CONTRACT_FILE, await renderApiContract());
  console.log(`Wrote ${path.relative(process.cwd(), CONTRACT_FILE)}.`);
}
