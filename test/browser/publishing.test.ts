import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { Page } from "playwright-core";
import { createMember, startTestApp, type TestApp } from "../helpers/app.ts";
import {
  browserSuiteOptions,
  launchBrowser,
  logInThroughForm,
  seriousViolations,
  suiteBrowser,
  type TestBrowser,
} from "../helpers/browser.ts";

/** A real 1x1 PNG (what the upload's content check and the browser both read as an image). */
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
  "base64",
);
const PNG_SHA = createHash("sha256").update(PNG).digest("hex");
const TEXT = "Regatta briefing: boats launch at nine from the north slip.";
const ALT = "The club's boat shed at dawn";

/** Clicks the button of a form and waits for the page its POST leads to. */
async function submit(page: Page, button: string, status = 303): Promise<void> {
  const posted = page.waitForResponse((r) => r.request().method() === "POST");
  await page.getByRole("button", { name: button }).click();
  const response = await posted;
  assert.equal(response.status(), status, `the "${button}" form was accepted (${response.url()})`);
  await page.waitForLoadState();
}

/** True once the image has really loaded and decoded in the page (not a broken image). */
async function imageShown(page: Page, alt: string): Promise<boolean> {
  const image = page.getByRole("img", { name: alt });
  await image.waitFor();
  return image.evaluate(async (img: HTMLImageElement) => {
    await img.decode().catch(() => {});
    return img.complete && img.naturalWidth > 0;
  });
}

