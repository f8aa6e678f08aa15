/* The processes bench:pages measures: ClubOS as `clubos serve` runs it (its own process, the demo club,
 * logging at warn) and the bare Fastify reference. Each prints a line with its address once listening. */
import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** A child server and how to stop it (SIGINT, as Ctrl-C: ClubOS shuts down cleanly and, when profiled,
 * writes its CPU profile on exit). */
export interface ChildServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** A free loopback port (ClubOS's PORT must be a positive number, so the bench picks one). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function waitForAddress(child: ChildProcess, pattern: RegExp, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    const timer = setTimeout(
      () => reject(new Error(`${what} did not start in 60 s:\n${out}\n${err}`)),
      60_000,
    );
    child.stdout!.on("data", (chunk) => {
      out += chunk;
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.stderr!.on("data", (chunk) => {
      err += chunk;
      if (err.length > 20_000) err = err.slice(-20_000);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}) before listening:\n${out}\n${err}`));
    });
  });
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      const kill = setTimeout(() => child.kill("SIGKILL"), 20_000);
      child.once("exit", () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill("SIGINT");
    });
}

/** Starts `clubos serve` (node --import tsx, no wrapper process) with these settings on a free port;
 * `cpuProfDir` runs it under --cpu-prof, the profile written there when it stops. */
export async function startClubos(env: Record<string, string>, cpuProfDir?: string): Promise<ChildServer> {
  const port = await freePort();
  const flags = cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${cpuProfDir}`] : [];
  const child = spawn(
    process.execPath,
    [...flags, "--import", "tsx", path.join(ROOT, "src/app/main.ts"), "serve"],
    {
      cwd: ROOT,
      env: { ...process.env, ...env, PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  await waitForAddress(child, /ClubOS is running at (\S+)/, "ClubOS");
  // The printed address says localhost; the load goes to the loopback address it listens on.
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, stop: stopper(child) };
}

/** Starts the bare Fastify route (bench/lib/bare-server.mjs) in a process of its own. */
export async function startBare(): Promise<ChildServer> {
  const child = spawn(process.execPath, [path.join(ROOT, "bench/lib/bare-server.mjs")], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const url = await waitForAddress(child, /listening (\S+)/, "The bare Fastify server");
  return { url, pid: child.pid!, stop: stopper(child) };
}
