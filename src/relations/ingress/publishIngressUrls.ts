// The leader tells each ingress application its URL (or clears it).
// Unchanged URLs cost nothing (the hook tools skip the relation-set);
// is-leader is asked only while an ingress relation exists.
import { advertisedVip } from "../../config/vipOption.js";
import type { ReconcilePublication } from "../publication.js";
import { ingressPublications } from "./ingressUrls.js";

export async function publishIngressUrls(publication: ReconcilePublication): Promise<void> {
  const { tools, relations, inputs, plan } = publication;
  if (plan === undefined) return;
  const relationIds = await relations.relationIds("ingress");
  if (relationIds.length === 0 || !(await tools.isLeader())) return;
  const publications = ingressPublications(relationIds, plan.ingress, {
    externalHostname: plan.externalHostname,
    publicAddress: advertisedVip(plan.charmConfig) ?? inputs.publicAddress,
    tls: plan.ingressTls,
  });
  for (const [relationId, settings] of publications) {
    await tools.relationSetApp(relationId, settings);
  }
}
