// Runs a TypeScript entry point (a benchmark, the demo) without a TypeScript
// runtime: esbuild bundles it into build/, then it runs in this process.
//
//   node scripts/run-ts.mjs bench/hookCost.ts [args...]
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

import { build } from "esbuild";

import { embeddedAssetsPlugin } from "./embedAsset.mjs";
import { precompiledTemplatesPlugin } from "./precompileTemplate.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const [entry, ...args] = process.argv.slice(2);
if (entry === undefined) {
  console.error("usage: node scripts/run-ts.mjs <entry.ts> [args...]");
  process.exit(2);
}
const outfile = join(root, "build", "run-ts", `${basename(entry, ".ts")}.mjs`);

await build({
  entryPoints: [resolve(entry)],
  outfile,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  // Dependencies load from node_modules, as in the tests.
  packages: "external",
  logLevel: "warning",
  plugins: [precompiledTemplatesPlugin, embeddedAssetsPlugin],
});
process.argv = [process.argv[0], outfile, ...args];
await import(pathToFileURL(outfile).href);
