// Any origin we own would do: only whether the URL stays on it matters.
const BASE = "http://clubos.invalid";

/**
 * A path on this site to send someone to (after login, say), or "/" for anything else.
 * The URL is read the way a browser reads a Location header (WHATWG URL: tabs and newlines dropped,
 * backslashes taken as slashes), must stay on the same origin, and is rebuilt from its path, query
 * and fragment, so "//evil.example", "/\\evil", "/\t/evil" and their encoded forms lead home.
 */
export function sameSitePath(next: unknown): string {
  if (typeof next !== "string" || !next.startsWith("/")) return "/";
  let url: URL;
  try {
    url = new URL(next, BASE);
  } catch {
    return "/";
  }
  if (url.origin !== BASE) return "/";
  const path = url.pathname + url.search + url.hash;
  // "/.//evil" resolves to the path "//evil", which a browser would read as another host.
  return path.startsWith("//") ? "/" : path;
}
