// The leader tells each receive-ca-certs provider that haproxy reads
// certificate_transfer v1 (`version` = "1" in our app bag), so that a
// provider speaking both versions sends its CAs as one list in its app bag.
// Unchanged, the hook tools skip the relation-set; is-leader is asked only
// while such a relation exists.
import type { ReconcilePublication } from "../publication.js";

export const REQUIRER_VERSION = "1";

export async function publishRequirerVersion(publication: ReconcilePublication): Promise<void> {
  const { tools, relations, classicHook } = publication;
  // A classic relation's hook changes nothing on this endpoint.
  if (classicHook) return;
  const relationIds = await relations.relationIds("receive-ca-certs");
  if (relationIds.length === 0 || !(await tools.isLeader())) return;
  for (const relationId of relationIds) {
    await tools.relationSetApp(relationId, { version: REQUIRER_VERSION });
  }
}
