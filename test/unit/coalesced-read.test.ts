import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { CoalescedRead } from "../../src/core/coalesced-read.ts";

/** A read whose calls are numbered and answered by hand: each call returns its own number. */
function manualRead() {
  const calls: Array<{ n: number; answer(): void; fail(): void }> = [];
  const read = () =>
    new Promise<number>((resolve, reject) => {
      const n = calls.length + 1;
      calls.push({ n, answer: () => resolve(n), fail: () => reject(new Error(`read ${n} failed`)) });
    });
  return { calls, read };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test("callers during a read in flight share the next read, sent when that one returns", async () => {
  const { calls, read } = manualRead();
  const shared = new CoalescedRead(read);
  const first = shared.get();
  const second = shared.get();
  const third = shared.get();
  assert.equal(calls.length, 1, "only one read in flight");
  calls[0]!.answer();
  assert.equal(await first, 1);
  await tick();
  assert.equal(calls.length, 2, "the waiting callers' read is sent when the first returns");
  calls[1]!.answer();
  assert.equal(await second, 2);
  assert.equal(await third, 2, "the second and third callers shared one read");
});

test("no caller is given a read that was sent before it called", async () => {
  const { calls, read } = manualRead();
  const shared = new CoalescedRead(read);
  const first = shared.get();
  calls[0]!.answer();
  await first;
  const second = shared.get(); // sent at once: nothing is in flight
  const late = shared.get(); // arrives after read 2 was sent: must not join it
  assert.equal(calls.length, 2);
  calls[1]!.answer();
  assert.equal(await second, 2);
  await tick();
  assert.equal(calls.length, 3, "the late caller gets a read of its own");
  calls[2]!.answer();
  assert.equal(await late, 3);
});

test("a failed read fails only its own callers; the waiting ones are still sent theirs", async () => {
  const { calls, read } = manualRead();
  const shared = new CoalescedRead(read);
  const first = shared.get();
  const second = shared.get();
  calls[0]!.fail();
  await assert.rejects(first, /read 1 failed/);
  await tick();
  calls[1]!.answer();
  assert.equal(await second, 2);
});

test("under any interleaving, every caller's read started after its call (property)", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.boolean(), { minLength: 1, maxLength: 60 }), async (steps) => {
      // true: a caller arrives; false: the oldest read in flight returns.
      let clock = 0;
      const started: Array<{ at: number; finish(): void }> = [];
      const shared = new CoalescedRead(
        () =>
          new Promise<number>((resolve) => {
            const at = ++clock;
            started.push({ at, finish: () => resolve(at) });
          }),
      );
      const pending: Array<{ calledAt: number; result: Promise<number> }> = [];
      for (const arrives of steps) {
        if (arrives) pending.push({ calledAt: ++clock, result: shared.get() });
        else started.shift()?.finish();
        await tick();
      }
      while (started.length) {
        started.shift()!.finish();
        await tick();
      }
      for (const { calledAt, result } of pending)
        assert.ok((await result) > calledAt, "the read began after the caller arrived");
      assert.ok(started.length <= pending.length);
    }),
  );
});
