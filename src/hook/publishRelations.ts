// Relation data haproxy writes after each change: its address and
// certificate for the units behind it, its services for its peers and for
// the front ends (apache2) before it. Juju only wakes the other side when a
// value really changes, so publishing unchanged values costs one call each.
import { parseCharmConfig } from "../config/charmConfig.js";
import type { HookInputs } from "../inputs.js";
import type { HookTools } from "../juju/hookTools.js";
import type { RelationData } from "../juju/relationData.js";
import type { Plan } from "../model/planConfiguration.js";
import { reverseproxySettings, servicesYaml, websiteEndpoint } from "../model/publishedSettings.js";

export async function publishToReverseproxy(
  tools: HookTools,
  inputs: HookInputs,
  relationIds: readonly string[],
): Promise<void> {
  const settings = reverseproxySettings(
    parseCharmConfig(inputs.config),
    inputs.publicAddress,
    inputs.selfSignedPem,
  );
  for (const relationId of relationIds) await tools.relationSet(relationId, settings);
}

export async function publishAll(
  tools: HookTools,
  relations: RelationData,
  inputs: HookInputs,
  plan: Plan,
): Promise<void> {
  await publishToReverseproxy(tools, inputs, await relations.relationIds("reverseproxy"));

  const ownServices = servicesYaml(plan.ownServices);
  for (const relationId of await relations.relationIds("peer")) {
    await tools.relationSet(relationId, { all_services: ownServices });
  }

  const websiteUnits = await relations.units("website");
  const servedServices = servicesYaml(plan.services);
  for (const relationId of await relations.relationIds("website")) {
    const requested = new Set(
      websiteUnits
        .filter((unit) => unit.relationId === relationId)
        .flatMap((unit) => (unit.settings.service_name ? [unit.settings.service_name] : [])),
    );
    await tools.relationSet(relationId, {
      ...websiteEndpoint(plan.services, requested, inputs.privateAddress),
      all_services: servedServices,
    });
  }
}
