// The one place that knows which templates exist. Everything is registered on
// a private Handlebars instance so nothing else in the process can add
// helpers or partials that change what haproxy.cfg looks like. Templates come
// precompiled (with noEscape and strict), so only Handlebars' runtime ships.
import { Handlebars } from "./handlebarsRuntime.js";

import backend from "../../templates/backend.hbs";
import defaults from "../../templates/defaults.hbs";
import frontend from "../../templates/frontend.hbs";
import global from "../../templates/global.hbs";
import root from "../../templates/haproxy.cfg.hbs";
import peers from "../../templates/peers.hbs";
import userlist from "../../templates/userlist.hbs";
import type { HaproxyConfig } from "../model/types.js";

const partials: Readonly<Record<string, TemplateSpecification>> = {
  global,
  defaults,
  userlist,
  peers,
  frontend,
  backend,
};

export type HaproxyConfigTemplate = (config: HaproxyConfig) => string;

let template: HaproxyConfigTemplate | undefined;

/** The root template with its partials, set up on first use. */
export function haproxyConfigTemplate(): HaproxyConfigTemplate {
  if (template === undefined) {
    const handlebars = Handlebars.create();
    for (const [name, specification] of Object.entries(partials)) {
      handlebars.registerPartial(name, handlebars.template(specification));
    }
    const rootTemplate = handlebars.template<HaproxyConfig>(root);
    template = (config) => rootTemplate(config);
  }
  return template;
}
