// Relation data haproxy writes after each change: its address and
// certificate for the units behind it, its services for its peers and for
// the front ends (apache2) before it. The hook tools leave out a relation-set
// of the values a bag already holds (juju/cachingHookTools.ts).
import type { CharmConfig } from "../config/charmConfig.js";
import type { HookInputs } from "../juju/hookInputs.js";
import type { HookTools } from "../juju/hookTools.js";
import type { RelationData } from "../juju/relationData.js";
import type { Plan } from "../plan/planConfiguration.js";
import {
  reverseproxySettings,
  servicesYaml,
  websiteEndpoint,
} from "../relations/reverseproxy/publishedSettings.js";
import { ingressPublications } from "../relations/ingress/ingressUrls.js";
import type { HookContext } from "./hookContext.js";
import { relationEventOf } from "./hookContext.js";
import type { CertificateRequestPublication } from "../relations/certificates/relationCertificate.js";
import { advertisedVip } from "../config/vipOption.js";

/** What a hook publishes beyond the classic relations and the ingress URLs. */
export interface PublishScope {
  /**
   * The certificates and cos-agent relations. Hooks of the classic relations
   * cannot change what they say, and leave them alone: a reverseproxy join
   * makes no more hook-tool calls than it did before they existed. Ingress
   * URLs are published by every hook: a classic service can take an ingress
   * route's name or port, and give it back.
   */
  readonly modern: boolean;
}

const CLASSIC_ENDPOINTS = new Set(["reverseproxy", "peer", "website"]);

export function publishScope(context: HookContext): PublishScope {
  const event = relationEventOf(context);
  return { modern: event === undefined || !CLASSIC_ENDPOINTS.has(event.endpoint) };
}

export async function publishCertificateRequest(
  tools: HookTools,
  request: CertificateRequestPublication,
): Promise<void> {
  await tools.relationSet(request.relationId, { certificate_signing_requests: request.value });
}

export async function publishToReverseproxy(
  tools: HookTools,
  config: CharmConfig,
  inputs: HookInputs,
  relationIds: readonly string[],
): Promise<void> {
  const settings = reverseproxySettings(
    config,
    advertisedVip(config) ?? inputs.publicAddress,
    inputs.selfSignedPem,
  );
  for (const relationId of relationIds) await tools.relationSet(relationId, settings);
}

export async function publishAll(
  tools: HookTools,
  relations: RelationData,
  inputs: HookInputs,
  plan: Plan,
  scope: PublishScope = { modern: true },
): Promise<void> {
  // Unchanged URLs cost nothing (the hook tools skip the relation-set);
  // is-leader is asked only while an ingress relation exists.
  await publishIngressUrls(tools, relations, inputs, plan);
  if (scope.modern) await publishCosAgent(tools, relations, inputs);
  await publishToReverseproxy(
    tools,
    plan.charmConfig,
    inputs,
    await relations.relationIds("reverseproxy"),
  );

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
      ...websiteEndpoint(
        plan.services,
        requested,
        advertisedVip(plan.charmConfig) ?? inputs.privateAddress,
      ),
      all_services: servedServices,
    });
  }
}

/**
 * Each unit's `config` for its cos-agent subordinate: the scrape job, alert
 * rules and dashboard. The hook tools skip it when it is what was last set.
 */
async function publishCosAgent(
  tools: HookTools,
  relations: RelationData,
  inputs: HookInputs,
): Promise<void> {
  const relationIds = await relations.relationIds("cos-agent");
  if (relationIds.length === 0) return;
  const { cosAgentDocument } = await import("../relations/cosAgent/cosAgentDocument.js");
  const document = cosAgentDocument(inputs);
  for (const relationId of relationIds) await tools.relationSet(relationId, { config: document });
}

/** The leader tells each ingress application its URL (or clears it). */
async function publishIngressUrls(
  tools: HookTools,
  relations: RelationData,
  inputs: HookInputs,
  plan: Plan,
): Promise<void> {
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
