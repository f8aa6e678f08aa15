import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { sql } from "kysely";
import type { Runtime } from "../../src/app/runtime.ts";
import { runAction } from "../../src/core/action.ts";
import { operatorActor } from "../../src/core/actor.ts";
import { sqlState } from "../../src/core/errors.ts";
import {
  type ActionEffect,
  EFFECTS,
  MODES,
  modeRefusal,
  readSystemState,
  SWITCHES,
  type SystemState,
} from "../../src/core/modes.ts";
import { setMode, setSwitch } from "../../src/domains/ops/mode.actions.ts";
import { routeTable } from "../../src/http/routes.ts";
import { createMember, suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { apiPost, tokenMember } from "../helpers/events.ts";
import { Client } from "../helpers/http.ts";

async function backToNormal(runtime: Runtime): Promise<void> {
  const env = runtime.actionEnv(operatorActor("cleanup"));
  await runAction(env, setMode, { mode: "normal", reason: "test over" });
  for (const name of SWITCHES) await runAction(env, setSwitch, { name, on: false, reason: "test over" });
  await runtime.modes.refresh();
}

const eventCount = async (runtime: Runtime) =>
  Number(
    (
      await runtime.database.db
        .selectFrom("events")
        .select((eb) => eb.fn.countAll().as("n"))
        .executeTakeFirstOrThrow()
    ).n,
  );

/** What the SQL last line of defence answers for one effect in the current state: the refusal code
 * runAction would show, or null when the audit entry was written. Rolled back either way. */
async function sqlAnswer(runtime: Runtime, effect: ActionEffect): Promise<string | null> {
  const rollback = new Error("rollback");
  try {
    await runtime.database.db.transaction().execute(async (trx) => {
      await sql`SELECT clubos_audit_write(${effect}, false, 'operator', 'operator:probe', 'probe.checked',
        'probe', '1', NULL, NULL, NULL, NULL)`.execute(trx);
      throw rollback;
    });
  } catch (error) {
    if (error === rollback) return null;
    const code = sqlState(error);
    if (code === "CB003") return "state_unavailable";
    if (code === "CB001" || code === "CB002") return "refused";
    throw error;
  }
  return null;
}

forEachEngine("the one mode decision", (engine) => {
  const t = suiteApp(engine);
  afterEach(() => backToNormal(t.get().runtime));

  test("[G10] with the admin freeze on, creating an event is refused on the HTML and the JSON route alike", async () => {
    const { runtime, baseUrl } = t.get();
    const admin = await tokenMember(runtime, ["member", "full_admin"]);
    const browserAdmin = await createMember(runtime, ["member", "full_admin"]);
    const browser = new Client(baseUrl);
    assert.equal((await browser.login(browserAdmin.email, browserAdmin.password)).status, 303);
    const csrf = await browser.csrf();
    await runAction(runtime.actionEnv(operatorActor("alice")), setSwitch, {
      name: "admin_freeze",
      on: true,
      reason: "suspected compromise",
    });
    await runtime.modes.refresh();
    const before = await eventCount(runtime);
    const start = new Date(Date.now() + 86_400_000);
    const api = await apiPost(baseUrl, admin.token, "/api/v1/events", {
      title: "Frozen quiz",
      startsAt: start.toISOString(),
      endsAt: new Date(start.getTime() + 3_600_000).toISOString(),
      capacity: 5,
      audience: "public",
    });
    assert.equal(api.status, 503, "the JSON route is refused");
    assert.equal(api.body.error.code, "frozen");
    assert.match(api.body.error.message, /^Admin changes are frozen by an operator: suspected compromise\./);
    const html = await browser.request("POST", "/admin/events", {
      form: {
        _csrf: csrf,
        title: "Frozen quiz",
        startsAt: "2030-01-01T19:00",
        endsAt: "2030-01-01T21:00",
        capacity: "5",
        audience: "public",
      },
    });
    assert.equal(html.status, 503, "the HTML route is refused");
    assert.match(html.text, /Admin changes are frozen/);
    assert.equal(await eventCount(runtime), before, "no event was created by either route");
    const listed = routeTable(t.get().app).filter((r) => r.action === "createEvent");
    assert.equal(listed.length, 2);
    for (const r of listed) assert.equal(r.degraded.frozenBy, "admin_freeze", `${r.method} ${r.url}`);
  });

  test("[G10] every effect in every mode and switch: the SQL check and modeRefusal give the same answer", async () => {
    const { runtime } = t.get();
    const env = runtime.actionEnv(operatorActor("alice"));
    const effects = Object.keys(EFFECTS) as ActionEffect[];
    let compared = 0;
    for (const mode of MODES) {
      for (const on of [null, ...SWITCHES]) {
        await backToNormal(runtime);
        if (mode !== "normal") await runAction(env, setMode, { mode, reason: `agreement ${mode}` });
        if (on) await runAction(env, setSwitch, { name: on, on: true, reason: `agreement ${on}` });
        const state: SystemState = await readSystemState(runtime.database.db);
        for (const effect of effects) {
          const js = modeRefusal(effect, state);
          const db = await sqlAnswer(runtime, effect);
          const where = `${effect} in ${mode}${on ? ` with ${on}` : ""}`;
          assert.equal(
            db !== null,
            js !== null,
            `${where}: SQL ${db ?? "allows"}, modeRefusal ${js?.code ?? "allows"}`,
          );
          compared++;
        }
      }
    }
    assert.equal(compared, MODES.length * (SWITCHES.length + 1) * effects.length);
  });

  test("[G10] a state that cannot be read refuses every effect that needs it, in SQL and in modeRefusal", async () => {
    const { runtime } = t.get();
    for (const effect of Object.keys(EFFECTS) as ActionEffect[]) {
      const js = modeRefusal(effect, null);
      const rollback = new Error("rollback");
      let db: string | null = null;
      try {
        await runtime.database.db.transaction().execute(async (trx) => {
          await sql`DELETE FROM system_state`.execute(trx);
          await sql`SELECT clubos_audit_write(${effect}, false, 'operator', 'operator:probe', 'probe.checked',
            'probe', '1', NULL, NULL, NULL, NULL)`.execute(trx);
          throw rollback;
        });
      } catch (error) {
        if (error !== rollback) db = sqlState(error) ?? "error";
      }
      assert.equal(
        db !== null,
        js !== null,
        `${effect}: SQL ${db ?? "allows"}, modeRefusal ${js?.code ?? "allows"}`,
      );
      if (js) assert.equal(js.code, "state_unavailable");
    }
  });
});
