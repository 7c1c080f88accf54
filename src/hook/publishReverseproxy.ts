// What haproxy tells the units behind it: how it is reached from outside and
// which certificate it presents, so they can tell third parties.
import { parseCharmConfig } from "../config/charmConfig.js";
import type { HookTools } from "../juju/hookTools.js";

export async function publishToReverseproxy(
  tools: HookTools,
  relationIds: readonly string[],
): Promise<void> {
  const config = parseCharmConfig(await tools.configGet());
  const settings = {
    "public-address": await tools.unitGet("public-address"),
    // A generated certificate is published by the SSL code once it exists.
    ssl_cert: config.ssl_cert === "SELFSIGNED" ? "" : config.ssl_cert,
  };
  for (const relationId of relationIds) await tools.relationSet(relationId, settings);
}
