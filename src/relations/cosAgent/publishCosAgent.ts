// Each unit's `config` for its cos-agent subordinate: the scrape job, alert
// rules and dashboard. The hook tools skip it when it is what was last set.
import type { ReconcilePublication } from "../publication.js";

export async function publishCosAgent(publication: ReconcilePublication): Promise<void> {
  const { tools, relations, inputs, plan, classicHook } = publication;
  if (plan === undefined || classicHook) return;
  const relationIds = await relations.relationIds("cos-agent");
  if (relationIds.length === 0) return;
  // The dashboard and rules load only where a cos-agent relation exists.
  const { cosAgentDocument } = await import("./cosAgentDocument.js");
  const document = cosAgentDocument(inputs);
  for (const relationId of relationIds) await tools.relationSet(relationId, { config: document });
}
