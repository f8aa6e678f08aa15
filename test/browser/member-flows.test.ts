import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createMember, startTestApp, type TestApp } from "../helpers/app.ts";
import { browserSuiteOptions, logInThroughForm, suiteBrowser } from "../helpers/browser.ts";
import { publishedEvent } from "../helpers/events.ts";

// The two everyday paths of the members-and-events issue, in a real browser with no shortcuts:
// a member registers for an event and cancels; an admin imports members through dry run and confirm.
describe("browser: member registration and CSV import (pglite)", browserSuiteOptions(), () => {
  let app: TestApp;
  const browser = suiteBrowser();

  before(async () => {
    app = await startTestApp("pglite");
  });
  after(async () => {
    await app?.close();
  });

  test("a member logs in, registers for an event, sees the confirmation, then cancels", async () => {
    const member = await createMember(app.runtime, ["member"], "Browser Member");
    const event = await publishedEvent(app.runtime, {
      title: "Spring walk",
      capacity: 5,
      description: "Bring **boots**.",
    });
    const page = await browser.get().context.newPage();
    await logInThroughForm(page, app.baseUrl, member.email, member.password);
    await page.getByRole("link", { name: "Events" }).first().click();
    await page.getByRole("link", { name: "Spring walk" }).click();
    await page.getByText("5 of 5 places free").waitFor();
    assert.equal(
      await page.locator("strong", { hasText: "boots" }).count(),
      1,
      "the description is rendered markdown",
    );
    await page.getByRole("button", { name: "Register" }).click();
    await page.getByText("You have a confirmed place.").waitFor();
    await page.getByText("4 of 5 places free").waitFor();
    const rows = await app.runtime.database.db
      .selectFrom("registrations")
      .selectAll()
      .where("event_id", "=", event.id)
      .execute();
    assert.deepEqual(
      rows.map((r) => [r.member_id, r.status]),
      [[member.memberId, "confirmed"]],
    );

    await page.getByRole("button", { name: "Cancel my registration" }).click();
    await page.getByText("Your registration is cancelled.").waitFor();
    await page.getByText("5 of 5 places free").waitFor();
    const after = await app.runtime.database.db
      .selectFrom("registrations")
      .select("status")
      .where("event_id", "=", event.id)
      .execute();
    assert.deepEqual(
      after.map((r) => r.status),
      ["cancelled"],
    );
    await page.close();
  });

  test("an admin imports a CSV: the dry run shows each row and writes nothing; confirm applies it", async () => {
    const admin = await createMember(app.runtime, ["member", "membership_chair"], "Import Admin");
    const page = await browser.get().context.newPage();
    await logInThroughForm(page, app.baseUrl, admin.email, admin.password);
    await page.goto(`${app.baseUrl}/admin/members`);
    await page.getByRole("link", { name: "Import", exact: true }).click();
    const csv = [
      "name,email,status",
      "Grace Import,grace.import@example.org,active",
      "Bad Row,not-an-email,active",
    ].join("\n");
    await page.getByLabel("CSV").fill(csv);
    await page.getByRole("button", { name: "Check the file" }).click();
    await page.getByRole("heading", { name: "Check the import" }).waitFor();
    await page.getByText("Nothing can be imported while any row is rejected").waitFor();
    const count = async () =>
      (
        await app.runtime.database.db
          .selectFrom("members")
          .select("id")
          .where("email", "like", "%import@example.org")
          .execute()
      ).length;
    assert.equal(await count(), 0, "the dry run wrote nothing");

    await page.goto(`${app.baseUrl}/admin/members/import`);
    await page
      .getByLabel("CSV")
      .fill(
        [
          "name,email,status",
          "Grace Import,grace.import@example.org,active",
          "Alan Import,alan.import@example.org,pending",
        ].join("\n"),
      );
    await page.getByRole("button", { name: "Check the file" }).click();
    await page.getByRole("heading", { name: "Check the import" }).waitFor();
    assert.equal(await page.locator('tr[data-outcome="create"]').count(), 2);
    assert.equal(await count(), 0, "still nothing before confirm");
    await page.getByRole("button", { name: /Confirm: create 2/ }).click();
    await page.getByRole("heading", { name: "Import applied" }).waitFor();
    await page.getByText(/Done: 2 created/).waitFor();
    assert.equal(await count(), 2);
    await page.close();
  });
});
