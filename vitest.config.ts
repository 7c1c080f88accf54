import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { defineConfig } from "vitest/config";

import { assetRequest, embeddedAssetModule } from "./scripts/embedAsset.mjs";
import { precompiledTemplateModule } from "./scripts/precompileTemplate.mjs";

// Templates are imported precompiled, exactly as the bundle gets them.
const precompiledTemplates = {
  name: "precompiled-handlebars-templates",
  enforce: "pre" as const,
  async load(id: string) {
    const file = id.split("?", 1)[0] ?? id;
    if (!file.endsWith(".hbs")) return null;
    return precompiledTemplateModule(await readFile(file, "utf8"));
  },
};

// `?xz-base64` and `?data` imports, exactly as the bundle gets them, under a
// virtual id so that no JSON or YAML plugin claims the file.
const embeddedAssetPrefix = "\0embedded-asset:";
const embeddedAssets = {
  name: "embedded-assets",
  enforce: "pre" as const,
  resolveId(source: string, importer: string | undefined) {
    const request = assetRequest(source);
    if (request === undefined || importer === undefined) return null;
    return `${embeddedAssetPrefix}${resolve(dirname(importer), request.file)}?${request.kind}`;
  },
  async load(id: string) {
    if (!id.startsWith(embeddedAssetPrefix)) return null;
    const request = assetRequest(id.slice(embeddedAssetPrefix.length));
    if (request === undefined) return null;
    return embeddedAssetModule(request.file, request.kind);
  },
};

export default defineConfig({
  plugins: [precompiledTemplates, embeddedAssets],
  test: {
    include: ["tests/**/*.test.ts"],
    globalSetup: ["tests/helpers/warnMissingHaproxy3.ts"],
    // Generous: CI runs end-to-end suites side by side on 2 cores, where one hook can take seconds.
    testTimeout: 120_000,
    hookTimeout: 240_000,
    coverage: {
      provider: "v8",
      include: ["src/**/*.ts"],
      reporter: ["text-summary", "text"],
    },
  },
});
