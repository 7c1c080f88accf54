// Runs the demo (scripts/demo.ts) without a TypeScript runtime: esbuild
// bundles it with the local model it drives into build/, then it runs here.
//
//   node scripts/demo.mjs [haproxy.charm]
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outfile = join(root, "build", "demo", "demo.mjs");

await build({
  entryPoints: [join(root, "scripts", "demo.ts")],
  outfile,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  // Dependencies load from node_modules, as in the tests.
  packages: "external",
  logLevel: "warning",
});
await import(pathToFileURL(outfile).href);
