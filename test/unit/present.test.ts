import assert from "node:assert/strict";
import { test } from "node:test";
import { dateOnly } from "../../src/http/present.ts";

test("a date column reads as its calendar day in every zone, whether it arrived as local (pg) or UTC (PGlite) midnight", () => {
  const zone = process.env.TZ;
  try {
    for (const tz of ["UTC", "America/New_York", "Asia/Tokyo", "Asia/Kolkata"]) {
      process.env.TZ = tz;
      assert.equal(dateOnly(new Date(2090, 0, 1)), "2090-01-01", `local midnight in ${tz}`);
      assert.equal(dateOnly(new Date(Date.UTC(2090, 0, 1))), "2090-01-01", `UTC midnight in ${tz}`);
    }
    assert.equal(dateOnly("2090-01-01"), "2090-01-01");
    assert.equal(dateOnly(null), null);
  } finally {
    if (zone === undefined) delete process.env.TZ;
    else process.env.TZ = zone;
  }
});
