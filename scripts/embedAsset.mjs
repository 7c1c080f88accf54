// Files kept in the repository in the form people edit (a Grafana dashboard
// as JSON, rule files as YAML) but shipped in the form the charm publishes.
// An import names the form it wants after a `?`:
//   "./dashboard.json?xz-base64"  its JSON, minified, xz-compressed and base64-encoded
//   "./rules.yaml?data"           its YAML, parsed (a JSON value)
// The bundle (esbuild) and the tests (vitest) load them through this same
// function, so tests see exactly what the charm ships.
import { Buffer } from "node:buffer";
import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";

import yaml from "js-yaml";

export const assetKinds = ["xz-base64", "data"];

/** Splits "path?kind" into its parts, or undefined for an ordinary import. */
export function assetRequest(specifier) {
  const at = specifier.lastIndexOf("?");
  if (at < 0) return undefined;
  const kind = specifier.slice(at + 1);
  return assetKinds.includes(kind) ? { file: specifier.slice(0, at), kind } : undefined;
}

export async function embeddedAssetModule(file, kind) {
  const text = await readFile(file, "utf8");
  if (kind === "xz-base64") {
    // Minified: the dashboard travels in a relation databag.
    const json = file.endsWith(".json") ? JSON.stringify(JSON.parse(text)) : text;
    return `export default ${JSON.stringify(xzBase64(json, file))};\n`;
  }
  if (kind === "data") {
    // The core schema: no dates or other types JSON cannot hold.
    const data = yaml.load(text, { schema: yaml.CORE_SCHEMA, filename: file });
    return `export default ${JSON.stringify(data ?? null)};\n`;
  }
  throw new Error(`${file}: unknown asset kind ${kind}`);
}

// Node.js has no xz: the `xz` command (Debian's xz-utils) compresses. Single-threaded
// with a CRC64 check, as Python's lzma.compress writes it.
function xzBase64(text, file) {
  try {
    const compressed = execFileSync(
      "xz",
      ["--format=xz", "--check=crc64", "-6", "--threads=1", "--stdout"],
      { input: Buffer.from(text, "utf8"), maxBuffer: 64 * 1024 * 1024 },
    );
    return compressed.toString("base64");
  } catch (error) {
    const reason = error.code === "ENOENT" ? "the xz command is missing (xz-utils)" : error.message;
    throw new Error(`${file}: cannot xz-compress: ${reason}`);
  }
}

/** The esbuild plugin that loads `?xz-base64` and `?data` imports. */
export const embeddedAssetsPlugin = {
  name: "embedded-assets",
  setup(builder) {
    builder.onResolve({ filter: /\?(xz-base64|data)$/ }, (args) => {
      const request = assetRequest(args.path);
      return {
        path: resolve(args.resolveDir, request.file),
        namespace: "embedded-asset",
        pluginData: request.kind,
      };
    });
    builder.onLoad({ filter: /.*/, namespace: "embedded-asset" }, async (args) => ({
      contents: await embeddedAssetModule(args.path, args.pluginData),
      loader: "js",
      watchFiles: [args.path],
    }));
  },
};
