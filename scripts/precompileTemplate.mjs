// Turns a Handlebars template into an ES module exporting its precompiled
// form, so the charm ships only Handlebars' small runtime and compiles
// nothing when a hook runs. The bundle (esbuild) and the tests (vitest)
// load templates through this same function.
import { readFile } from "node:fs/promises";

import Handlebars from "handlebars";

// noEscape: haproxy.cfg is not HTML. strict: a field missing from the model is
// a bug to surface, not a line to leave out silently.
export const compileOptions = { noEscape: true, strict: true };

export function precompiledTemplateModule(source) {
  return `export default ${Handlebars.precompile(source, compileOptions)};\n`;
}

/** The esbuild plugin that loads `.hbs` imports as precompiled templates. */
export const precompiledTemplatesPlugin = {
  name: "precompiled-handlebars-templates",
  setup(builder) {
    builder.onLoad({ filter: /\.hbs$/ }, async (args) => ({
      contents: precompiledTemplateModule(await readFile(args.path, "utf8")),
      loader: "js",
    }));
  },
};
