import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import readline from "node:readline";
import type { CliIO } from "./cli-io.ts";

/** The control socket inside the data folder: while a server holds the embedded database, the clubos
 * verbs reach it here instead of opening the folder themselves. Mode 0600: only the folder's owner. */
export function controlSocketPath(dataDir: string): string {
  return path.join(dataDir, "control.sock");
}

type Message = { stream: "out" | "err" | "progress"; text: string } | { exit: number };

/** Serves verbs on the socket; `run` executes one argv against the server's own runtime. */
export async function startControlServer(
  dataDir: string,
  run: (argv: string[], io: CliIO, cwd: string) => Promise<number>,
): Promise<() => Promise<void>> {
  const file = controlSocketPath(dataDir);
  fs.rmSync(file, { force: true });
  const server = net.createServer((socket) => {
    // The caller may go away mid-verb (Ctrl-C, a closed pipe): the verb finishes, as it would in a
    // terminal, its output is dropped, and the error on this one socket must not take the server down.
    socket.on("error", () => {});
    const send = (m: Message) => {
      if (socket.writable) socket.write(`${JSON.stringify(m)}\n`);
    };
    const lines = readline.createInterface({ input: socket });
    lines.on("error", () => {});
    lines.once("line", async (line) => {
      let code = 1;
      try {
        const { argv, cwd } = JSON.parse(line) as { argv: string[]; cwd?: string };
        code = await run(
          argv,
          {
            out: (text) => send({ stream: "out", text }),
            err: (text) => send({ stream: "err", text }),
            progress: (text) => send({ stream: "progress", text }),
          },
          cwd ?? process.cwd(),
        );
      } catch (error) {
        send({ stream: "err", text: error instanceof Error ? error.message : String(error) });
      }
      send({ exit: code });
      socket.end();
    });
  });
  const oldMask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(file, () => resolve());
    });
  } finally {
    process.umask(oldMask);
  }
  fs.chmodSync(file, 0o600);
  return () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      fs.rmSync(file, { force: true });
    });
}

/** Sends a verb to the running server and relays its output; resolves with its exit code. */
export function runThroughControlSocket(dataDir: string, argv: string[], io: CliIO): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(controlSocketPath(dataDir));
    socket.on("error", reject); // before or during the verb; a second error changes nothing
    socket.once("connect", () => socket.write(`${JSON.stringify({ argv, cwd: process.cwd() })}\n`));
    let exit = 1;
    const lines = readline.createInterface({ input: socket });
    lines.on("error", () => {}); // the socket's own, handled above
    lines.on("line", (line) => {
      const m = JSON.parse(line) as Message;
      if ("exit" in m) exit = m.exit;
      else if (m.stream === "out") io.out(m.text);
      else if (m.stream === "err") io.err(m.text);
      else io.progress(m.text);
    });
    socket.once("close", () => resolve(exit));
  });
}
