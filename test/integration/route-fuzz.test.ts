import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import fc from "fast-check";
import { runInvariantChecks } from "../../src/app/invariants.ts";
import { type RouteListing, routeTable, schemaTable } from "../../src/http/routes.ts";
import { startTestApp, type TestApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { publishedEvent, tokenMember } from "../helpers/events.ts";

/* Every route of the route table, driven with generated bad input (W-5, "bad input gets a clear error,
 * never a 500"): text PostgreSQL cannot store, parameters given twice, numbers out of range, deep
 * nesting, malformed JSON, oversized values, in the path, the query, the headers and the body. The
 * caller holds every capability, so the input reaches validation and the handlers. No answer may be a
 * 5xx, none may carry a stack trace, a refused request writes nothing, and the invariants hold after. */

const RUNS = Number(process.env.CLUBOS_FUZZ_RUNS ?? 12);

/** Text that must be refused or handled: NUL, lone surrogates, huge, numeric edge cases. */
const nasty = fc.oneof(
  fc.constantFrom(
    "\u0000",
    "a\u0000b",
    "\ud800",
    "x\udfffy",
    "9".repeat(5000),
    "1e309",
    "-1",
    "0",
    "",
    " ",
    "NaN",
    "null",
    "true",
    "../../etc/passwd",
    "%00",
    "<script>alert(1)</script>",
    "x".repeat(70_000),
    "00000000-0000-4000-8000-000000000000",
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 20 }),
);

/** JSON values of every shape, nasty text included. */
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  any: fc.oneof(
    { depthSize: "small" },
    nasty,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("any"), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie("any"), { maxKeys: 3 }),
  ),
})).any;

/** Encodes a path or query value as a client would, lone surrogates as the bytes they would be. */
function encode(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return text.replace(/[\ud800-\udfff]/g, "%ED%A0%80").replace(/[^\w%-]/g, (c) => encodeURIComponent(c));
  }
}

const propertiesOf = (schema: unknown): string[] =>
  Object.keys((schema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {});

interface Probe {
  params: Record<string, string>;
  query: Array<[string, string]>;
  headers: Record<string, string>;
  body?: { type: string; text: string };
}

function probes(route: RouteListing, schema: Record<string, unknown> | undefined): fc.Arbitrary<Probe> {
  const paramNames = [...route.url.matchAll(/:([a-zA-Z]+)/g)].map((m) => m[1]!);
  const queryNames = [...propertiesOf(schema?.querystring), "q", "x"];
  const bodyNames = [...propertiesOf(schema?.body), "_csrf", "_form", "extra"];
  const params = fc.record(
    Object.fromEntries(paramNames.map((n) => [n, fc.oneof(nasty, fc.uuid())])),
  ) as fc.Arbitrary<Record<string, string>>;
  const query = fc.array(fc.tuple(fc.constantFrom(...queryNames), nasty), { maxLength: 4 });
  // Header values a client can send at all (HTTP has no NUL in a header).
  const headerText = nasty.filter(
    (v) => /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(v) && v.length < 8000,
  );
  const headers = fc.record(
    {
      "if-match": fc.oneof(headerText, fc.constant('"v1"'), fc.constant("9".repeat(5000))),
      "idempotency-key": headerText,
    },
    { requiredKeys: [] },
  );
  const jsonBody = fc
    .dictionary(fc.constantFrom(...bodyNames), value, { maxKeys: 5 })
    .map((o) => ({ type: "application/json", text: JSON.stringify(o) }));
  const deepJson = fc.integer({ min: 100, max: 5000 }).map((n) => ({
    type: "application/json",
    text: `${'{"a":'.repeat(n)}1${"}".repeat(n)}`,
  }));
  const rawJson = fc
    .constantFrom('{"title":1e309}', "{", "[]", '"x"', "nul", '{"__proto__":{"x":1}}')
    .map((text) => ({
      type: "application/json",
      text,
    }));
  const formBody = fc
    .array(fc.tuple(fc.constantFrom(...bodyNames), nasty), { maxLength: 5 })
    .map((pairs) => ({
      type: "application/x-www-form-urlencoded",
      text: pairs.map(([k, v]) => `${k}=${encode(v)}`).join("&"),
    }));
  const body = route.writes
    ? fc.option(fc.oneof(jsonBody, deepJson, rawJson, formBody), { nil: undefined })
    : fc.constant(undefined);
  return fc.record({ params, query, headers, body }) as fc.Arbitrary<Probe>;
}

function urlOf(route: RouteListing, probe: Probe): string {
  const path = route.url.replace(/:([a-zA-Z]+)/g, (_, name: string) => encode(probe.params[name] ?? "x"));
  const query = probe.query.map(([k, v]) => `${encode(k)}=${encode(v)}`).join("&");
  return query ? `${path}?${query}` : path;
}

const STACK = /\n\s+at\s.+:\d+:\d+|\b(TypeError|ReferenceError|SyntaxError|RangeError):|node_modules\//;

forEachEngine("every route against generated bad input", (engine) => {
  let app: TestApp;
  let token: string;
  before(async () => {
    app = await startTestApp(engine);
    token = (await tokenMember(app.runtime, ["member", "full_admin", "operator"])).token;
    await publishedEvent(app.runtime, { audience: "public" });
  });
  after(() => app.close());

  // Entries that record a refusal itself (S-2: a failed or slowed-down login is audited with its
  // address); a refused request writes nothing else.
  const REFUSAL_RECORDS = ["login.failed", "login.throttled"];
  const auditCount = async () =>
    Number(
      (
        await app.runtime.database.db
          .selectFrom("audit_log")
          .select((eb) => eb.fn.countAll().as("n"))
          .where("action", "not in", REFUSAL_RECORDS)
          .executeTakeFirstOrThrow()
      ).n,
    );

  // About a thousand requests: a minute on a quiet machine, several on a loaded one; the suite's
  // five-minute limit is for hung tests, and this one is only slow.
  test("[G02][G16] no route answers a 5xx or a stack trace, and a refused request writes nothing", {
    timeout: 15 * 60_000,
  }, async () => {
    const schemas = schemaTable(app.app);
    const routes = routeTable(app.app);
    assert.ok(routes.length > 50);
    for (const route of routes) {
      const schema = schemas.get(`${route.method} ${route.url}`) as Record<string, unknown> | undefined;
      await fc.assert(
        fc.asyncProperty(probes(route, schema), async (probe) => {
          const before = await auditCount();
          const res = await fetch(app.baseUrl + urlOf(route, probe), {
            method: route.method,
            redirect: "manual",
            headers: {
              authorization: `Bearer ${token}`,
              ...probe.headers,
              ...(probe.body ? { "content-type": probe.body.type } : {}),
            },
            body: probe.body?.text,
          });
          const text = await res.text();
          const label = `${route.method} ${route.url} -> ${res.status}`;
          assert.ok(res.status < 500, `${label}: ${text.slice(0, 300)}`);
          assert.doesNotMatch(text, STACK, `${label} shows a stack trace`);
          if (res.status >= 400) assert.equal(await auditCount(), before, `${label} wrote an audit entry`);
        }),
        { numRuns: RUNS, seed: Number(process.env.CLUBOS_FUZZ_SEED ?? 20261201) },
      );
    }
    const report = await runInvariantChecks(app.runtime.database, "system:fuzz");
    assert.deepEqual(
      report.checks.filter((c) => c.violations > 0 || c.error).map((c) => c.id),
      [],
      "the invariants hold after the fuzz",
    );
  });
});
