import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The package version. */
export function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(`${ROOT}package.json`, "utf8")) as { version: string }).version;
}

/** The git commit: CLUBOS_GIT_COMMIT when the build set it, else asked of git, else null. */
export function gitCommit(fromEnv: string | undefined): string | null {
  if (fromEnv) return fromEnv;
  try {
    return execFileSync("git", ["rev-parse", "--short=12", "HEAD"], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "ignore"],
    })
      .toString()
      .trim();
  } catch {
    return null;
  }
}
