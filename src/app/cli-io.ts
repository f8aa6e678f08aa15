/** Where a CLI verb writes: the terminal, or the control socket when the server runs the verb. */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** A progress line for long operations; terminals overwrite it in place. */
  progress(text: string): void;
}

const gone = new Set<NodeJS.WriteStream>();

function write(stream: NodeJS.WriteStream, text: string): void {
  if (!gone.has(stream)) stream.write(text);
}

/** Writes to this process's stdout and stderr (see endOutputQuietly). */
export const terminalIO: CliIO = {
  out: (text) => write(process.stdout, `${text}\n`),
  err: (text) => write(process.stderr, `${text}\n`),
  progress: (text) => {
    if (process.stderr.isTTY) write(process.stderr, `\r${text}\x1b[K`);
    else write(process.stderr, `${text}\n`);
  },
};

/** A reader that stops reading (`clubos guarantees | head`) closes the pipe: the rest of the output is
 * dropped without a stack trace and the verb finishes as it would have, with its own exit code (a
 * change it was making is not cut off halfway). Any other failure to write (a full disk under
 * `clubos members export > file`) is said on stderr and makes the exit code 1: that output is incomplete. */
export function endOutputQuietly(): void {
  let failed = false;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      gone.add(stream);
      if (error.code === "EPIPE") return;
      failed = true;
      const name = stream === process.stdout ? "standard output" : "standard error";
      write(
        process.stderr,
        `clubos: could not write to ${name} (${error.code ?? error.message}): it is incomplete.\n`,
      );
    });
  }
  process.once("exit", () => {
    if (failed && !process.exitCode) process.exitCode = 1;
  });
}

/** Thrown by a verb to end with a given exit code after its output. */
export class CliExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}
