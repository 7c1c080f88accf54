// The leader tells each ingress-per-unit relation its units' URLs (or
// clears them). Unchanged URLs cost nothing (the hook tools skip the
// relation-set); is-leader is asked only while such a relation exists.
import { advertisedVip } from "../../config/vipOption.js";
import type { ReconcilePublication } from "../publication.js";
import { unitUrlPublications } from "./unitUrls.js";

export async function publishUnitUrls(publication: ReconcilePublication): Promise<void> {
  const { tools, relations, inputs, plan } = publication;
  if (plan === undefined) return;
  const relationIds = await relations.relationIds("ingress-per-unit");
  if (relationIds.length === 0 || !(await tools.isLeader())) return;
  const publications = unitUrlPublications(relationIds, plan.ingressPerUnit.served, {
    externalHostname: plan.externalHostname,
    publicAddress: advertisedVip(plan.charmConfig) ?? inputs.publicAddress,
    tls: plan.ingressTls,
  });
  for (const [relationId, settings] of publications) {
    await tools.relationSetApp(relationId, settings);
  }
}
