import assert from "node:assert/strict";
import { test } from "node:test";
import { sql } from "kysely";
import { claimThrottleAttempt } from "../../src/domains/identity/identity.repository.ts";
import { ACCOUNT_RULE } from "../../src/domains/identity/login-throttle.ts";
import { createMember, suiteApp } from "../helpers/app.ts";
import { runVerb } from "../helpers/audit.ts";
import { forEachEngine, postgresOnly } from "../helpers/engines.ts";
import { Client } from "../helpers/http.ts";
import { assertAuditAttributed, type Suite } from "../helpers/identity.ts";

/* Login throttling slows guessing down without locking the owner out. The suite trusts one proxy hop,
 * so X-Forwarded-For says which address each attempt comes from. */

const alertOf = (html: string) => html.match(/role="alert">([^<]*)</)?.[1]?.trim();

let serial = 0;
/** A fresh address in TEST-NET-3, one per call. */
const newAddress = () => `203.0.113.${(++serial % 250) + 1}`;

/** A login from this client (its cookies) at this address. */
const loginAt = (client: Client, ip: string, email: string, password: string) =>
  client.request("POST", "/login", { form: { email, password }, headers: { "x-forwarded-for": ip } });

/** A login from a browser that holds only this device cookie (its session ended), at this address. */
const fromDevice = (t: Suite, device: string, ip: string, email: string, password: string) =>
  new Client(t.get().baseUrl).request("POST", "/login", {
    form: { email, password },
    headers: { "x-forwarded-for": ip, cookie: `clubos_device=${device}` },
  });

/** A login from a browser that never signed in, at a fresh address. */
const stranger = (t: Suite, email: string, password: string, ip = newAddress()) =>
  loginAt(new Client(t.get().baseUrl), ip, email, password);

async function auditOf(t: Suite, action: string, email: string) {
  return t
    .get()
    .runtime.database.db.selectFrom("audit_log")
    .select(["after", "actor_id"])
    .where("action", "=", action)
    .where("subject_id", "=", email.toLowerCase())
    .orderBy("seq")
    .execute();
}

/** Test setup: pretends the last counted failure on an account happened this many seconds ago. */
async function backdate(t: Suite, email: string, seconds: number) {
  await t
    .get()
    .runtime.database.db.updateTable("login_throttles")
    .set({ last_failure_at: sql`now() - make_interval(secs => ${seconds})` })
    .where("key", "=", `account:${email.toLowerCase()}`)
    .execute();
}

const clubos = (t: Suite, ...argv: string[]) => runVerb(t.get().runtime, ...argv);

