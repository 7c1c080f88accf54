// Relation data haproxy writes after each change, endpoint by endpoint as the
// registry lists them (relations/registry.ts). The hook tools leave out a
// relation-set of the values a bag already holds (juju/cachingHookTools.ts).
import type { ReconcilePublication, UpkeepPublication } from "../relations/publication.js";
import { ENDPOINTS, endpointNamed, relationHookOf } from "../relations/registry.js";
import { type HookContext, relationEventOf } from "./hookContext.js";

/** A hook of a classic relation leaves the certificates and cos-agent relations alone. */
export function isClassicHook(context: HookContext): boolean {
  const event = relationEventOf(context);
  return event !== undefined && endpointNamed(event.endpoint)?.classic === true;
}

/** After a reconcile: the CSR, then, with a live plan, what haproxy serves. */
export async function publishAfterReconcile(publication: ReconcilePublication): Promise<void> {
  for (const { publish } of ENDPOINTS) {
    if (publish?.after === "reconcile") await publish.run(publication);
  }
}

/**
 * After the upkeep: every monitoring relation after a hook that brings
 * everything in line with the configuration, else the hook's own endpoint.
 */
export async function publishAfterUpkeep(
  context: HookContext,
  everything: boolean,
  publication: Omit<UpkeepPublication, "ownRelationId">,
): Promise<void> {
  const hook = relationHookOf(context.hookName);
  const own = hook?.endpoint.hooks[hook.kind] === "upkeep" ? hook.endpoint : undefined;
  // The monitoring endpoints share one publisher: it runs once.
  const done = new Set<unknown>();
  for (const endpoint of ENDPOINTS) {
    const { publish } = endpoint;
    if (publish?.after !== "upkeep" || done.has(publish)) continue;
    const ownHook = own !== undefined && own.publish === publish;
    if (!everything && !ownHook) continue;
    done.add(publish);
    const ownRelationId = ownHook && endpoint === own ? context.relationId : undefined;
    await publish.run({ ...publication, ...(ownRelationId !== undefined && { ownRelationId }) });
  }
}
