import assert from "node:assert/strict";
import { test } from "node:test";
import { createMember, suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { apiPost, publishedEvent, tokenMember } from "../helpers/events.ts";
import { Client } from "../helpers/http.ts";

let serial = 0;

/** The one-time token of the form posting to `action` on a rendered page. */
const formToken = (html: string, action: string) =>
  html.match(new RegExp(`action="${action}">[\\s\\S]*?name="_form" value="([^"]+)"`))?.[1] ?? "";

/* The round trip declareFormRoute (src/http/form-route.ts) gives every HTML form route, through real
 * routes that use it: once per rendered form by default, a refusal as the HTML error page that keeps
 * nothing (so the same form, corrected, still goes through), and "each-post" for an action that is
 * idempotent by itself. */
forEachEngine("HTML form routes (declareFormRoute)", (engine) => {
  const t = suiteApp(engine);

  test("a form runs once per token: a refusal keeps nothing, the corrected form goes through once", async () => {
    const { runtime, baseUrl } = t.get();
    const admin = await createMember(runtime, ["member", "full_admin"], "Form Admin");
    const browser = new Client(baseUrl);
    await browser.login(admin.email, admin.password);
    const token = formToken((await browser.get("/admin/committees")).text, "/admin/committees");
    assert.ok(token, "the create form carries a one-time token");

    const refused = await browser.postForm(
      "/admin/committees",
      { name: "", _form: token },
      "/admin/committees",
    );
    assert.ok(refused.status >= 400 && refused.status < 500, `refused with ${refused.status}`);
    assert.match(refused.headers.get("content-type") ?? "", /^text\/html/);
    assert.match(refused.text, /role="alert"/, "the refusal is the HTML error page with its message");

    const name = `Form committee ${++serial}-${engine}`;
    const created = await browser.postForm("/admin/committees", { name, _form: token }, "/admin/committees");
    assert.equal(created.status, 303, "the same token, corrected, is not taken by the refusal");
    const location = created.headers.get("location") ?? "";
    assert.match(location, /^\/admin\/committees\/[0-9a-f-]{36}\?done=created$/);

    const again = await browser.postForm("/admin/committees", { name, _form: token }, "/admin/committees");
    assert.equal(again.status, 303);
    assert.equal(again.headers.get("location"), location, "a double click replays the first redirect");
    const rows = await runtime.database.db
      .selectFrom("committees")
      .select("id")
      .where("name", "=", name)
      .execute();
    assert.equal(rows.length, 1, "one committee for one rendered form");
  });

  test('"each-post": an attendance button runs its action on every post, a form token replays nothing', async () => {
    const { runtime, baseUrl } = t.get();
    const chair = await createMember(runtime, ["member", "events_chair"], "Form Chair");
    const event = await publishedEvent(runtime);
    const member = await tokenMember(runtime);
    const registered = await apiPost(baseUrl, member.token, `/api/v1/events/${event.id}/registrations`, {});
    assert.equal(registered.status, 201, JSON.stringify(registered.body));
    const id = registered.body.id as string;
    const browser = new Client(baseUrl);
    await browser.login(chair.email, chair.password);
    const page = `/admin/events/${event.id}`;
    const post = (verb: string, form: Record<string, string>) =>
      browser.postForm(`/admin/registrations/${id}/${verb}`, form, page);

    const noShow = await post("no-show", { _form: "attendance-1" });
    assert.equal(noShow.status, 303);
    assert.equal(noShow.headers.get("location"), `${page}?done=attendance`);
    assert.equal((await post("check-in", {})).status, 303, "a late arrival clears the no-show");
    // Once per form would replay the first 303 here; the no-show runs again and meets the arrival.
    const again = await post("no-show", { _form: "attendance-1" });
    assert.equal(again.status, 409, "an arrival on record is not overwritten by a no-show");
    assert.match(again.headers.get("content-type") ?? "", /^text\/html/);
    const twice = await post("check-in", {});
    assert.equal(twice.status, 303);
    const audits = await runtime.database.db
      .selectFrom("audit_log")
      .select("id")
      .where("subject_id", "=", id)
      .where("action", "=", "registration.checked_in")
      .execute();
    assert.equal(audits.length, 1, "the second check-in found it recorded and wrote nothing");
  });
});