forEachEngine("login throttle", (engine) => {
  const t = suiteApp(engine, { CLUBOS_TRUST_PROXY: "1" });

  test("[G03] after 5 wrong passwords an account is slowed down, not locked: a wait that grows, then it opens again", async () => {
    const member = await createMember(t.get().runtime);
    for (let i = 0; i < ACCOUNT_RULE.freeFailures; i++)
      assert.equal((await stranger(t, member.email, `wrong ${i}`)).status, 401);
    // The email key is case-insensitive, so changing case does not get around the count.
    const slowed = await stranger(t, member.email.toUpperCase(), member.password);
    assert.equal(slowed.status, 429, "even the right password waits, from a browser never seen");
    const retry = Number(slowed.headers.get("retry-after"));
    assert.ok(retry > 0 && retry <= 30, `first wait is at most 30 s (${retry})`);
    assert.match(alertOf(slowed.text) ?? "", /Wait \d+ seconds and try again/);
    assert.match(alertOf(slowed.text) ?? "", /ask an administrator/);

    await backdate(t, member.email, 31);
    assert.equal(
      (await stranger(t, member.email, "wrong again")).status,
      401,
      "after the wait: one more try",
    );
    const longer = await stranger(t, member.email, member.password);
    assert.equal(longer.status, 429);
    assert.ok(Number(longer.headers.get("retry-after")) > 30, "the next wait is longer (60 s)");

    await backdate(t, member.email, 61);
    assert.equal(
      (await stranger(t, member.email, member.password)).status,
      303,
      "not a lock: it opens again",
    );
    // A right password starts the account's count again.
    for (let i = 0; i < ACCOUNT_RULE.freeFailures; i++)
      assert.equal((await stranger(t, member.email, `typo ${i}`)).status, 401);
  });

  test("[G03] the owner gets through an attack: from a browser or an address they signed in with before", async () => {
    const { baseUrl } = t.get();
    const member = await createMember(t.get().runtime);
    const home = newAddress();
    const laptop = new Client(baseUrl);
    assert.equal((await loginAt(laptop, home, member.email, member.password)).status, 303);
    const device = laptop.cookie("clubos_device");
    assert.ok(device, "a successful login marks the browser");
    // An attacker elsewhere spends the account's free failures and keeps guessing.
    for (let i = 0; i < 8; i++) await stranger(t, member.email, `guess ${i}`);
    assert.equal((await stranger(t, member.email, member.password)).status, 429, "strangers wait");
    // The owner's browser, even from a new address (travelling).
    assert.equal((await fromDevice(t, device, newAddress(), member.email, member.password)).status, 303);
    // A new browser at the owner's usual address.
    assert.equal((await loginAt(new Client(baseUrl), home, member.email, member.password)).status, 303);
    // A stolen-looking cookie for another account does not help: it is bound to the account it signed in.
    const other = await createMember(t.get().runtime);
    for (let i = 0; i < 6; i++) await stranger(t, other.email, `guess ${i}`);
    assert.equal((await fromDevice(t, device, newAddress(), other.email, other.password)).status, 429);
  });

  test("[G03] 60 concurrent wrong guesses: no more passwords are checked than the limit", async () => {
    const member = await createMember(t.get().runtime);
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) => stranger(t, member.email, `concurrent guess ${i}`)),
    );
    const statuses = answers.map((a) => a.status);
    const checked = statuses.filter((s) => s === 401).length;
    assert.equal(checked, ACCOUNT_RULE.freeFailures, `checked ${checked}: ${statuses.join(",")}`);
    assert.equal(statuses.filter((s) => s === 429).length, 60 - ACCOUNT_RULE.freeFailures);
    assert.equal((await auditOf(t, "login.failed", member.email)).length, ACCOUNT_RULE.freeFailures);
    assert.equal((await auditOf(t, "login.throttled", member.email)).length, 60 - ACCOUNT_RULE.freeFailures);
  });

  test("[S-2] failed and throttled logins are audit entries with the address they came from", async () => {
    const member = await createMember(t.get().runtime);
    const from = newAddress();
    for (let i = 0; i < 6; i++) await stranger(t, member.email, `wrong ${i}`, from);
    const failed = await auditOf(t, "login.failed", member.email);
    const throttled = await auditOf(t, "login.throttled", member.email);
    assert.equal(failed.length, 5);
    assert.equal(throttled.length, 1);
    for (const row of [...failed, ...throttled]) {
      assert.equal((row.after as { ip: string }).ip, from);
      assert.equal(row.actor_id, "system:login");
    }
    assert.equal((throttled[0]!.after as { throttle: string }).throttle, "account");
    assert.ok((throttled[0]!.after as { waitSeconds: number }).waitSeconds > 0);
  });

  test("[G03] an administrator lifts the wait at once: `clubos admin unthrottle`, audited; `admin create` too", async () => {
    const member = await createMember(t.get().runtime);
    for (let i = 0; i < 6; i++) await stranger(t, member.email, `wrong ${i}`);
    assert.equal((await stranger(t, member.email, member.password)).status, 429);
    const missing = await clubos(t, "admin", "unthrottle", "--email", member.email);
    assert.notEqual(missing.code, 0, "--actor is required");
    const run = await clubos(t, "admin", "unthrottle", "--email", member.email, "--actor", "Pat");
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /no longer slowed down/);
    const cleared = await auditOf(t, "login.throttle_cleared", member.email);
    assert.equal(cleared.length, 1);
    assert.equal(cleared[0]!.actor_id, "operator:Pat");
    assert.equal((await stranger(t, member.email, member.password)).status, 303, "in again at once");

    // Admin access recovery also clears it.
    for (let i = 0; i < 6; i++) await stranger(t, member.email, `wrong ${i}`);
    assert.equal((await stranger(t, member.email, member.password)).status, 429);
    const created = await clubos(
      t,
      "admin",
      "create",
      "--email",
      member.email,
      "--name",
      "X",
      "--actor",
      "Pat",
    );
    assert.equal(created.code, 0, created.output);
    const password = created.output.match(/One-time password \(shown only now\): (\S+)/)?.[1];
    assert.ok(password);
    assert.equal((await stranger(t, member.email, password)).status, 303, "the recovered admin logs in");
  });

  test("[G03] an admin sees the slow-down on the member's page and lifts it there, audited with the reason", async () => {
    const { baseUrl, runtime } = t.get();
    const member = await createMember(runtime);
    const chair = await createMember(runtime, ["membership_chair"]);
    const admin = new Client(baseUrl);
    assert.equal((await admin.login(chair.email, chair.password)).status, 303);
    const calm = await admin.get(`/admin/members/${member.memberId}`);
    assert.doesNotMatch(calm.text, /slowed down/, "nothing shown while nothing slows the account");
    for (let i = 0; i < 6; i++) await stranger(t, member.email, `wrong ${i}`);
    const page = `/admin/members/${member.memberId}`;
    assert.match(
      (await admin.get(page)).text,
      /Sign-ins to this account are slowed down after 5 wrong passwords/,
    );
    const res = await admin.postForm(`${page}/unthrottle`, { reason: "called the office" }, page);
    assert.equal(res.status, 303);
    assert.equal(res.headers.get("location"), `${page}?done=unthrottled`);
    assert.doesNotMatch((await admin.get(page)).text, /slowed down after/);
    const [entry] = await t
      .get()
      .runtime.database.db.selectFrom("audit_log")
      .select(["actor_id", "reason"])
      .where("action", "=", "login.throttle_cleared")
      .where("subject_id", "=", member.email.toLowerCase())
      .execute();
    assert.deepEqual(entry, { actor_id: `member:${chair.memberId}`, reason: "called the office" });
    assert.equal((await stranger(t, member.email, member.password)).status, 303);
  });

  test("[G03] one address guessing at many accounts is slowed down after 30; other addresses are not", async () => {
    const member = await createMember(t.get().runtime);
    const sprayer = newAddress();
    for (let i = 0; i < 30; i++)
      assert.equal((await stranger(t, `spray${i}-${serial}@example.org`, "x", sprayer)).status, 401);
    const slowed = await stranger(t, member.email, member.password, sprayer);
    assert.equal(slowed.status, 429);
    assert.match(alertOf(slowed.text) ?? "", /from your network/);
    assert.equal((await stranger(t, member.email, member.password)).status, 303, "another address");
  });

  test("[G13] every audit entry written in this suite names its actor", async () => {
    await assertAuditAttributed(t);
  });
});

