import assert from "node:assert/strict";
import { test } from "node:test";
import { clearAlert, listAlerts, raiseAlert } from "../../src/core/alerts.ts";
import { suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { Client } from "../helpers/http.ts";
import { loggedIn } from "../helpers/identity.ts";

/** Waits until the process's watcher holds (or no longer holds) the alert, without asking it to refresh:
 * what a change made by another process (the CLI, another server) looks like. */
async function seen(read: () => readonly { key: string }[], key: string, present: boolean, ms = 3000) {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if (read().some((a) => a.key === key) === present) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`alert ${key} was ${present ? "not raised" : "not cleared"} within ${ms} ms`);
}

forEachEngine("operator alerts (core)", (engine) => {
  const t = suiteApp(engine);

  test("[G10] an alert raised in a transaction shows on admin pages within seconds, and goes when cleared", async () => {
    const { runtime } = t.get();
    const { client } = await loggedIn(t, ["member", "full_admin"]);
    const { client: chair } = await loggedIn(t, ["member", "events_chair"]);
    const db = runtime.database.db;
    const since = new Date(Date.now() - 3 * 3_600_000);
    await db.transaction().execute(async (trx) => {
      await raiseAlert(trx, {
        key: "test.backup_failing",
        severity: "critical",
        message: "The last two backups failed",
        link: "/admin/system",
        since,
      });
    });
    await seen(() => runtime.modes.alerts(), "test.backup_failing", true);
    const page = await client.get("/admin/members");
    assert.match(
      page.text,
      /<p class="alert-critical" role="alert">Critical: The last two backups failed \(since [^)]+ UTC\) <a href="\/admin\/system">What to do<\/a>/,
    );
    assert.doesNotMatch(
      (await new Client(t.get().baseUrl).get("/")).text,
      /The last two backups failed/,
      "never on public pages",
    );
    assert.doesNotMatch(
      (await client.get("/events")).text,
      /The last two backups failed/,
      "nor on members' pages",
    );
    const chairPage = await chair.get("/admin/events");
    assert.equal(chairPage.status, 200);
    assert.doesNotMatch(chairPage.text, /The last two backups failed/, "only for those who can act on it");

    // Raising it again updates the words but keeps since; a rolled-back raise leaves nothing.
    await raiseAlert(db, {
      key: "test.backup_failing",
      severity: "warning",
      message: "Backups failing, retrying",
    });
    const [again] = (await listAlerts(db)).filter((a) => a.key === "test.backup_failing");
    assert.equal(again?.severity, "warning");
    assert.equal(again?.since.toISOString(), since.toISOString());
    await db
      .transaction()
      .execute(async (trx) => {
        await raiseAlert(trx, { key: "test.rolled_back", severity: "warning", message: "never" });
        throw new Error("roll back");
      })
      .catch(() => undefined);
    assert.ok(!(await listAlerts(db)).some((a) => a.key === "test.rolled_back"));

    await db.transaction().execute((trx) => clearAlert(trx, "test.backup_failing"));
    await seen(() => runtime.modes.alerts(), "test.backup_failing", false);
    assert.doesNotMatch((await client.get("/admin/members")).text, /Backups failing/);
  });
});
