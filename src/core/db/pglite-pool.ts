import type { PGlite } from "@electric-sql/pglite";

/** A pg-Pool look-alike over one PGlite connection: connect() hands out the single connection
 * to one holder at a time, so two transactions can never interleave on it. */
export class PGlitePool {
  private tail: Promise<void> = Promise.resolve();
  private lent = 0;

  constructor(private readonly pg: PGlite) {}

  /** Waits until the connection is free, then lends it until release(). */
  async connect() {
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const previous = this.tail;
    this.tail = previous.then(() => held);
    await previous;
    this.lent++;
    const pg = this.pg;
    let released = false;
    return {
      async query(text: string, params: readonly unknown[] = []) {
        // Without parameters, exec() takes several statements at once (migrations), as pg's simple protocol does.
        const result =
          params.length === 0
            ? ((await pg.exec(text)).at(-1) ?? { rows: [], affectedRows: 0 })
            : await pg.query(text, params as unknown[]);
        const command = text.trimStart().split(/\s+/, 1)[0]?.toUpperCase() ?? "";
        return { command, rowCount: result.affectedRows ?? result.rows.length, rows: result.rows };
      },
      release() {
        if (released) return;
        released = true;
        release();
      },
    };
  }

  /** How many times the connection has been lent: while it is unchanged, no statement has run since. */
  get lendings(): number {
    return this.lent;
  }

  async end(): Promise<void> {
    await this.tail;
  }
}