// The publishing path of issue 10 in a real browser: a web editor writes a page with an image and shares a
// preview with a reviewer who has no account, a publisher publishes it to signed-in members, and the
// page and its image by their direct address are 404 to an anonymous visitor and shown to a member.
describe("browser: write, preview, share, publish to members (pglite)", browserSuiteOptions(), () => {
  let app: TestApp;
  // axe is injected as an inline script, which the app's CSP (script-src 'self') rightly forbids.
  const browser = suiteBrowser({ bypassCSP: true });
  const others: TestBrowser[] = [];
  const fresh = async () => {
    const b = await launchBrowser();
    others.push(b);
    return b.context.newPage();
  };
  let editor: { email: string; password: string };
  let publisher: { email: string; password: string };
  let member: { email: string; password: string };
  const slug = "regatta-briefing";

  before(async () => {
    app = await startTestApp("pglite");
    editor = await createMember(app.runtime, ["member", "web_editor"], "Wendy Webeditor");
    publisher = await createMember(app.runtime, ["member", "full_admin"], "Pat Publisher");
    member = await createMember(app.runtime, ["member"], "Mo Member");
  });
  after(async () => {
    for (const b of others) await b.close();
    await app?.close();
  });

  test("[G08][G09] an editor's page with an image is previewed, shared, published to members: 404 to anonymous, shown to a member", async () => {
    const page = await browser.get().context.newPage();
    await logInThroughForm(page, app.baseUrl, editor.email, editor.password);

    // Create the page, a text block and an image block, all through the editor's forms.
    await page.goto(`${app.baseUrl}/admin/pages`);
    await page.getByLabel("Title").fill("Regatta briefing");
    await page.getByLabel("Address (lower-case letters, digits and hyphens)").fill(slug);
    await submit(page, "Create the draft");
    assert.match(page.url(), /\/admin\/pages\/[0-9a-f-]{36}\?done=created$/);
    const editorUrl = page.url().replace(/\?.*$/, "");
    const pageId = editorUrl.split("/").at(-1)!;
    await page.getByLabel("Kind of block").selectOption({ label: "Text" });
    await submit(page, "Add the block at the end");
    await page.getByLabel("Text (Markdown: *emphasis*, lists, links; no HTML)").fill(TEXT);
    await submit(page, "Save block 1");
    await page.getByLabel("An image shown in the page").check();
    await page
      .getByLabel(/^File \(at most/)
      .setInputFiles({ name: "shed.png", mimeType: "image/png", buffer: PNG });
    await page.getByLabel("For an image: a description for people who cannot see it (alt text)").fill(ALT);
    await submit(page, "Upload, as a new block at the end");
    assert.match(page.url(), /\?done=uploaded$/);
    assert.ok(await imageShown(page, ALT), "the editor shows the uploaded image");
    assert.deepEqual(await seriousViolations(page), [], "axe violations on the editor page");

    // The editor's own preview: the banner, the text and the image, served under /preview/.
    await page.getByRole("link", { name: "Preview revision 1" }).click();
    await page.waitForURL(`${app.baseUrl}/preview/pages/${pageId}`);
    await page.getByText("Preview", { exact: true }).first().waitFor();
    await page.getByText(TEXT).waitFor();
    assert.ok(await imageShown(page, ALT), "the preview shows the image");
    assert.equal(
      await page.getByRole("img", { name: ALT }).getAttribute("src"),
      `/preview/pages/${pageId}/revisions/1/files/${PNG_SHA}`,
    );

    // A share link, opened by a reviewer without an account in a browser of their own.
    await page.goto(editorUrl);
    await page.getByText("Share a preview with someone without an account").click();
    await submit(page, "Make a preview link", 200);
    const shareUrl = await page.getByLabel("Preview link").inputValue();
    assert.match(shareUrl, /\/preview\/link\/pv_[A-Za-z0-9_-]{43}$/);
    const reviewer = await fresh();
    const shared = await reviewer.goto(shareUrl);
    assert.equal(shared?.status(), 200);
    assert.equal(shared?.headers()["x-robots-tag"], "noindex, nofollow");
    await reviewer.getByText("Preview", { exact: true }).first().waitFor();
    await reviewer.getByText(TEXT).waitFor();
    assert.ok(await imageShown(reviewer, ALT), "the reviewer sees the image through the link");
    assert.match(
      (await reviewer.getByRole("img", { name: ALT }).getAttribute("src")) ?? "",
      /^\/preview\/link\//,
    );
    await reviewer.close();

    // A form on a preview page posts with Origin: null (no-referrer); the browser's Sec-Fetch-Site lets it in.
    await page.goto(`${app.baseUrl}/preview/pages/${pageId}`);
    await submit(page, "Log out");
    await page.waitForURL(`${app.baseUrl}/`);

    // A publisher sets the audience to signed-in members and publishes.
    await logInThroughForm(page, app.baseUrl, publisher.email, publisher.password);
    await page.goto(editorUrl);
    await page.getByText("Who may see this page").click();
    await page.locator("#page-audience-who").selectOption({ label: "Signed-in members in good standing" });
    await submit(page, "Set who sees the page");
    await page.getByText("Shown to: signed-in members").first().waitFor();
    await submit(page, "Publish draft 1");
    await page.close();

    // An anonymous visitor: the page and the image by its direct address are both "not found".
    const imageUrl = `${app.baseUrl}/p/${slug}/files/${PNG_SHA}`;
    const anonymous = await fresh();
    assert.equal((await anonymous.goto(`${app.baseUrl}/p/${slug}`))?.status(), 404);
    assert.doesNotMatch(await anonymous.content(), /Regatta briefing: boats/);
    const hiddenImage = await anonymous.goto(imageUrl);
    assert.equal(hiddenImage?.status(), 404);
    assert.ok(!(await hiddenImage!.body()).includes(PNG), "no image bytes");
    await anonymous.close();

    // A signed-in member sees both.
    const memberPage = await fresh();
    await logInThroughForm(memberPage, app.baseUrl, member.email, member.password);
    assert.equal((await memberPage.goto(`${app.baseUrl}/p/${slug}`))?.status(), 200);
    await memberPage.getByText(TEXT).waitFor();
    assert.ok(await imageShown(memberPage, ALT), "the member sees the image on the page");
    const image = await memberPage.goto(imageUrl);
    assert.equal(image?.status(), 200);
    assert.equal(image?.headers()["content-type"], "image/png");
    assert.ok((await image!.body()).equals(PNG), "the image's own bytes");
    await memberPage.close();
  });
});
