import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { sql } from "kysely";
import { connectPgliteMemory, type PgliteDatabase } from "../../src/core/db/connect.ts";
import { contentVersionsReader } from "../../src/core/db/content-versions.ts";

/* On PGlite the versions are read again only after something ran on the database: these fail if the
 * reader gave its kept answer without asking whether the connection was lent since. */

let database: PgliteDatabase;

before(async () => {
  database = await connectPgliteMemory();
  await sql`CREATE TABLE content_versions (name text PRIMARY KEY, version text NOT NULL)`.execute(
    database.db,
  );
  await sql`INSERT INTO content_versions VALUES ('site', 's1'), ('access', 'a1')`.execute(database.db);
});

after(() => database.close());

const setSite = (version: string) =>
  sql`UPDATE content_versions SET version = ${version} WHERE name = 'site'`.execute(database.db);

test("with nothing run on the database since its last read, the reader gives that read again without a statement", async () => {
  const reader = contentVersionsReader(database);
  const first = await reader.get();
  const lent = database.lendings();
  const again = await reader.get();
  assert.equal(database.lendings(), lent, "no statement ran for the second answer");
  assert.equal(again.site, first.site);
  assert.equal(again.access, first.access);
  assert.ok(again.now.getTime() >= first.now.getTime(), "the clock is read afresh");
});

test("a statement run since the last read makes the next one read the database again", async () => {
  const reader = contentVersionsReader(database);
  assert.equal((await reader.get()).site, "s1");
  await setSite("s2");
  assert.equal((await reader.get()).site, "s2");
  await setSite("s1");
});

test("a caller during an open transaction gets what its commit left, not the kept answer", async () => {
  const reader = contentVersionsReader(database);
  assert.equal((await reader.get()).site, "s1");
  let asked: Promise<{ site: string }> | undefined;
  await database.db.transaction().execute(async (trx) => {
    await sql`UPDATE content_versions SET version = 's3' WHERE name = 'site'`.execute(trx);
    asked = reader.get();
    await new Promise((resolve) => setTimeout(resolve, 20));
  });
  assert.equal((await asked!).site, "s3");
  await setSite("s1");
});

test("direct use of pglite while holding the connection counts as a use", async () => {
  const reader = contentVersionsReader(database);
  assert.equal((await reader.get()).site, "s1");
  await database.db.connection().execute(async () => {
    await database.pglite.exec("UPDATE content_versions SET version = 's4' WHERE name = 'site'");
  });
  assert.equal((await reader.get()).site, "s4");
});