postgresOnly("login throttle under real concurrency", () => {
  const t = suiteApp("postgres");
  const db = () => t.get().runtime.database.db;
  // As long as a password check takes: the time between deciding and recording, where the race was.
  const checking = () => new Promise((r) => setTimeout(r, 20));

  test("the claim decides and records in one statement: 60 at once, exactly the limit get through", async () => {
    const key = `account:claim-${Date.now()}@example.org`;
    const claims = await Promise.all(
      Array.from({ length: 60 }, () =>
        claimThrottleAttempt(db(), { key, emailKey: null, rule: ACCOUNT_RULE }).then(async (wait) => {
          if (wait === null) await checking();
          return wait;
        }),
      ),
    );
    assert.equal(claims.filter((w) => w === null).length, ACCOUNT_RULE.freeFailures);
  });

  test("without it (count, check the password, then record) the same 60 get far more checks than the limit", async () => {
    const key = `account:naive-${Date.now()}@example.org`;
    await db().insertInto("login_throttles").values({ key, failures: 0 }).execute();
    const naive = async () => {
      const row = await db()
        .selectFrom("login_throttles")
        .select("failures")
        .where("key", "=", key)
        .executeTakeFirstOrThrow();
      if (row.failures >= ACCOUNT_RULE.freeFailures) return false;
      await checking();
      await db()
        .updateTable("login_throttles")
        .set({ failures: sql`failures + 1` })
        .where("key", "=", key)
        .execute();
      return true;
    };
    const passed = (await Promise.all(Array.from({ length: 60 }, naive))).filter(Boolean).length;
    assert.ok(
      passed > ACCOUNT_RULE.freeFailures,
      `${passed} checked against a limit of ${ACCOUNT_RULE.freeFailures}`,
    );
  });
});
