import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";
import { performance } from "node:perf_hooks";
import { processCpuMs } from "./cpu-time.ts";

/** A process run to its end: how long from spawn to exit, and what it printed. */
export interface TimedRun {
  ms: number;
  code: number | null;
  out: string;
  err: string;
}

/** Runs `node args` to its end and times it from spawn to exit, as a shell script calling it would. */
export function timeProcess(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<TimedRun> {
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (chunk) => {
    out += chunk;
  });
  child.stderr.on("data", (chunk) => {
    err += chunk;
  });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ ms: performance.now() - t0, code, out, err }));
  });
}

/** Runs `node args` until it prints a line matching `ready`; the process keeps running. */
export async function timeUntilLine(
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
  ready: RegExp,
): Promise<{ ms: number; cpu: number; child: ChildProcess }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  return new Promise((resolve, reject) => {
    child.stderr.on("data", (chunk) => {
      err += chunk;
    });
    child.stdout.on("data", (chunk) => {
      out += chunk;
      if (ready.test(out)) resolve({ ms: performance.now() - t0, cpu: processCpuMs(child.pid!), child });
    });
    child.once("exit", (code) => reject(new Error(`exited (${code}) before ${ready}:\n${out}\n${err}`)));
  });
}

/** Spawns `node args` and times it until `url` answers HTTP (any status). It polls every 10 ms with a
 * bare TCP connect, cheap enough not to slow the process it waits for, then sends the request. */
export async function timeUntilHttp(
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
  url: string,
): Promise<{ ms: number; cpu: number; child: ChildProcess }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { cwd, env, stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr.on("data", (chunk) => {
    err += chunk;
  });
  const { hostname, port } = new URL(url);
  const listening = () =>
    new Promise<boolean>((resolve) => {
      const socket = net.connect(Number(port), hostname);
      socket.once("connect", () => resolve(true));
      socket.once("error", () => resolve(false));
      socket.once("close", () => socket.destroy());
      socket.once("connect", () => socket.end());
    });
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exited (${child.exitCode}) before answering:\n${err}`);
    if (await listening()) {
      try {
        await fetch(url, { signal: AbortSignal.timeout(5000) });
        return { ms: performance.now() - t0, cpu: processCpuMs(child.pid!), child };
      } catch {
        // listening, but not answering yet
      }
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Stops a process with SIGTERM and waits for it to exit. */
export function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
