import assert from "node:assert/strict";
import { test } from "node:test";
import { loadConfig } from "../../src/app/config.ts";

const trustProxy = (value?: string) =>
  loadConfig(value === undefined ? {} : { CLUBOS_TRUST_PROXY: value }).trustProxy;

test("CLUBOS_TRUST_PROXY: unset or 0 trusts no proxy", () => {
  assert.equal(trustProxy(), false);
  assert.equal(trustProxy(""), false);
  assert.equal(trustProxy("0"), false);
});

test("CLUBOS_TRUST_PROXY: a whole number is how many proxies stand in front", () => {
  assert.equal(trustProxy("1"), 1);
  assert.equal(trustProxy("2"), 2);
});

test("CLUBOS_TRUST_PROXY: otherwise a list of proxy addresses, ranges or named ranges", () => {
  assert.deepEqual(trustProxy("127.0.0.1"), ["127.0.0.1"]);
  assert.deepEqual(trustProxy("10.0.0.0/8, ::1,loopback"), ["10.0.0.0/8", "::1", "loopback"]);
});

test("CLUBOS_TRUST_PROXY: anything else stops the start with what to write instead", () => {
  // "true" trusted every hop before; now it must be said which proxies are meant.
  for (const value of ["true", "yes", "-1", "1.5", "10.0.0.0/33", "1.2.3", "10.0.0.1,", "evil.example"]) {
    assert.throws(
      () => trustProxy(value),
      (error: Error) =>
        error.message.startsWith("CLUBOS_TRUST_PROXY must be 0 (no proxy), the number of reverse proxies") &&
        error.message.includes(`got "${value}"`),
      value,
    );
  }
});
