// Tells the peers which services this unit serves of its own (`all_services`).
import type { ReconcilePublication } from "../publication.js";
import { servicesYaml } from "./servicesYaml.js";

export async function publishPeerServices(publication: ReconcilePublication): Promise<void> {
  const { tools, relations, plan } = publication;
  if (plan === undefined) return;
  const ownServices = servicesYaml(plan.ownServices);
  for (const relationId of await relations.relationIds("peer")) {
    await tools.relationSet(relationId, { all_services: ownServices });
  }
}
