import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Transform, type TransformCallback } from "node:stream";
import { BACKUP_ERRORS } from "./errors.ts";

/* Encryption at rest (AES-256-GCM, node:crypto). A file is a header (magic and a random salt, from
 * which HKDF derives the file's own key, so nonces never repeat across files) and then chunks of at
 * most CHUNK_BYTES plaintext, each sealed on its own with its index and a "last chunk" flag in the
 * additional data: a flipped byte, a reordered or dropped chunk, or a file cut short all fail to
 * decrypt, and a file cut exactly at a chunk boundary is missing its last chunk. */

const MAGIC = Buffer.from("CLUBOSE1");
const SALT_BYTES = 32;
const HEADER_BYTES = MAGIC.length + SALT_BYTES;
const TAG_BYTES = 16;
/** Plaintext bytes per sealed chunk. */
export const CHUNK_BYTES = 64 * 1024;

/** The key's fingerprint: names a key in manifests and messages without revealing it. */
export function keyFingerprint(key: Buffer): string {
  const hex = createHash("sha256").update("clubos-backup-key\0").update(key).digest("hex").slice(0, 16);
  return hex.match(/.{4}/g)!.join("-");
}

/** A new random key as CLUBOS_BACKUP_KEY wants it: base64 of 32 bytes. */
export function generateBackupKey(): string {
  return randomBytes(32).toString("base64");
}

/** Reads a key from its base64 text, refusing anything but 32 bytes. */
export function parseBackupKey(text: string, where: string): Buffer {
  const trimmed = text.trim();
  const key = Buffer.from(trimmed, "base64");
  if (key.length !== 32 || key.toString("base64") !== trimmed) {
    throw BACKUP_ERRORS.backup_config_invalid(
      `${where} must be base64 of exactly 32 bytes (make one with \`clubos backup key create\`).`,
    );
  }
  return key;
}

const inside = (dir: string, file: string) => {
  const d = path.resolve(dir);
  const f = path.resolve(file);
  return f === d || f.startsWith(d + path.sep);
};

/** The backup key from CLUBOS_BACKUP_KEY or CLUBOS_BACKUP_KEY_FILE, or null when neither is set. A key
 * file inside the backup or data folder is refused: whoever copies that folder would have the key. */
export function loadBackupKey(options: {
  key?: string;
  keyFile?: string;
  dataDir: string;
  backupDir: string;
  copyDir?: string;
}): Buffer | null {
  if (options.key) return parseBackupKey(options.key, "CLUBOS_BACKUP_KEY");
  if (!options.keyFile) return null;
  const file = path.resolve(options.keyFile);
  for (const [dir, what] of [
    [options.backupDir, "the backup folder"],
    [options.copyDir, "the backup copy folder"],
    [options.dataDir, "the data folder"],
  ] as const) {
    if (dir && inside(dir, file)) {
      throw BACKUP_ERRORS.backup_config_invalid(
        `CLUBOS_BACKUP_KEY_FILE (${file}) is inside ${what}: anyone who copies that folder would have the ` +
          "key too. Keep the key file elsewhere (and a copy off this machine).",
      );
    }
  }
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    throw BACKUP_ERRORS.backup_config_invalid(
      `CLUBOS_BACKUP_KEY_FILE (${file}) cannot be read: ${(error as NodeJS.ErrnoException).code ?? error}.`,
    );
  }
  return parseBackupKey(text, `The key file ${file}`);
}

function nonce(index: number): Buffer {
  const n = Buffer.alloc(12);
  n.writeBigUInt64BE(BigInt(index), 4);
  return n;
}

function aad(header: Buffer, index: number, last: boolean): Buffer {
  const tail = Buffer.alloc(9);
  tail.writeBigUInt64BE(BigInt(index), 0);
  tail[8] = last ? 1 : 0;
  return Buffer.concat([header, tail]);
}

const fileKey = (key: Buffer, salt: Buffer) =>
  Buffer.from(hkdfSync("sha256", key, salt, "clubos-backup-file-v1", 32));

