import assert from "node:assert/strict";
import { test } from "node:test";
import { createMember, suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { Client } from "../helpers/http.ts";

forEachEngine("member import progress", (engine) => {
  const t = suiteApp(engine);

  test("a large import answers the confirm at once and shows its progress until it is applied", async () => {
    const { runtime, baseUrl } = t.get();
    const chair = await createMember(runtime, ["member", "membership_chair"]);
    const browser = new Client(baseUrl);
    await browser.login(chair.email, chair.password);
    const stamp = Date.now();
    const rows = Array.from({ length: 250 }, (_, i) => `Bulk Person ${i},bulk${i}-${stamp}@example.org`);
    const posted = await browser.postForm(
      "/admin/members/import",
      { csv: `name,email\n${rows.join("\n")}\n` },
      "/admin/members/import",
    );
    const page = posted.headers.get("location")!;
    const plan = await browser.get(page);
    const fileHash = plan.text.match(/name="file_hash" value="([0-9a-f]{64})"/)?.[1];
    assert.ok(fileHash);
    const confirmed = await browser.postForm(`${page}/confirm`, { file_hash: fileHash }, page);
    assert.equal(confirmed.status, 303);
    const count = async () =>
      (
        await runtime.database.db
          .selectFrom("members")
          .select("id")
          .where("email", "like", `bulk%-${stamp}@example.org`)
          .execute()
      ).length;
    const early = await count();
    assert.ok(early < 250, `the confirm answered before every row was applied (${early} already)`);
    const during = await browser.get(page);
    assert.match(during.text, /Applying the import|Import applied/);
    if (/Applying the import/.test(during.text)) {
      assert.match(during.text, /<meta http-equiv="refresh" content="2"/, "the page refreshes itself");
      assert.match(during.text, /of 250 rows applied/);
    }
    let finished = "";
    for (let i = 0; i < 600 && !/Import applied/.test(finished); i++) {
      await new Promise((r) => setTimeout(r, 200));
      finished = (await browser.get(page)).text;
    }
    assert.match(finished, /Done: 250 created/);
    assert.doesNotMatch(finished, /http-equiv="refresh"/);
    assert.equal(await count(), 250);
  });
});
