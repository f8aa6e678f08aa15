import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { Client } from "../helpers/http.ts";

// The embedded data folder as a real operator meets it: `clubos serve` and the verbs as separate
// processes. PGlite only: with DATABASE_URL there is no folder to lock and no control socket.

const ROOT = path.resolve(import.meta.dirname, "../..");
const BIN = path.join(ROOT, "bin", "clubos.mjs");
const STARTUP_MS = 180_000; // tsx, PGlite and the demo seed's password hashing on a busy machine

/** A clubos process and what it printed so far. */
interface Proc {
  child: ChildProcess;
  out: string;
  err: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started: ChildProcess[] = [];

function clubos(args: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.push(child);
  const proc: Proc = {
    child,
    out: "",
    err: "",
    exited: new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal }))),
  };
  child.stdout!.on("data", (chunk) => {
    proc.out += chunk;
  });
  child.stderr!.on("data", (chunk) => {
    proc.err += chunk;
  });
  return proc;
}

/** Runs a verb to its end; fails the test if it takes longer than ms. */
async function verb(args: string[], env: NodeJS.ProcessEnv, ms = 60_000) {
  const proc = clubos(args, env);
  const timer = setTimeout(() => proc.child.kill("SIGKILL"), ms);
  const { code } = await proc.exited;
  clearTimeout(timer);
  return { code, out: proc.out, err: proc.err };
}

