#!/usr/bin/env node
// The clubos command. It runs the compiled copy of src/ that scripts/build-cli.mjs keeps up to date
// (built again by the first call after a source changed), so there is no build step to forget; when
// none can be built it runs the TypeScript sources through tsx.
import { compiledCli } from "../scripts/build-cli.mjs";

process.setSourceMapsEnabled(true);
const compiled = await compiledCli();
if (compiled) {
  await import(compiled);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/app/main.ts");
}
