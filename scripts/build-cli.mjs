// The compiled copy of the clubos command that bin/clubos.mjs runs. Running the TypeScript sources
// through tsx costs most of a second per call before the verb starts (each module resolved and loaded
// through tsx's hooks), which a script calling clubos hundreds of times pays each time. So src/ is
// bundled by esbuild (most packages stay in node_modules) into node_modules/.cache/clubos-cli/<hash>/, and
// the first call after any of its sources changed builds it again (a fraction of a second): there is no
// build step to forget, and `npm ci` on a fresh clone starts without one.
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const ROOT = path.resolve(import.meta.dirname, "..");
const ENTRY = "src/app/main.ts";
const CACHE = path.join(ROOT, "node_modules", ".cache", "clubos-cli");
// Besides the bundled sources (esbuild's list), what else shapes the build.
const BUILD_INPUTS = [
  "scripts/build-cli.mjs",
  "package.json",
  "tsconfig.json",
  "node_modules/esbuild/package.json",
];
// Packages whose ESM build is a thousand small files each, which Node would resolve and load one by
// one: bundled in, as one chunk each. They hold no files of their own to find (PGlite's wasm, for one,
// must stay where its module is), and no package that stays outside imports them.
const BUNDLED = new Set(["kysely", "typebox"]);
// Builds kept, the current one included: a process started from an older one may still be running.
const KEEP = 3;

/** The compiled entry to import, built first when a source changed since the last build; null when it
 * cannot be built (a syntax error, which tsx then reports in its words, or a cache folder that cannot
 * be written), and the caller runs the sources through tsx instead. */
export async function compiledCli(cacheDir = CACHE) {
  const manifest = readManifest(cacheDir);
  if (manifest && isFresh(manifest, cacheDir)) return entryUrl(manifest, cacheDir);
  let esbuild;
  try {
    esbuild = await import("esbuild");
  } catch {
    return null;
  }
  try {
    return entryUrl(await buildCli(esbuild, cacheDir), cacheDir);
  } catch (error) {
    // A compile error is tsx's to report; only say why when the cache could not be written.
    if (error.code) {
      process.stderr.write(
        `clubos: could not write its compiled copy in ${cacheDir} (${error.code}); running from the sources, which is slower. Make that folder writable for this user to fix it.\n`,
      );
    }
    return null;
  }
}

function entryUrl(manifest, cacheDir) {
  return pathToFileURL(path.join(cacheDir, manifest.build, "main.js")).href;
}

function readManifest(cacheDir) {
  try {
    return JSON.parse(fs.readFileSync(path.join(cacheDir, "current.json"), "utf8"));
  } catch {
    return null;
  }
}

// A file as the manifest remembers it: modification time and size, null for a file that may have
// changed while it was being built (it is then rebuilt at the next call).
function stamp(file, since = Number.POSITIVE_INFINITY) {
  try {
    const s = fs.statSync(path.join(ROOT, file));
    return s.mtimeMs >= since ? null : `${s.mtimeMs}:${s.size}`;
  } catch {
    return "missing";
  }
}

/** True when no input changed since the build and the build is still there. */
function isFresh(manifest, cacheDir) {
  if (!fs.existsSync(path.join(cacheDir, manifest.build, "main.js"))) return false;
  return Object.entries(manifest.inputs).every(([file, was]) => was !== null && stamp(file) === was);
}

const packageOf = (specifier) =>
  specifier
    .split("/")
    .slice(0, specifier.startsWith("@") ? 2 : 1)
    .join("/");

// Every other package is imported from node_modules at run time, as the sources do.
const externalPackages = {
  name: "external-packages",
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) =>
      BUNDLED.has(packageOf(args.path)) ? undefined : { path: args.path, external: true },
    );
  },
};

// Each module keeps its own import.meta (migrate.ts finds its .sql files next to itself, build-info.ts
// the package.json): in a bundle they would all point at the bundle.
const sourceLocation = {
  name: "source-location",
  setup(build) {
    build.onLoad({ filter: /\.tsx?$/ }, async (args) => {
      const text = await fs.promises.readFile(args.path, "utf8");
      if (!text.includes("import.meta")) return undefined;
      return {
        loader: args.path.endsWith(".tsx") ? "tsx" : "ts",
        contents: text
          .replaceAll("import.meta.url", JSON.stringify(pathToFileURL(args.path).href))
          .replaceAll("import.meta.dirname", JSON.stringify(path.dirname(args.path)))
          .replaceAll("import.meta.filename", JSON.stringify(args.path)),
      };
    });
  },
};

/** Builds the compiled copy and makes it the current one; returns its manifest. Concurrent calls are
 * safe: a build is written to a folder of its own, moved into place whole, and named by its content. */
export async function buildCli(esbuild, cacheDir = CACHE) {
  fs.mkdirSync(cacheDir, { recursive: true });
  const started = Date.now();
  const tmp = path.join(cacheDir, `tmp-${process.pid}-${randomBytes(4).toString("hex")}`);
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: { main: ENTRY },
    outdir: tmp,
    bundle: true,
    splitting: true, // each verb's modules in chunks of their own, loaded only when the verb runs
    format: "esm",
    platform: "node",
    target: "node20",
    sourcemap: "linked",
    sourcesContent: false,
    chunkNames: "chunks/[name]-[hash]",
    metafile: true,
    write: false,
    logLevel: "silent",
    plugins: [externalPackages, sourceLocation],
  });
  const hash = createHash("sha256");
  for (const file of result.outputFiles) hash.update(path.relative(tmp, file.path)).update(file.contents);
  const build = hash.digest("hex").slice(0, 16);
  const dir = path.join(cacheDir, build);
  if (fs.existsSync(path.join(dir, "main.js"))) {
    fs.utimesSync(dir, new Date(), new Date()); // the newest again, for pruning
  } else {
    for (const file of result.outputFiles) {
      fs.mkdirSync(path.dirname(file.path), { recursive: true });
      fs.writeFileSync(file.path, file.contents);
    }
    // The same depth as tmp, so the source maps' relative paths to src/ still hold.
    try {
      fs.renameSync(tmp, dir);
    } catch (error) {
      if (error.code !== "ENOTEMPTY" && error.code !== "EEXIST") throw error; // another call built it
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  // A bundled package is watched by its package.json: it changes with the installed version.
  const watched = Object.keys(result.metafile.inputs).map((file) => {
    const pkg = /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1];
    return pkg ? `node_modules/${pkg}/package.json` : file;
  });
  const inputs = {};
  for (const file of new Set([...watched, ...BUILD_INPUTS])) inputs[file] = stamp(file, started - 1000);
  const manifest = { build, inputs };
  const next = path.join(cacheDir, `current.json.${process.pid}`);
  fs.writeFileSync(next, JSON.stringify(manifest));
  fs.renameSync(next, path.join(cacheDir, "current.json"));
  prune(cacheDir, build);
  return manifest;
}

// Removes all but the newest builds, and what interrupted builds left behind.
function prune(cacheDir, current) {
  const entries = fs
    .readdirSync(cacheDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== current)
    .map((e) => ({ name: e.name, mtime: fs.statSync(path.join(cacheDir, e.name)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  const hourAgo = Date.now() - 3600_000;
  const builds = entries.filter((e) => !e.name.startsWith("tmp-"));
  const doomed = [
    ...builds.slice(KEEP - 1),
    ...entries.filter((e) => e.name.startsWith("tmp-") && e.mtime < hourAgo),
  ];
  for (const e of doomed) fs.rmSync(path.join(cacheDir, e.name), { recursive: true, force: true });
}
