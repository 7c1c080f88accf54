// Bundles the CLI into one self-contained file that runs on Node.js 18.19
// (Ubuntu 24.04's archive) with no node_modules beside it. The .mjs name makes
// Node.js load it as an ES module even though the charm ships no package.json.

import { rm } from "node:fs/promises";

import { build } from "esbuild";

import { embeddedAssetsPlugin } from "./embedAsset.mjs";
import { precompiledTemplatesPlugin } from "./precompileTemplate.mjs";

// `node scripts/bundle.mjs [outdir]`: tests that run the bundle build one of
// their own, so that none deletes dist/ under another.
const outdir = process.argv[2] ?? "dist";

// Old chunks would otherwise pile up in the packed charm.
await rm(outdir, { recursive: true, force: true });

await build({
  entryPoints: ["src/cli.ts"],
  // Split into chunks loaded on demand: a hook with nothing to do loads only
  // the entry point (see src/cli.ts and the dynamic imports in src/cliProgram.ts).
  outdir,
  entryNames: "haproxy-charm",
  chunkNames: "chunks/[name]-[hash]",
  outExtension: { ".js": ".mjs" },
  splitting: true,
  bundle: true,
  platform: "node",
  target: "node18",
  format: "esm",
  minify: false,
  sourcemap: false,
  legalComments: "none",
  // Templates arrive precompiled (see src/types/hbs.d.ts): a hook never compiles one.
  // Dashboards and rule files arrive as published (see src/types/embeddedAssets.d.ts).
  plugins: [precompiledTemplatesPlugin, embeddedAssetsPlugin],
  banner: {
    // Some bundled CommonJS dependencies call require(); give ESM output one.
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
});
