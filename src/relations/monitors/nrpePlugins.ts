// The check scripts the nrpe server runs, rendered from templates/nrpe/
// (precompiled like every template, see src/types/hbs.d.ts).
import { Handlebars } from "../../render/handlebarsRuntime.js";

import queue from "../../../templates/nrpe/check_haproxy_queue_depth.sh.hbs";
import servers from "../../../templates/nrpe/check_haproxy.sh.hbs";
import { QUEUE_PLUGIN, SERVERS_PLUGIN } from "./nrpeChecks.js";

interface PluginContext {
  readonly credentialsFile: string;
}

export function nrpePlugins(credentialsFile: string): Map<string, string> {
  const handlebars = Handlebars.create();
  const render = (specification: TemplateSpecification) =>
    handlebars.template<PluginContext>(specification)({ credentialsFile });
  return new Map([
    [SERVERS_PLUGIN, render(servers)],
    [QUEUE_PLUGIN, render(queue)],
  ]);
}
