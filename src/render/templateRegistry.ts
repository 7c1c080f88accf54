// The one place that knows which templates exist. Everything is registered on
// a private Handlebars instance so nothing else in the process can add
// helpers or partials that change what haproxy.cfg looks like.
import Handlebars from "handlebars";
import backendSource from "../../templates/backend.hbs";
import defaultsSource from "../../templates/defaults.hbs";
import frontendSource from "../../templates/frontend.hbs";
import globalSource from "../../templates/global.hbs";
import rootSource from "../../templates/haproxy.cfg.hbs";
import userlistSource from "../../templates/userlist.hbs";
import type { HaproxyConfig } from "../model/types.js";

// noEscape: haproxy.cfg is not HTML. strict: a field missing from the model is
// a bug to surface, not a line to leave out silently.
const compileOptions = { noEscape: true, strict: true } as const;

const partialSources: Readonly<Record<string, string>> = {
  global: globalSource,
  defaults: defaultsSource,
  userlist: userlistSource,
  frontend: frontendSource,
  backend: backendSource,
};

export type HaproxyConfigTemplate = (config: HaproxyConfig) => string;

let compiledTemplate: HaproxyConfigTemplate | undefined;

/** The root template with its partials, compiled on first use. */
export function haproxyConfigTemplate(): HaproxyConfigTemplate {
  compiledTemplate ??= compileHaproxyConfigTemplate();
  return compiledTemplate;
}

function compileHaproxyConfigTemplate(): HaproxyConfigTemplate {
  const handlebars = Handlebars.create();
  for (const [name, source] of Object.entries(partialSources)) {
    handlebars.registerPartial(name, handlebars.compile(source, compileOptions));
  }
  const root = handlebars.compile<HaproxyConfig>(rootSource, compileOptions);
  return (config) => root(config);
}
