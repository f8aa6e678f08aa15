import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import {
  CAPABILITIES,
  type CapabilityClass,
  capabilitiesOf,
  capabilitiesOutsideClass,
  ROLES,
  type RoleKey,
} from "../../src/core/capabilities.ts";

const roleKeys = Object.keys(ROLES) as RoleKey[];
// Written out here rather than imported, so a change to the ranking in the catalogue shows up.
const RANK: Record<CapabilityClass, number> = { member: 0, admin: 1, operator: 2 };

test("[G04] every built-in role holds only capabilities of its class or below (INV-3)", () => {
  for (const key of roleKeys) {
    assert.deepEqual(capabilitiesOutsideClass(key), [], key);
    const role = ROLES[key];
    for (const cap of role.capabilities) {
      const capClass: CapabilityClass = CAPABILITIES[cap].class;
      assert.ok(RANK[capClass] <= RANK[role.class], `${key} (${role.class}) carries ${cap} (${capClass})`);
    }
  }
});

test("[G04] only the operator role carries an operator capability", () => {
  const withOperatorCaps = roleKeys.filter((k) =>
    ROLES[k].capabilities.some((c) => CAPABILITIES[c].class === "operator"),
  );
  assert.deepEqual(withOperatorCaps, ["operator"]);
});

test("every role key in ROLES is seeded in the roles table by 0001_core.sql", () => {
  const file = path.resolve(import.meta.dirname, "../../src/core/db/migrations/0001_core.sql");
  const seed = fs.readFileSync(file, "utf8").match(/INSERT INTO roles \(key, name\) VALUES([^;]*);/);
  assert.ok(seed, "the migration seeds the roles table");
  const seeded = new Set([...seed[1]!.matchAll(/\('([a-z_]+)',/g)].map((m) => m[1]));
  for (const key of roleKeys) assert.ok(seeded.has(key), `role ${key} is not in the roles seed`);
});

test("capability evaluation is deterministic: the same roles in any order give the same sorted list", () => {
  const roles: RoleKey[] = ["web_editor", "member", "events_chair", "operator"];
  const expected = capabilitiesOf(roles);
  assert.deepEqual(expected, [...new Set(roles.flatMap((r) => ROLES[r].capabilities))].sort());
  for (let i = 0; i < 20; i++) {
    const shuffled = [...roles, ...roles].sort(() => Math.random() - 0.5);
    assert.deepEqual(capabilitiesOf(shuffled), expected);
  }
});

test("[G03] an unknown role grants nothing (fail closed)", () => {
  assert.deepEqual(capabilitiesOf(["superuser", "root"]), []);
  assert.deepEqual(capabilitiesOf(["member", "superuser"]), capabilitiesOf(["member"]));
});
