import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { after, before } from "node:test";
import { type BrowserContext, type BrowserContextOptions, chromium, type Page } from "playwright-core";
import { REQUIRE_ALL } from "./engines.ts";

/** The system Chromium the browser suites drive (installed by .ci/run). */
export const CHROMIUM_PATH = "/usr/bin/chromium";

// No network chatter, no GPU, no sandbox (CI runs as root): the browser only talks to the test app.
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Null when Chromium can be launched here, else why not. */
export function browserUnavailable(): string | null {
  return fs.existsSync(CHROMIUM_PATH)
    ? null
    : `Chromium is not installed at ${CHROMIUM_PATH} (apt-get install chromium)`;
}

/** The options for describe(): skip with the reason when Chromium is missing, except in CI
 * (CLUBOS_REQUIRE_ALL_SUITES=1), where the suite runs and launchBrowser() fails it with the reason. */
export function browserSuiteOptions(): { skip?: string } {
  const why = browserUnavailable();
  return why && !REQUIRE_ALL ? { skip: why } : {};
}

/** A browser context with its own fresh profile directory; close() removes both. */
export interface TestBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Launches Chromium with a fresh temporary profile and the given context options. */
export async function launchBrowser(options: BrowserContextOptions = {}): Promise<TestBrowser> {
  const why = browserUnavailable();
  if (why) throw new Error(`Required suite cannot run: ${why}`);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "clubos-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ARGS,
    ...options,
  });
  context.setDefaultTimeout(15_000);
  return {
    context,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Launches one browser before the enclosing suite's tests and closes it after. */
export function suiteBrowser(options: BrowserContextOptions = {}): { get(): TestBrowser } {
  let current: TestBrowser | undefined;
  before(async () => {
    current = await launchBrowser(options);
  });
  after(async () => {
    await current?.close();
  });
  return {
    get() {
      if (!current) throw new Error("The suite browser is not launched yet.");
      return current;
    },
  };
}

/** One axe-core finding, trimmed to what a failing test message needs. */
export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve("axe-core"), "utf8");

/** Runs axe-core on the page and returns its serious and critical violations. */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  // Injected by content, so it works on pages whose scripts are disabled or blocked by CSP.
  await page.addScriptTag({ content: axeSource });
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(): Promise<{ violations: unknown[] }> } }).axe;
    return (await axe.run()).violations as {
      id: string;
      impact: string | null;
      help: string;
      nodes: { target: unknown[] }[];
    }[];
  });
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => n.target.map(String).join(" ")),
    }));
}

/** Logs in through the real login form and waits for the page the server sends next. */
export async function logInThroughForm(page: Page, baseUrl: string, email: string, password: string) {
  await page.goto(`${baseUrl}/login`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await Promise.all([
    page.waitForURL((url) => url.pathname !== "/login"),
    page.getByRole("button", { name: "Log in" }).click(),
  ]);
}
