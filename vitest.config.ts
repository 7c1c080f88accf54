import { readFile } from "node:fs/promises";
import { defineConfig } from "vitest/config";

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

export default defineConfig({
  plugins: [precompiledTemplates],
  test: {
    include: ["tests/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    coverage: {
      provider: "v8",
      include: ["src/**/*.ts"],
      reporter: ["text-summary", "text"],
    },
  },
});
