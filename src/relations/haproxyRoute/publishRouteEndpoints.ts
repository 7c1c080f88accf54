// The leader tells each haproxy-route application where it is served.
// Unchanged endpoints cost nothing (the hook tools skip the relation-set);
// is-leader is asked only while a haproxy-route relation exists.
import type { ReconcilePublication } from "../publication.js";
import { endpointPublications } from "./routeEndpoints.js";

export async function publishRouteEndpoints(publication: ReconcilePublication): Promise<void> {
  const { tools, relations, plan } = publication;
  if (plan === undefined) return;
  const relationIds = await relations.relationIds("haproxy-route");
  if (relationIds.length === 0 || !(await tools.isLeader())) return;
  for (const [relationId, settings] of endpointPublications(relationIds, plan.haproxyRoutes)) {
    await tools.relationSetApp(relationId, settings);
  }
}
