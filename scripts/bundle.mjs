// Bundles the CLI into one self-contained file that runs on Node.js 18.19
// (Ubuntu 24.04's archive) with no node_modules beside it. The .mjs name makes
// Node.js load it as an ES module even though the charm ships no package.json.
import { build } from "esbuild";

await build({
  entryPoints: ["src/cli.ts"],
  outfile: "dist/haproxy-charm.mjs",
  bundle: true,
  platform: "node",
  target: "node18",
  format: "esm",
  minify: false,
  sourcemap: false,
  legalComments: "none",
  // Templates are bundled as their text (see src/types/hbs.d.ts).
  loader: { ".hbs": "text" },
  banner: {
    // Some bundled CommonJS dependencies call require(); give ESM output one.
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
});