/** Encrypts a byte stream into the chunked format. */
export class EncryptStream extends Transform {
  private readonly header: Buffer;
  private readonly key: Buffer;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private index = 0;

  constructor(key: Buffer) {
    super();
    const salt = randomBytes(SALT_BYTES);
    this.header = Buffer.concat([MAGIC, salt]);
    this.key = fileKey(key, salt);
    this.push(this.header);
  }

  private seal(plain: Buffer, last: boolean): void {
    const cipher = createCipheriv("aes-256-gcm", this.key, nonce(this.index));
    cipher.setAAD(aad(this.header, this.index, last));
    const body = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    const frame = Buffer.alloc(5);
    frame[0] = last ? 1 : 0;
    frame.writeUInt32BE(body.length, 1);
    this.push(Buffer.concat([frame, body]));
    this.index++;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes > CHUNK_BYTES) {
      let all = Buffer.concat(this.pending);
      // Keep at least one byte back: the last chunk must be sealed as last, in _flush.
      while (all.length > CHUNK_BYTES) {
        this.seal(all.subarray(0, CHUNK_BYTES), false);
        all = all.subarray(CHUNK_BYTES);
      }
      this.pending = [all];
      this.pendingBytes = all.length;
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    this.seal(Buffer.concat(this.pending), true);
    done();
  }
}

/** Decrypts the chunked format; fails on any altered, reordered, missing or extra byte. */
export class DecryptStream extends Transform {
  private buffered: Buffer = Buffer.alloc(0);
  private header: Buffer | null = null;
  private fileKey: Buffer | null = null;
  private index = 0;
  private ended = false;

  constructor(
    private readonly key: Buffer,
    private readonly label: string,
  ) {
    super();
  }

  private damaged(what: string): Error {
    return BACKUP_ERRORS.backup_damaged(
      `${this.label}: ${what}. The file was damaged or altered; use another backup or its off-site copy.`,
    );
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    try {
      this.drain();
      done();
    } catch (error) {
      done(error as Error);
    }
  }

  private drain(): void {
    if (!this.header) {
      if (this.buffered.length < HEADER_BYTES) return;
      const header = this.buffered.subarray(0, HEADER_BYTES);
      if (!header.subarray(0, MAGIC.length).equals(MAGIC))
        throw this.damaged("it is not an encrypted backup file");
      this.header = Buffer.from(header);
      this.fileKey = fileKey(this.key, header.subarray(MAGIC.length));
      this.buffered = this.buffered.subarray(HEADER_BYTES);
    }
    while (this.buffered.length >= 5) {
      if (this.ended) throw this.damaged("it has bytes after its last chunk");
      const last = this.buffered[0] === 1;
      const length = this.buffered.readUInt32BE(1);
      if (length < TAG_BYTES || length > CHUNK_BYTES + TAG_BYTES)
        throw this.damaged(`chunk ${this.index} is malformed`);
      if (this.buffered.length < 5 + length) return;
      const body = this.buffered.subarray(5, 5 + length);
      const decipher = createDecipheriv("aes-256-gcm", this.fileKey!, nonce(this.index));
      decipher.setAAD(aad(this.header!, this.index, last));
      decipher.setAuthTag(body.subarray(length - TAG_BYTES));
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(body.subarray(0, length - TAG_BYTES)), decipher.final()]);
      } catch {
        throw this.damaged(`chunk ${this.index} fails authentication`);
      }
      this.push(plain);
      this.index++;
      this.ended = last;
      this.buffered = this.buffered.subarray(5 + length);
    }
  }

  override _flush(done: TransformCallback): void {
    let problem: string | null = null;
    if (!this.header) problem = "it is shorter than its header";
    else if (this.buffered.length > 0)
      problem = this.ended ? "it has bytes after its last chunk" : "it was cut short";
    else if (!this.ended) problem = "it was cut short (its last chunk is missing)";
    done(problem ? this.damaged(problem) : null);
  }
}
