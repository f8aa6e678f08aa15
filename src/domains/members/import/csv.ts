import { csvFileError } from "./import.errors.ts";

/* A small RFC 4180 reader and writer, written here rather than pulled in: the format is tiny, and
 * owning it lets every problem be reported with the line it is on, which is what a club secretary
 * fixing a spreadsheet needs. Records are separated by CRLF or LF; fields may be quoted, a quote inside
 * a quoted field is doubled, and quoted fields may hold commas and line breaks. */

/** One record as read: the line it starts on (1-based), its fields, and what is wrong with it, if anything. */
export interface CsvRecord {
  line: number;
  fields: string[];
  error?: string;
}

const SAVE_AS = 'Save the file again as "CSV UTF-8 (comma delimited)" and upload it again.';

/** Decodes uploaded bytes as strict UTF-8; any other encoding is refused, naming the first bad line. */
export function decodeCsvBytes(bytes: Uint8Array): string {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw csvFileError(`The file is in UTF-16 ("Unicode text"), not UTF-8. ${SAVE_AS}`);
  }
  const decoder = new TextDecoder("utf-8", { fatal: true });
  try {
    return decoder.decode(bytes);
  } catch {
    // A multi-byte UTF-8 sequence never contains a newline byte, so lines can be checked one by one.
    let start = 0;
    for (let line = 1; start <= bytes.length; line++) {
      let end = bytes.indexOf(0x0a, start);
      if (end < 0) end = bytes.length;
      try {
        decoder.decode(bytes.subarray(start, end));
      } catch {
        throw csvFileError(
          `The file is not valid UTF-8 (it was probably saved in another encoding). ${SAVE_AS}`,
          line,
        );
      }
      start = end + 1;
    }
    throw csvFileError(`The file is not valid UTF-8. ${SAVE_AS}`);
  }
}

const lineAt = (text: string, index: number) => text.slice(0, index).split("\n").length;

/** Checks text that was already decoded (a pasted form field): replacement characters mean a lost
 * encoding; NUL means a binary file; a lone surrogate (only from JSON or a form, never from bytes
 * decoded as UTF-8) is text PostgreSQL cannot store. */
export function assertReadableText(text: string): void {
  const at = text.indexOf("\uFFFD");
  if (at >= 0) {
    const line = lineAt(text, at);
    throw csvFileError(
      `The text contains characters that could not be read (shown as \uFFFD). ${SAVE_AS}`,
      line,
    );
  }
  const nul = text.indexOf("\0");
  if (nul >= 0) throw csvFileError("This is not a CSV text file.", lineAt(text, nul));
  const lone = text.search(/\p{Surrogate}/u);
  if (lone >= 0)
    throw csvFileError(
      `The text contains a broken character (half of an emoji or symbol). ${SAVE_AS}`,
      lineAt(text, lone),
    );
}

/** Parses CSV text. A byte order mark is dropped. A quoted field left open is a file-level error (it
 * swallows the rest of the file); a stray quote only marks its own record as malformed. */
export function parseCsv(text: string): CsvRecord[] {
  const input = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = "";
  let error: string | undefined;
  let line = 1;
  let recordLine = 1;
  let i = 0;
  const endField = () => {
    fields.push(field);
    field = "";
  };
  const endRecord = () => {
    endField();
    records.push(error ? { line: recordLine, fields, error } : { line: recordLine, fields });
    fields = [];
    error = undefined;
    recordLine = line;
  };
  while (i < input.length) {
    const c = input[i]!;
    if (c === '"' && field === "" && !fieldStartedUnquoted(input, i)) {
      const openedOn = line;
      i++;
      for (;;) {
        if (i >= input.length) throw csvFileError('A quoted field is never closed (a missing ").', openedOn);
        const q = input[i]!;
        if (q === '"') {
          if (input[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (q === "\n") line++;
        field += q;
        i++;
      }
      const next = input[i];
      if (next !== undefined && next !== "," && next !== "\n" && next !== "\r") {
        error ??= 'text follows a closing quote; a quote inside a field must be doubled ("")';
      }
      continue;
    }
    if (c === ",") endField();
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && input[i + 1] === "\n") i++;
      line++;
      endRecord();
    } else {
      if (c === '"')
        error ??= "a quote inside an unquoted field; put the field in quotes and double the quote";
      field += c;
    }
    i++;
  }
  if (field !== "" || fields.length > 0) endRecord();
  return records.filter((r) => r.error || r.fields.some((f) => f.trim() !== ""));
}

// True when the quote at i comes after characters of an unquoted field (field holds them already).
function fieldStartedUnquoted(input: string, i: number): boolean {
  const prev = input[i - 1];
  return i > 0 && prev !== "," && prev !== "\n" && prev !== "\r";
}

const FORMULA_START = /^[=+\-@\t\r]/;

/** Stops spreadsheets running a cell as a formula (CSV injection): such values get a leading '. */
export function protectFormula(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

/** The inverse of protectFormula, so an exported file imports back unchanged (e.g. phones like +44...). */
export function unprotectFormula(value: string): string {
  return value.startsWith("'") && FORMULA_START.test(value.slice(1)) ? value.slice(1) : value;
}

/** One field as RFC 4180 wants it: quoted when it holds a comma, quote, CR or LF, quotes doubled. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Rows as CSV with CRLF line ends; every field is protected against formula injection. */
export function toCsv(rows: readonly (readonly string[])[]): string {
  return rows.map((row) => `${row.map((v) => csvField(protectFormula(v))).join(",")}\r\n`).join("");
}
