import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ANONYMOUS,
  audienceAllows,
  blockAllows,
  isPublicRule,
  type Viewer,
} from "../../src/domains/pages/audience.ts";

const member: Viewer = {
  kind: "member",
  memberId: "m1",
  status: "active",
  memberRights: true,
  tier: "family",
  committees: new Set(["c1"]),
  roles: new Set(["member", "web_editor"]),
};
const unknown: Viewer = { kind: "unknown" };

test("a viewer whose facts could not be read sees public content only (R-1)", () => {
  assert.equal(audienceAllows({ type: "public" }, unknown), true);
  for (const rule of [
    { type: "members" },
    { type: "statuses", statuses: ["active"] },
    { type: "tiers", tiers: ["family"] },
    { type: "committees", committees: ["c1"] },
    { type: "roles", roles: ["web_editor"] },
  ])
    assert.equal(audienceAllows(rule, unknown), false, JSON.stringify(rule));
});

test("anything the schema does not accept denies, whoever asks", () => {
  const unreadable = [
    null,
    undefined,
    "public",
    { type: "everyone" },
    { type: "public", extra: true },
    { type: "tiers", tiers: [] },
    { type: "roles", roles: ["no_such_role"] },
    { type: "committees", committees: ["not-a-uuid"] },
    { type: "any_of", rules: [] },
    { type: "any_of", rules: [{ type: "any_of", rules: [{ type: "public" }] }] },
  ];
  for (const rule of unreadable) {
    assert.equal(audienceAllows(rule, member), false, JSON.stringify(rule));
    assert.equal(isPublicRule(rule), false);
  }
});

test("each rule admits what it names, and any-of admits when one part does", () => {
  assert.equal(audienceAllows({ type: "members" }, member), true);
  assert.equal(audienceAllows({ type: "members" }, ANONYMOUS), false);
  assert.equal(audienceAllows({ type: "statuses", statuses: ["lapsed"] }, member), false);
  assert.equal(audienceAllows({ type: "tiers", tiers: ["family"] }, member), true);
  assert.equal(audienceAllows({ type: "roles", roles: ["full_admin"] }, member), false);
  const anyOf = {
    type: "any_of",
    rules: [
      { type: "roles", roles: ["full_admin"] },
      { type: "tiers", tiers: ["family"] },
    ],
  };
  assert.equal(audienceAllows(anyOf, member), true);
  assert.equal(audienceAllows(anyOf, ANONYMOUS), false);
});

test("the signed-in members rule and a members' note admit only members who hold the member rights", () => {
  const suspended: Viewer = {
    ...(member as Extract<Viewer, { kind: "member" }>),
    status: "suspended",
    memberRights: false,
  };
  assert.equal(audienceAllows({ type: "members" }, suspended), false);
  assert.equal(blockAllows({ type: "members_note", audience: null }, suspended), false);
  assert.equal(
    audienceAllows({ type: "statuses", statuses: ["suspended"] }, suspended),
    true,
    "a rule naming the status still admits",
  );
  assert.equal(audienceAllows({ type: "members" }, member), true);
});

test("a members' note is for signed-in members whatever its own rule; a block without a rule follows its page", () => {
  assert.equal(blockAllows({ type: "members_note", audience: { type: "public" } }, ANONYMOUS), false);
  assert.equal(blockAllows({ type: "members_note", audience: null }, member), true);
  assert.equal(blockAllows({ type: "text", audience: null }, ANONYMOUS), true);
  assert.equal(blockAllows({ type: "text", audience: { type: "alien" } }, member), false);
});
