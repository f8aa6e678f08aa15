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
  const command = path.join(PG_BIN, tool);
  const asRoot = process.getuid?.() === 0;
  const [file, argv] = asRoot ? ["runuser", ["-u", "postgres", "--", command, ...args]] : [command, args];
  try {
    return execFileSync(file, argv, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    if (options.allowFailure) return "";
    const e = error as { stderr?: string; message: string };
    throw new Error(`${tool} ${args.join(" ")} failed: ${e.stderr || e.message}`);
  }
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
  dir: string;
  port: number;
  /** A URL to a database on it (the postgres database unless named). */
  url(database?: string): string;
  start(extraConfig?: Record<string, string>): void;
  /** Stops the server; "immediate" is a crash, as far as PostgreSQL can tell. */
  stop(mode?: "fast" | "immediate"): void;
  /** Runs another server tool against this cluster (pg_basebackup, pg_verifybackup, pg_amcheck ...). */
  tool(tool: string, args: string[]): string;
  /** Stops it if running and removes its folder. */
  destroy(): void;
}

/** Makes (initdb) a new cluster on a free port; it is not started. */
export async function makeCluster(): Promise<Cluster> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "clubos-cluster-"));
  const dir = path.join(root, "data");
  fs.mkdirSync(dir);
  if (process.getuid?.() === 0) execFileSync("chown", ["-R", "postgres:postgres", root]);
  pgTool("initdb", ["-D", dir, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
  const port = await freePort();
  let running = false;
  const cluster: Cluster = {
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
      pgTool("pg_ctl", [
        "-D",
        dir,
        "-l",
        path.join(root, "server.log"),
        "-o",
        options,
        "-w",
        "-t",
        "60",
        "start",
      ]);
      running = true;
    },
    stop(mode = "fast") {
      if (!running) return;
      pgTool("pg_ctl", ["-D", dir, "-m", mode, "-w", "-t", "60", "stop"], { allowFailure: true });
      running = false;
    },
    tool: (tool, args) => pgTool(tool, args),
    destroy() {
      cluster.stop("immediate");
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
  return cluster;
}
