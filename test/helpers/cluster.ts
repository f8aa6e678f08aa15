import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

/** PostgreSQL's server tools on this machine (Debian's layout), or PG_BIN. */
export const PG_BIN = process.env.PG_BIN || "/usr/lib/postgresql/15/bin";

/** Why a throwaway cluster cannot be made here, or null when it can. */
export function clusterUnavailable(): string | null {
  if (!fs.existsSync(path.join(PG_BIN, "initdb"))) return `no initdb in ${PG_BIN}`;
  if (process.getuid?.() === 0 && spawnSync("id", ["postgres"]).status !== 0)
    return "running as root and there is no postgres user to run the server as";
  return null;
}

/** Runs a server tool, as the postgres OS user when we are root (initdb and postgres refuse root). */
function pgTool(tool: string, args: string[], options: { allowFailure?: boolean } = {}): string {
  const result = runPgTool(tool, args);
  if (result.status === 0 || options.allowFailure) return result.stdout;
  throw new Error(
    `${tool} ${args.join(" ")} failed (exit ${result.status}): ${result.stderr || result.stdout}`,
  );
}

/** Runs a server tool as pgTool does and returns its exit status and output instead of throwing. */
function runPgTool(tool: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const command = path.join(PG_BIN, tool);
  const [file, argv] = asRoot() ? ["runuser", ["-u", "postgres", "--", command, ...args]] : [command, args];
  const result = spawnSync(file, argv, {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 120_000,
  });
  return {
    status: result.status,
    stdout: result.stdout ?? "",
    stderr: result.stderr || result.error?.message || "",
  };
}

const asRoot = () => process.getuid?.() === 0;

/** Hands a path made by us (root) to the postgres OS user, who runs the server. */
export function giveToPostgres(target: string): void {
  if (asRoot()) execFileSync("chown", ["-R", "postgres:postgres", target]);
}

/** A postgresql.conf line: the value quoted, its quotes doubled. */
function confLine(key: string, value: string): string {
  return `${key} = '${value.replace(/'/g, "''")}'`;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

/** A PostgreSQL cluster of its own, made with initdb in a temporary folder, for tests that stop the
 * server, archive its WAL or recover it to a point in time. */
export interface Cluster {
  /** The temporary folder holding the data folder, the log and the sockets. */
  root: string;
  /** The data folder. */
  dir: string;
  port: number;
  /** A URL to a database on it (the postgres database unless named). */
  url(database?: string): string;
  start(extraConfig?: Record<string, string>): void;
  /** Stops the server; "immediate" is a crash, as far as PostgreSQL can tell. */
  stop(mode?: "fast" | "immediate"): void;
  /** Runs another server tool against this cluster (pg_basebackup, pg_verifybackup, pg_amcheck ...). */
  tool(tool: string, args: string[]): string;
  /** The same, returning the exit status and output rather than throwing on failure. */
  tryTool(tool: string, args: string[]): { status: number | null; stdout: string; stderr: string };
  /** A new empty folder under root that the server (the postgres OS user) may write. */
  mkdir(name: string): string;
  /** Appends settings to postgresql.conf (quoted, so values may hold spaces: archive_command ...). */
  configure(settings: Record<string, string>): void;
  /** The server's log so far, for failure messages. */
  log(): string;
  /** Stops it if running and removes its folder. */
  destroy(): void;
}

/** Makes a new cluster on a free port, it is not started: initdb, or a copy of a base backup
 * (`from`, for recovery). walSegmentMb makes small WAL segments, quick to archive in tests. */
export async function makeCluster(options: { from?: string; walSegmentMb?: number } = {}): Promise<Cluster> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "clubos-cluster-"));
  const dir = path.join(root, "data");
  if (options.from) fs.cpSync(options.from, dir, { recursive: true });
  else fs.mkdirSync(dir);
  fs.chmodSync(dir, 0o700);
  giveToPostgres(root);
  if (!options.from) {
    const segments = options.walSegmentMb ? [`--wal-segsize=${options.walSegmentMb}`] : [];
    pgTool("initdb", ["-D", dir, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", ...segments]);
  }
  const port = await freePort();
  const logFile = path.join(root, "server.log");
  let running = false;
  const cluster: Cluster = {
    root,
    dir,
    port,
    url: (database = "postgres") => `postgres://postgres@127.0.0.1:${port}/${database}`,
    start(extraConfig = {}) {
      const settings = {
        listen_addresses: "127.0.0.1",
        port: String(port),
        unix_socket_directories: root,
        fsync: "off",
        ...extraConfig,
      };
      const options = Object.entries(settings)
        .map(([k, v]) => `-c ${k}=${v}`)
        .join(" ");
      pgTool("pg_ctl", ["-D", dir, "-l", logFile, "-o", options, "-w", "-t", "60", "start"]);
      running = true;
    },
    stop(mode = "fast") {
      if (!running) return;
      pgTool("pg_ctl", ["-D", dir, "-m", mode, "-w", "-t", "60", "stop"], { allowFailure: true });
      running = false;
    },
    tool: (tool, args) => pgTool(tool, args),
    tryTool: (tool, args) => runPgTool(tool, args),
    mkdir(name) {
      const folder = path.join(root, name);
      fs.mkdirSync(folder, { mode: 0o700 });
      giveToPostgres(folder);
      return folder;
    },
    configure(settings) {
      const lines = Object.entries(settings).map(([k, v]) => confLine(k, v));
      fs.appendFileSync(path.join(dir, "postgresql.conf"), `\n${lines.join("\n")}\n`);
    },
    log: () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8") : ""),
    destroy() {
      cluster.stop("immediate");
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
  return cluster;
}
