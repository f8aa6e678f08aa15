/** What a build remembers: its folder's name, and each input's stamp when it was built. */
export interface CliBuild {
  build: string;
  inputs: Record<string, string | null>;
}

/** See build-cli.mjs. */
export function compiledCli(cacheDir?: string): Promise<string | null>;
export function buildCli(esbuild: typeof import("esbuild"), cacheDir?: string): Promise<CliBuild>;
