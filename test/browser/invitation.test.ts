import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createMember, startTestApp, type TestApp } from "../helpers/app.ts";
import { browserSuiteOptions, logInThroughForm, suiteBrowser } from "../helpers/browser.ts";
import { publishedEvent } from "../helpers/events.ts";
import { memberWithoutLogin } from "../helpers/links.ts";
import { startTestSmtp, type TestSmtp } from "../helpers/smtp.ts";

// An invitation end to end in a real browser, with no mail server: the admin invites a member and is
// shown the link once; the member opens it, chooses a password and signs in with it.
describe("browser: an invited member sets a password and signs in (pglite)", browserSuiteOptions(), () => {
  let app: TestApp;
  const browser = suiteBrowser();

  before(async () => {
    app = await startTestApp("pglite", { CLUBOS_PUBLIC_URL: "http://club.test" });
  });
  after(async () => {
    await app?.close();
  });

  test("the admin invites, the member follows the link, sets a password and is signed in", async () => {
    const admin = await createMember(app.runtime, ["member", "membership_chair"], "Invite Admin");
    const invitee = await memberWithoutLogin(app, "Browser Invitee");
    const adminPage = await browser.get().context.newPage();
    await logInThroughForm(adminPage, app.baseUrl, admin.email, admin.password);
    await adminPage.goto(`${app.baseUrl}/admin/members/${invitee.memberId}`);
    await adminPage.getByRole("button", { name: "Invite to sign in" }).click();
    await adminPage.getByText("Not sent: no mail server is configured.").waitFor();
    const link = (await adminPage.locator("code.secret-link").textContent()) ?? "";
    assert.match(link, /^http:\/\/club\.test\/invitation\//);
    await adminPage.close();

    // The member is someone else on another device: nothing of the admin's session comes along.
    const { context } = browser.get();
    await context.clearCookies();
    const page = await context.newPage();
    await page.goto(app.baseUrl + link.replace("http://club.test", ""));
    await page.getByRole("heading", { name: "Choose your password" }).waitFor();
    await page.getByLabel(/^New password \(/).fill("a sentence I will remember");
    await page.getByLabel("New password again").fill("a sentence I will remember");
    await page.getByRole("button", { name: "Set password" }).click();
    await page.getByText("Your password is set.").waitFor();
    await page.getByLabel("Email").fill(invitee.email);
    await page.getByLabel("Password", { exact: true }).fill("a sentence I will remember");
    await Promise.all([
      page.waitForURL((url) => url.pathname !== "/login"),
      page.getByRole("button", { name: "Log in" }).click(),
    ]);
    const me = await page.request.get(`${app.baseUrl}/api/v1/me`);
    assert.equal(me.status(), 200, "signed in");
    assert.equal(((await me.json()) as { memberId: string }).memberId, invitee.memberId);
    await page.close();
  });
});

// The whole way in with a real mail server: the invitation arrives by mail, the member follows it,
// signs in and registers for an event (membership alone gives the right), and the confirmation
// arrives at the mail server too.
describe("browser: invited by mail, a member signs in and registers (pglite)", browserSuiteOptions(), () => {
  let app: TestApp;
  let smtp: TestSmtp;
  const browser = suiteBrowser();

  before(async () => {
    smtp = await startTestSmtp("accept");
    app = await startTestApp("pglite", {
      CLUBOS_PUBLIC_URL: "http://club.test",
      SMTP_URL: smtp.url,
      MAIL_FROM: "club@club.test",
      CLUBOS_MAIL_WORKER: "0",
    });
  });
  after(async () => {
    await app?.close();
    await smtp?.close();
  });

  const deliver = () => app.runtime.mail.makeWorker(app.runtime.database.db).drain();
  test("the member opens the link from the received mail, signs in, registers, and gets the confirmation", async () => {
    const admin = await createMember(app.runtime, ["member", "membership_chair"], "Mail Admin");
    const invitee = await memberWithoutLogin(app, "Mailed Invitee");
    await publishedEvent(app.runtime, { title: "Harbour walk", capacity: 10 });
    const adminPage = await browser.get().context.newPage();
    await logInThroughForm(adminPage, app.baseUrl, admin.email, admin.password);
    await adminPage.goto(`${app.baseUrl}/admin/members/${invitee.memberId}`);
    await adminPage.getByRole("button", { name: "Invite to sign in" }).click();
    await adminPage.getByText(/Sent by mail/).waitFor();
    await adminPage.close();
    await deliver();

    const invitation = smtp.received.find((r) => r.to.includes(invitee.email));
    assert.ok(invitation, "the invitation reached the mail server");
    const text = invitation.raw.replace(/=\r?\n/g, "").replace(/=3D/g, "=");
    const path = text.match(/http:\/\/club\.test(\/invitation\/[A-Za-z0-9_-]+)/)?.[1];
    assert.ok(path, "the mail carries the link");

    const { context } = browser.get();
    await context.clearCookies();
    const page = await context.newPage();
    await page.goto(app.baseUrl + path);
    await page.getByLabel(/^New password \(/).fill("harbour lights at dusk");
    await page.getByLabel("New password again").fill("harbour lights at dusk");
    await page.getByRole("button", { name: "Set password" }).click();
    await page.getByText("Your password is set.").waitFor();
    await logInThroughForm(page, app.baseUrl, invitee.email, "harbour lights at dusk");
    await page.goto(`${app.baseUrl}/events`);
    await page.getByRole("link", { name: "Harbour walk" }).click();
    await page.getByRole("button", { name: "Register" }).click();
    await page.getByText("You have a confirmed place.").waitFor();
    await page.close();

    await deliver();
    const confirmation = smtp.received.find((r) => r.to.includes(invitee.email) && r !== invitation);
    assert.ok(confirmation, "the registration confirmation reached the mail server");
    assert.match(confirmation.raw, /Harbour walk/);
  });
});
