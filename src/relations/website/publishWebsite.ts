// Tells each front end (apache2, squid) on `website` where to send its
// traffic, and every service haproxy serves.
import { advertisedVip } from "../../config/vipOption.js";
import { servicesYaml } from "../peer/servicesYaml.js";
import type { ReconcilePublication } from "../publication.js";
import { websiteEndpoint } from "./websiteEndpoint.js";

export async function publishWebsite(publication: ReconcilePublication): Promise<void> {
  const { tools, relations, inputs, plan } = publication;
  if (plan === undefined) return;
  const websiteUnits = await relations.units("website");
  const servedServices = servicesYaml(plan.services);
  for (const relationId of await relations.relationIds("website")) {
    const requested = new Set(
      websiteUnits
        .filter((unit) => unit.relationId === relationId)
        .flatMap((unit) => (unit.settings.service_name ? [unit.settings.service_name] : [])),
    );
    await tools.relationSet(relationId, {
      ...websiteEndpoint(
        plan.services,
        requested,
        advertisedVip(plan.charmConfig) ?? inputs.privateAddress,
      ),
      all_services: servedServices,
    });
  }
}
