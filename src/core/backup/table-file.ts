import { createHash, type Hash } from "node:crypto";
import fs from "node:fs";
import { type Readable, Transform, type TransformCallback, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import zlib from "node:zlib";
import { DecryptStream, EncryptStream } from "./crypto.ts";

/* One table's data file: COPY text -> SHA-256 and row count -> compression -> AES-256-GCM (when a key is
 * given) -> SHA-256 and size of the stored bytes -> the file, fsynced. The plaintext hash is what a
 * restore re-computes from the restored table; the stored hash lets verify (and an off-site copy) check
 * the file without the key. */

/** How a bundle's files are compressed (recorded in the manifest; both are read back). */
export interface Compression {
  codec: "gzip" | "brotli";
  level: number;
}

/** brotli at quality 1: on COPY text it ran 2-7 times faster than gzip at level 3 and compressed a
 * little better (`npm run bench:backup`, two runs on a shared 2-core machine: 104-209 against
 * 31-47 MB/s, ratio 3.9 against 3.6), and a backup competes with the server for the same cores. */
export const DEFAULT_COMPRESSION: Compression = { codec: "brotli", level: 1 };

/** The compressor's output buffer. zlib works in the thread pool but comes back to the event loop each
 * time its output buffer is full; with the default 16 KiB, a table of the benchmark club made thousands
 * of such turns, each waiting behind the server's requests (on PGlite their queries run in the event
 * loop's own thread): the embedded backup under load took over 15 minutes for one table. 1 MiB makes
 * it dozens. (The format is unchanged: the buffer size is not part of the stream.) */
const COMPRESS_CHUNK_BYTES = 1 << 20;

function compressor(c: Compression): Transform {
  return c.codec === "gzip"
    ? zlib.createGzip({ level: c.level, chunkSize: COMPRESS_CHUNK_BYTES })
    : zlib.createBrotliCompress({
        chunkSize: COMPRESS_CHUNK_BYTES,
        params: { [zlib.constants.BROTLI_PARAM_QUALITY]: c.level },
      });
}

/** The same large buffer on the way back: a restore's COPY gets its text in 1 MiB messages instead of
 * thousands of 16 KiB ones, and the event loop turns as rarely. */
const decompressor = (c: Compression): Transform =>
  c.codec === "gzip"
    ? zlib.createGunzip({ chunkSize: COMPRESS_CHUNK_BYTES })
    : zlib.createBrotliDecompress({ chunkSize: COMPRESS_CHUNK_BYTES });

/** Counts bytes and rows (one newline per row in COPY text) and hashes what passes through. */
class Tap extends Transform {
  readonly hash: Hash = createHash("sha256");
  bytes = 0;
  rows = 0;

  constructor(
    private readonly countRows: boolean,
    private readonly onBytes?: (bytes: number) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    if (this.countRows) {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) this.rows++;
    }
    try {
      this.onBytes?.(this.bytes);
    } catch (error) {
      done(error as Error); // a progress callback that throws stops the backup
      return;
    }
    done(null, chunk);
  }
}

/** Swallows a stream: only the taps before it are wanted. */
const sink = () => new Writable({ write: (_chunk, _enc, done) => done() });

/** What writing one table file measured. */
export interface WrittenFile {
  rows: number;
  plaintextSha256: string;
  plaintextBytes: number;
  storedSha256: string;
  storedBytes: number;
}

/** Streams COPY text into a bundle file. */
export async function writeTableFile(
  source: Readable,
  file: string,
  options: { key: Buffer | null; compression?: Compression; onBytes?: (plaintextBytes: number) => void },
): Promise<WrittenFile> {
  const plain = new Tap(true, options.onBytes);
  const stored = new Tap(false);
  const out = fs.createWriteStream(file, { mode: 0o600 });
  const stages: NodeJS.ReadWriteStream[] = [plain, compressor(options.compression ?? DEFAULT_COMPRESSION)];
  if (options.key) stages.push(new EncryptStream(options.key));
  stages.push(stored);
  await pipeline(source, ...(stages as [Transform]), out);
  const fd = fs.openSync(file, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return {
    rows: plain.rows,
    plaintextSha256: plain.hash.digest("hex"),
    plaintextBytes: plain.bytes,
    storedSha256: stored.hash.digest("hex"),
    storedBytes: stored.bytes,
  };
}

/** The SHA-256 and size of a file's bytes as stored. */
export async function hashStoredFile(file: string): Promise<{ sha256: string; bytes: number }> {
  const tap = new Tap(false);
  await pipeline(fs.createReadStream(file), tap, sink());
  return { sha256: tap.hash.digest("hex"), bytes: tap.bytes };
}

/** The COPY text of a bundle file, decrypted and decompressed; errors name the file. */
export function readTableFile(
  file: string,
  options: { key: Buffer | null; label: string; compression: Compression },
): Readable {
  const input = fs.createReadStream(file);
  const gunzip = decompressor(options.compression);
  if (!options.key) return input.on("error", (e) => gunzip.destroy(e)).pipe(gunzip);
  const decrypt = new DecryptStream(options.key, options.label);
  input.on("error", (e) => decrypt.destroy(e));
  decrypt.on("error", (e) => gunzip.destroy(e));
  return input.pipe(decrypt).pipe(gunzip);
}

/** Passes a COPY text stream through while hashing and counting it: a restore checks the bytes it
 * loads against the manifest without a second read. */
export function tapCopyText(source: Readable): {
  stream: Readable;
  measured: () => { rows: number; sha256: string; bytes: number };
} {
  const tap = new Tap(true);
  source.on("error", (e) => tap.destroy(e));
  return {
    stream: source.pipe(tap),
    measured: () => ({ rows: tap.rows, sha256: tap.hash.digest("hex"), bytes: tap.bytes }),
  };
}

/** Hashes and counts a COPY text stream (restore's re-export, verify's decrypted read). */
export async function measureCopyText(
  source: Readable,
): Promise<{ rows: number; sha256: string; bytes: number }> {
  const tap = new Tap(true);
  await pipeline(source, tap, sink());
  return { rows: tap.rows, sha256: tap.hash.digest("hex"), bytes: tap.bytes };
}
