import { fileTypeFromBuffer } from "file-type";
import type { FileBlockType } from "./pages.schemas.ts";

/* What an upload may be, decided by its bytes (file-type reads the signature), never by its name or by
 * the type the browser claimed: a text file named .png is not an image. SVG is not taken: it can carry
 * scripts. */

const IMAGES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp", "image/avif"]);
const DOCUMENTS = new Set([
  "application/pdf",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  "application/vnd.openxmlformats-officedocument.presentationml.presentation",
  "application/vnd.oasis.opendocument.text",
  "application/vnd.oasis.opendocument.spreadsheet",
  "application/vnd.oasis.opendocument.presentation",
  "application/zip",
]);

/** The kinds an image block and a file block take, in words, for the refusal. */
export const ACCEPTED_WORDS: Record<FileBlockType, string> = {
  image: "a PNG, JPEG, GIF, WebP or AVIF image",
  file: "a PDF, an office document (Word, Excel, PowerPoint, OpenDocument), a ZIP file or an image",
};

/** The content type detected from the bytes, when this kind of block takes it; else undefined. */
export async function acceptedType(kind: FileBlockType, bytes: Uint8Array): Promise<string | undefined> {
  const detected = await fileTypeFromBuffer(bytes);
  if (!detected) return undefined;
  if (IMAGES.has(detected.mime)) return detected.mime;
  return kind === "file" && DOCUMENTS.has(detected.mime) ? detected.mime : undefined;
}

/** Images are shown in the page; anything else is downloaded. */
export const shownInline = (contentType: string) => IMAGES.has(contentType);

/** A file name as stored: its last path part, without control characters, at most 200 characters. */
export function cleanFileName(raw: string, fallback: string): string {
  const last = raw.split(/[\\/]/).pop() ?? "";
  const name = [...last]
    .filter((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) !== 0x7f)
    .join("")
    .trim()
    .slice(-200);
  return name || fallback;
}

/** Content-Disposition for a file: inline for images, attachment otherwise; the name as ASCII for old
 * clients (anything else becomes "_") and in full as RFC 5987 UTF-8, so no name can break the header. */
export function contentDisposition(fileName: string, inline: boolean): string {
  const ascii = fileName.replace(/[^A-Za-z0-9._ -]/g, "_");
  const encoded = encodeURIComponent(fileName).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${inline ? "inline" : "attachment"}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
