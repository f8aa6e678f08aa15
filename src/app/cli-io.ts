/** Where a CLI verb writes: the terminal, or the control socket when the server runs the verb. */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** A progress line for long operations; terminals overwrite it in place. */
  progress(text: string): void;
}

/** Writes to this process's stdout and stderr. */
export const terminalIO: CliIO = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  progress: (text) => {
    if (process.stderr.isTTY) process.stderr.write(`\r${text}\x1b[K`);
    else process.stderr.write(`${text}\n`);
  },
};

/** Thrown by a verb to end with a given exit code after its output. */
export class CliExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}
