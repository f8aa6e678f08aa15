import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { BoundedMap } from "../../src/core/bounded-map.ts";

test("no number of keys makes it hold more than its bound", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.string({ maxLength: 3 })), (max, keys) => {
      const map = new BoundedMap<number>(max);
      for (const [i, key] of keys.entries()) {
        map.set(key, i);
        if (i % 3 === 0) map.get(keys[Math.floor(i / 2)]!);
      }
      assert.ok(map.size <= max);
      if (keys.length) assert.equal(map.get(keys.at(-1)!), keys.length - 1, "the newest entry is kept");
    }),
  );
});

test("once over half full, an entry used is kept over older ones not used", () => {
  const map = new BoundedMap<string>(4);
  for (const key of ["a", "b", "c"]) map.set(key, key);
  assert.equal(map.get("a"), "a");
  map.set("d", "d");
  map.set("e", "e");
  assert.equal(map.get("a"), "a", "a was used after b and c");
  assert.equal(map.get("b"), undefined, "b, the least recently used, was forgotten");
});