/** Starts `clubos serve` and waits for its "running" line; returns the process and its URL. */
async function serve(env: NodeJS.ProcessEnv): Promise<Proc & { url: string }> {
  const proc = clubos(["serve"], env);
  const deadline = Date.now() + STARTUP_MS;
  for (;;) {
    const match = proc.out.match(/ClubOS is running at (\S+)/);
    if (match) return Object.assign(proc, { url: match[1]! });
    if (proc.child.exitCode !== null) assert.fail(`serve exited early:\n${proc.out}\n${proc.err}`);
    if (Date.now() > deadline) assert.fail(`serve did not start in time:\n${proc.out}\n${proc.err}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe("the embedded data folder across processes (pglite)", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "clubos-process-"));
  const dataDir = path.join(root, "data");
  let env: NodeJS.ProcessEnv;
  let first: Proc & { url: string };
  let oneTimePassword: string;

  before(async () => {
    env = {
      ...process.env,
      DATABASE_URL: "", // never a server database here, whatever the caller's shell has
      CLUBOS_DATA_DIR: dataDir,
      CLUBOS_BACKUP_DIR: path.join(root, "backups"),
      CLUBOS_DEMO: "1",
      HOST: "127.0.0.1",
      PORT: String(await freePort()),
      CLUBOS_MODE_POLL_MS: "200",
      LOG_LEVEL: "warn",
    };
    first = await serve(env);
    const line = first.out.match(/One-time password \(shown only now[^)]*\): (\S+)/);
    assert.ok(line, `the demo seed prints the administrator's one-time password:\n${first.out}`);
    oneTimePassword = line[1]!;
  });

  after(async () => {
    for (const child of started)
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("[G02] a second server on the same data folder refuses to start and names the first one's pid", async () => {
    const second = await verb(["serve"], { ...env, PORT: String(await freePort()) });
    assert.notEqual(second.code, 0);
    assert.match(second.err, new RegExp(`in use by another ClubOS process \\(pid ${first.child.pid}\\)`));
    assert.doesNotMatch(second.out, /ClubOS is running/);
    assert.equal((await fetch(`${first.url}/healthz`)).status, 200, "the first server is unharmed");
  });

  test("verbs reach the running server through its control socket, and a mode set there takes effect", async () => {
    const show = await verb(["mode", "show"], env);
    assert.equal(show.code, 0, show.err);
    assert.match(show.out, /^mode: normal$/m);
    const set = await verb(["mode", "set", "read-only", "--actor", "t", "--reason", "r"], env);
    assert.equal(set.code, 0, set.err);
    assert.match(set.out, /Mode is now read-only/);

    const client = new Client(first.url);
    const deadline = Date.now() + 3000;
    let home = await client.get("/");
    while (!/class="banner"/.test(home.text) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      home = await client.get("/");
    }
    assert.match(home.text, /read-only mode[^<]*Reason: r</, "the running server shows the banner");
    const login = await client.login("admin@example.org", oneTimePassword);
    assert.equal(login.status, 303, "logging in still works in read-only mode");
    const write = await client.postForm("/account/password", {
      current: oneTimePassword,
      password: "a new and long passphrase",
      confirm: "a new and long passphrase",
    });
    assert.equal(write.status, 503, "a write route is refused");
    assert.equal(write.headers.get("clubos-read-only"), "true");
  });

  test("the control socket is reachable by the folder's owner only (mode 0600)", () => {
    const stat = fs.statSync(path.join(dataDir, "control.sock"));
    assert.ok(stat.isSocket());
    assert.equal(stat.mode & 0o777, 0o600);
  });

  test("`clubos --help` lists the verbs and `clubos mode --help` explains the mode verbs", async () => {
    const help = await verb(["--help"], env);
    assert.equal(help.code, 0, help.err);
    for (const name of ["serve", "migrate", "admin", "mode", "audit", "roles", "routes"]) {
      assert.match(help.out, new RegExp(`^\\s+${name}\\b`, "m"), `--help lists ${name}`);
    }
    const mode = await verb(["mode", "--help"], env);
    assert.equal(mode.code, 0, mode.err);
    for (const name of ["show", "set", "switch"]) assert.match(mode.out, new RegExp(`^\\s+${name}\\b`, "m"));
  });

  test("a verb whose reader closes the pipe early (`clubos guarantees | head`) ends quietly, with no stack trace", async () => {
    // Through the control socket (mode show), and in the process itself (guarantees, routes, --help).
    for (const args of [["guarantees"], ["routes", "--json"], ["--help"], ["mode", "show"]]) {
      const child = spawn(process.execPath, [BIN, ...args], {
        cwd: ROOT,
        env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      started.push(child);
      child.stdout!.destroy(); // closed before the verb writes its first line
      let err = "";
      child.stderr!.on("data", (chunk) => {
        err += chunk;
      });
      const code = await new Promise<number | null>((resolve) => child.once("close", (c) => resolve(c)));
      assert.equal(err, "", `clubos ${args.join(" ")} printed to stderr`);
      assert.equal(code, 0, `clubos ${args.join(" ")} exit code`);
    }
  });

  test("a caller that goes away mid-verb (Ctrl-C) does not take the server down", async () => {
    for (const argv of [
      ["mode", "show"],
      ["guarantees", "--json"],
    ]) {
      const socket = net.createConnection(path.join(dataDir, "control.sock"));
      socket.on("error", () => {});
      await new Promise((resolve) => socket.once("connect", resolve));
      socket.end(`${JSON.stringify({ argv })}\n`);
      socket.destroy(); // gone before the server writes the verb's output
    }
    const show = await verb(["mode", "show"], env);
    assert.equal(show.code, 0, show.err);
    assert.match(show.out, /^mode: /m);
    assert.equal(first.child.exitCode, null, `the server is still running:\n${first.err}`);
  });

  test("SIGTERM stops the server cleanly and a restart on the same folder keeps the data, seeding nothing", async () => {
    first.child.kill("SIGTERM");
    const stopped = await Promise.race([
      first.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no exit within 60 s")), 60_000)),
    ]);
    assert.deepEqual(stopped, { code: 0, signal: null }, first.err);
    assert.ok(!fs.existsSync(path.join(dataDir, "clubos.lock")), "the lock is released");
    assert.ok(!fs.existsSync(path.join(dataDir, "control.sock")), "the socket is removed");

    const again = await serve({ ...env, PORT: String(await freePort()) });
    assert.doesNotMatch(again.out, /One-time password/, "no second demo seed");
    const client = new Client(again.url);
    assert.equal((await client.login("admin@example.org", oneTimePassword)).status, 303, "the admin is kept");
    const show = await verb(["mode", "show"], env);
    assert.match(show.out, /^mode: read-only$/m, "the mode survived the restart");
    again.child.kill("SIGTERM");
    assert.equal((await again.exited).code, 0);
  });
});
