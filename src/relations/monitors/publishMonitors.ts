// The checks a monitoring subordinate runs (`monitors`), on both monitoring
// endpoints at once: they say the same, whichever of them the hook is about.
import type { UpkeepPublication } from "../publication.js";
import { monitorsYaml, nrpeChecks } from "./nrpeChecks.js";

export async function publishMonitors(publication: UpkeepPublication): Promise<void> {
  const { tools, config, password, tlsListeners } = publication;
  const monitors =
    password === undefined ? "" : monitorsYaml(nrpeChecks({ config, pluginDir: "", tlsListeners }));
  const ids = [
    ...(await tools.relationIds("nrpe-external-master")),
    ...(await tools.relationIds("local-monitors")),
  ];
  for (const id of ids) await tools.relationSet(id, { monitors });
}
