import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { S3Client } from "@aws-sdk/client-s3";
import { isBackupId, MANIFEST_FILE, type Manifest } from "./format.ts";
import type { S3Location } from "./s3-location.ts";
import type { BackupTarget, FileProblem } from "./target.ts";

// The SDK is large: it is loaded when a bucket is first used, not when ClubOS starts.
const sdk = () => import("@aws-sdk/client-s3");

/** An S3-compatible bucket. Object stores cannot rename, so a bundle is complete when its manifest is
 * there: the data files go up first, the manifest last; a listing counts only bundles with one. */
export class S3Target implements BackupTarget {
  readonly kind = "s3";
  readonly location: string;
  private client: S3Client | undefined;

  constructor(private readonly where: S3Location) {
    this.location = `s3://${where.bucket}/${where.prefix}`;
  }

  /** The SDK and the client, made on first use; commands are sent with the client's own typing. */
  private async open(): Promise<{ s3: Awaited<ReturnType<typeof sdk>>; client: S3Client }> {
    const s3 = await sdk();
    this.client ??= new s3.S3Client({
      region: this.where.region,
      ...(this.where.endpoint ? { endpoint: this.where.endpoint, forcePathStyle: true } : {}),
      // Every copy is downloaded and hashed against the manifest after upload, which is a stronger
      // check than the SDK's transfer checksums and works with services that do not know them.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      maxAttempts: 3,
    });
    return { s3, client: this.client };
  }

  private key(id: string, file: string): string {
    return `${this.where.prefix}${id}/${file}`;
  }

  async put(bundleDir: string, manifest: Manifest): Promise<void> {
    for (const name of [...manifest.tables.map((t) => t.file), MANIFEST_FILE]) {
      const file = path.join(bundleDir, name);
      const { s3, client } = await this.open();
      await client.send(
        new s3.PutObjectCommand({
          Bucket: this.where.bucket,
          Key: this.key(manifest.id, name),
          Body: fs.createReadStream(file),
          ContentLength: fs.statSync(file).size,
        }),
      );
    }
  }

  async list(): Promise<string[]> {
    const ids: string[] = [];
    let token: string | undefined;
    do {
      const { s3, client } = await this.open();
      const page = await client.send(
        new s3.ListObjectsV2Command({
          Bucket: this.where.bucket,
          Prefix: this.where.prefix,
          ContinuationToken: token,
        }),
      );
      for (const object of page.Contents ?? []) {
        const rest = (object.Key ?? "").slice(this.where.prefix.length).split("/");
        if (rest.length === 2 && rest[1] === MANIFEST_FILE && isBackupId(rest[0]!)) ids.push(rest[0]!);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return ids.sort().reverse();
  }

  /** Deletes the manifest first (the bundle then stops being listed as complete), then every other
   * object under the bundle's prefix. */
  async remove(id: string): Promise<void> {
    if (!isBackupId(id)) throw new Error(`${id} is not a backup id.`);
    const { s3, client } = await this.open();
    const del = (key: string) =>
      client.send(new s3.DeleteObjectCommand({ Bucket: this.where.bucket, Key: key }));
    await del(this.key(id, MANIFEST_FILE));
    let token: string | undefined;
    do {
      const page = await client.send(
        new s3.ListObjectsV2Command({
          Bucket: this.where.bucket,
          Prefix: this.key(id, ""),
          ContinuationToken: token,
        }),
      );
      for (const object of page.Contents ?? []) if (object.Key) await del(object.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** Downloads the bundle into a new temporary folder and returns it; the caller removes it. */
  async read(id: string): Promise<string> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `clubos-s3-${id}-`));
    const manifestFile = path.join(dir, MANIFEST_FILE);
    await this.download(id, MANIFEST_FILE, manifestFile);
    const manifest = JSON.parse(fs.readFileSync(manifestFile, "utf8")) as Manifest;
    for (const table of manifest.tables) await this.download(id, table.file, path.join(dir, table.file));
    return dir;
  }

  async verify(id: string, manifest: Manifest): Promise<FileProblem[]> {
    const problems: FileProblem[] = [];
    const stored = await this.hashOf(id, MANIFEST_FILE);
    if (!stored) return [{ file: MANIFEST_FILE, message: `The copy in ${this.location} has no manifest.` }];
    const copied = JSON.parse(stored.text ?? "{}");
    if (JSON.stringify(copied) !== JSON.stringify(manifest))
      problems.push({ file: MANIFEST_FILE, message: "The copy's manifest differs from the original's." });
    for (const table of manifest.tables) {
      const got = await this.hashOf(id, table.file);
      if (!got)
        problems.push({ file: table.file, message: `${table.file} is missing from ${this.location}.` });
      else if (got.bytes !== table.storedBytes || got.sha256 !== table.storedSha256)
        problems.push({
          file: table.file,
          message: `${table.file} in ${this.location} does not match the manifest: it was damaged or altered.`,
        });
    }
    return problems;
  }

  private async object(id: string, file: string): Promise<Readable | undefined> {
    try {
      const { s3, client } = await this.open();
      const got = await client.send(
        new s3.GetObjectCommand({ Bucket: this.where.bucket, Key: this.key(id, file) }),
      );
      // In Node the SDK's body is a stream; its type also covers the browser's, which never comes here.
      if (got.Body === undefined || got.Body instanceof Readable) return got.Body;
      throw new Error(`The S3 client returned ${file} in a form that is not a Node stream.`);
    } catch (error) {
      if ((error as { name?: string }).name === "NoSuchKey") return undefined;
      throw error;
    }
  }

  private async download(id: string, file: string, to: string): Promise<void> {
    const body = await this.object(id, file);
    if (!body) throw new Error(`${file} of backup ${id} is missing from ${this.location}.`);
    await pipeline(body, fs.createWriteStream(to, { mode: 0o600 }));
  }

  /** The stored object's size and SHA-256 (and its text, for the manifest), streamed. */
  private async hashOf(id: string, file: string) {
    const body = await this.object(id, file);
    if (!body) return undefined;
    const hash = createHash("sha256");
    const chunks: Buffer[] = [];
    let bytes = 0;
    for await (const chunk of body) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
      if (file === MANIFEST_FILE) chunks.push(chunk as Buffer);
    }
    return {
      bytes,
      sha256: hash.digest("hex"),
      text: file === MANIFEST_FILE ? Buffer.concat(chunks).toString("utf8") : undefined,
    };
  }
}
