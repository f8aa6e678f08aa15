import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { runAction } from "../../src/core/action.ts";
import { operatorActor } from "../../src/core/actor.ts";
import { bootstrapAdmin } from "../../src/domains/identity/identity.actions.ts";
import { startTestApp, type TestApp } from "../helpers/app.ts";
import { browserSuiteOptions, suiteBrowser } from "../helpers/browser.ts";

// A real browser walks the first-admin path an operator hands to a new administrator:
// one-time password, forced password change, admin console, logout.
describe("browser: first administrator signs in (pglite)", browserSuiteOptions(), () => {
  let app: TestApp;
  const browser = suiteBrowser();
  const email = "first.admin@example.org";
  let oneTimePassword = "";

  before(async () => {
    app = await startTestApp("pglite");
    const env = app.runtime.actionEnv(operatorActor("test"));
    ({ password: oneTimePassword } = await runAction(env, bootstrapAdmin, { email, name: "First Admin" }));
  });
  after(async () => {
    await app?.close();
  });

  test("one-time password, forced password change, admin console, then logout", async () => {
    const page = await browser.get().context.newPage();
    await page.goto(`${app.baseUrl}/`);
    await page.getByRole("link", { name: "Log in" }).first().click();
    await page.waitForURL(`${app.baseUrl}/login`);

    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password", { exact: true }).fill(oneTimePassword);
    await page.getByRole("button", { name: "Log in" }).click();

    // A one-time password only opens the change-password page.
    await page.waitForURL(`${app.baseUrl}/account/password`);
    await page.getByText("one-time password").waitFor();
    const newPassword = "a much longer own password 42";
    await page.getByLabel("Current password").fill(oneTimePassword);
    await page.getByLabel("New password (at least 12 characters, not a common one)").fill(newPassword);
    await page.getByLabel("New password again").fill(newPassword);
    await page.getByRole("button", { name: "Change password" }).click();
    await page.waitForURL(/\/\?changed=password$/);

    await page.getByRole("link", { name: "Admin", exact: true }).click();
    await page.waitForURL(`${app.baseUrl}/admin`);
    assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Admin");
    assert.match((await page.locator("main").textContent()) ?? "", /Signed in as First Admin\./);

    await page.getByRole("button", { name: "Log out" }).click();
    await page.waitForURL(`${app.baseUrl}/`);
    await page.getByRole("link", { name: "Log in" }).first().waitFor();
    // The session really ended: the console now asks the browser to log in.
    const response = await page.goto(`${app.baseUrl}/admin`);
    assert.equal(response?.status(), 401);
    assert.doesNotMatch(await page.content(), /Signed in as/);
    await page.close();
  });
});
