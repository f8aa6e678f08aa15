import assert from "node:assert/strict";
import { test } from "node:test";
import { ForegroundLoad } from "../../src/core/foreground-load.ts";

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("[G11] foreground load: busy while work runs and for the settle time after; each end counts once", async () => {
  const load = new ForegroundLoad(30);
  assert.equal(load.busy(), false);
  const end = load.begin();
  const other = load.begin();
  assert.equal(load.active(), 2);
  end();
  end(); // a second call (a response closing twice) does not count again
  assert.equal(load.active(), 1);
  other();
  assert.equal(load.active(), 0);
  assert.equal(load.busy(), true, "just ended: the next request of a busy client follows at once");
  await wait(45);
  assert.equal(load.busy(), false);
});

test("[G11] foreground load: whenIdle wakes once the work ends and settles, or at its timeout", async () => {
  const load = new ForegroundLoad(10);
  const end = load.begin();
  let started = performance.now();
  await load.whenIdle(40);
  assert.ok(performance.now() - started >= 35, "still busy: it waited for its timeout");
  started = performance.now();
  setTimeout(end, 20);
  await load.whenIdle(5_000);
  const waited = performance.now() - started;
  assert.ok(waited >= 25 && waited < 2_000, `woke ${waited.toFixed(0)} ms after, once the work ended`);
  assert.equal(load.busy(), false);
});
