import { readFile } from "node:fs/promises";
import { defineConfig } from "vitest/config";

// Templates are imported as their text, as esbuild's `text` loader does in the bundle.
const handlebarsTemplatesAsText = {
  name: "handlebars-templates-as-text",
  enforce: "pre" as const,
  async load(id: string) {
    const file = id.split("?", 1)[0] ?? id;
    if (!file.endsWith(".hbs")) return null;
    return `export default ${JSON.stringify(await readFile(file, "utf8"))};`;
  },
};

export default defineConfig({
  plugins: [handlebarsTemplatesAsText],
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
