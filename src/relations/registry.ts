// Every endpoint of metadata.yaml: what each of its hooks does, how its
// relation data is read, and what the charm publishes on it. A relation is a
// folder under src/relations/ plus one entry here. Publishers load on demand
// (dynamic import): a hook with nothing to do loads none of them, nor the
// model they depend on. The entries' order is the order of reading and of
// publication.
import type { CharmConfig } from "../config/charmConfig.js";
import type { HookInputs } from "../juju/hookInputs.js";
import type { HookTools } from "../juju/hookTools.js";
import type { RelationData } from "../juju/relationData.js";
import type { ReconcilePublication, UpkeepPublication } from "./publication.js";

export type RelationHookKind = "created" | "joined" | "changed" | "departed" | "broken";

/**
 * - `reconcile`: what haproxy serves may change; reconcile, publish, upkeep.
 * - `upkeep`: the upkeep writes this endpoint's data, which needs the
 *   configuration a reconcile checks: reconcile, then upkeep.
 * - `publish`: the endpoint's own data only, without a reconcile.
 * - `quiet`: nothing to do but bring a stopped haproxy back.
 */
export type HookHandling = "reconcile" | "upkeep" | "publish" | "quiet";

/** The relation data a reconcile reads, beside config and addresses. */
export type RelationInputs = Pick<
  HookInputs,
  | "reverseproxy"
  | "peers"
  | "website"
  | "ingressApps"
  | "ingressUnits"
  | "ingressPerUnitUnits"
  | "haproxyRouteApps"
  | "haproxyRouteUnits"
  | "haproxyRouteTcpApps"
  | "haproxyRouteTcpUnits"
  | "cosAgent"
  | "receivedCaApps"
  | "receivedCaUnits"
>;

export type Publisher =
  | { readonly after: "reconcile"; readonly run: (p: ReconcilePublication) => Promise<void> }
  | { readonly after: "upkeep"; readonly run: (p: UpkeepPublication) => Promise<void> };

export interface Endpoint {
  /** As in metadata.yaml. */
  readonly name: string;
  readonly hooks: Readonly<Record<RelationHookKind, HookHandling>>;
  /** One of the old charm's relations whose hooks leave certificates and cos-agent alone. */
  readonly classic?: boolean;
  readonly read?: (relations: RelationData) => Promise<Partial<RelationInputs>>;
  readonly publish?: Publisher;
  /** What a `publish` hook writes: on the hook's relation, from config and addresses. */
  readonly publishAlone?: (
    tools: HookTools,
    config: CharmConfig,
    inputs: HookInputs,
    relationId: string | undefined,
  ) => Promise<void>;
}

const RECONCILED = {
  created: "quiet",
  joined: "reconcile",
  changed: "reconcile",
  departed: "reconcile",
  broken: "reconcile",
} as const;

/** The monitoring relations: written by the upkeep on join and change. */
const MONITORING = {
  created: "quiet",
  joined: "upkeep",
  changed: "upkeep",
  departed: "quiet",
  broken: "quiet",
} as const;

const QUIET = {
  created: "quiet",
  joined: "quiet",
  changed: "quiet",
  departed: "quiet",
  broken: "quiet",
} as const;

const publishMonitors: Publisher = {
  after: "upkeep",
  run: async (p) => (await import("./monitors/publishMonitors.js")).publishMonitors(p),
};

export const ENDPOINTS: readonly Endpoint[] = [
  {
    name: "certificates",
    hooks: RECONCILED,
    publish: {
      after: "reconcile",
      run: async (p) =>
        (await import("./certificates/publishCertificateRequest.js")).publishCertificateRequest(p),
    },
  },
  {
    name: "ingress",
    hooks: RECONCILED,
    read: async (relations) => {
      const [ingressApps, ingressUnits] = await Promise.all([
        relations.apps("ingress"),
        relations.units("ingress"),
      ]);
      return { ingressApps, ingressUnits };
    },
    publish: {
      after: "reconcile",
      run: async (p) => (await import("./ingress/publishIngressUrls.js")).publishIngressUrls(p),
    },
  },
  {
    name: "ingress-per-unit",
    hooks: RECONCILED,
    read: async (relations) => ({
      ingressPerUnitUnits: await relations.units("ingress-per-unit"),
    }),
    publish: {
      after: "reconcile",
      run: async (p) => (await import("./ingressPerUnit/publishUnitUrls.js")).publishUnitUrls(p),
    },
  },
  {
    name: "haproxy-route",
    hooks: RECONCILED,
    read: async (relations) => {
      const [haproxyRouteApps, haproxyRouteUnits] = await Promise.all([
        relations.apps("haproxy-route"),
        relations.units("haproxy-route"),
      ]);
      return { haproxyRouteApps, haproxyRouteUnits };
    },
    publish: {
      after: "reconcile",
      run: async (p) =>
        (await import("./haproxyRoute/publishRouteEndpoints.js")).publishRouteEndpoints(p),
    },
  },
  {
    name: "haproxy-route-tcp",
    hooks: RECONCILED,
    read: async (relations) => {
      const [haproxyRouteTcpApps, haproxyRouteTcpUnits] = await Promise.all([
        relations.apps("haproxy-route-tcp"),
        relations.units("haproxy-route-tcp"),
      ]);
      return { haproxyRouteTcpApps, haproxyRouteTcpUnits };
    },
    publish: {
      after: "reconcile",
      run: async (p) =>
        (await import("./haproxyRouteTcp/publishTcpEndpoints.js")).publishTcpEndpoints(p),
    },
  },
  {
    name: "cos-agent",
    hooks: RECONCILED,
    read: async (relations) => ({
      cosAgent: (await relations.relationIds("cos-agent")).length > 0,
    }),
    publish: {
      after: "reconcile",
      run: async (p) => (await import("./cosAgent/publishCosAgent.js")).publishCosAgent(p),
    },
  },
  {
    name: "receive-ca-certs",
    // The CAs that HTTPS backends are verified against come and go with the relation.
    hooks: RECONCILED,
    read: async (relations) => {
      const [receivedCaApps, receivedCaUnits] = await Promise.all([
        relations.apps("receive-ca-certs"),
        relations.units("receive-ca-certs"),
      ]);
      return { receivedCaApps, receivedCaUnits };
    },
    publish: {
      after: "reconcile",
      run: async (p) =>
        (await import("./receiveCaCerts/publishRequirerVersion.js")).publishRequirerVersion(p),
    },
  },
  {
    name: "reverseproxy",
    // A joining unit needs haproxy's address and certificate, not a new plan:
    // its servers arrive with its relation-changed.
    hooks: { ...RECONCILED, joined: "publish" },
    classic: true,
    read: async (relations) => ({ reverseproxy: await relations.units("reverseproxy") }),
    publish: {
      after: "reconcile",
      run: async (p) =>
        (await import("./reverseproxy/publishReverseproxy.js")).publishReverseproxy(p),
    },
    publishAlone: async (tools, config, inputs, relationId) =>
      (await import("./reverseproxy/publishReverseproxy.js")).publishToReverseproxy(
        tools,
        config,
        inputs,
        relationId ? [relationId] : [],
      ),
  },
  {
    name: "peer",
    hooks: RECONCILED,
    classic: true,
    read: async (relations) => ({ peers: await relations.units("peer") }),
    publish: {
      after: "reconcile",
      run: async (p) => (await import("./peer/publishPeerServices.js")).publishPeerServices(p),
    },
  },
  {
    name: "website",
    // A proxy front end that leaves takes its `option forwardfor` with it.
    hooks: RECONCILED,
    classic: true,
    read: async (relations) => ({ website: await relations.units("website") }),
    publish: {
      after: "reconcile",
      run: async (p) => (await import("./website/publishWebsite.js")).publishWebsite(p),
    },
  },
  {
    name: "statistics",
    hooks: MONITORING,
    publish: {
      after: "upkeep",
      run: async (p) => (await import("./statistics/publishStatistics.js")).publishStatistics(p),
    },
  },
  { name: "nrpe-external-master", hooks: MONITORING, publish: publishMonitors },
  { name: "local-monitors", hooks: MONITORING, publish: publishMonitors },
  // Nothing to do for munin (yet).
  { name: "munin", hooks: QUIET },
];

const RELATION_HOOK = /^(.+)-relation-(created|joined|changed|departed|broken)$/;

/** The endpoint and kind of a relation hook's name; undefined for other hooks. */
export function relationHookOf(
  hookName: string,
): { endpoint: Endpoint; kind: RelationHookKind } | undefined {
  const match = RELATION_HOOK.exec(hookName);
  if (match === null) return undefined;
  const endpoint = endpointNamed(match[1] as string);
  return endpoint && { endpoint, kind: match[2] as RelationHookKind };
}

/** What a relation hook does; undefined for other hooks and unknown endpoints. */
export function relationHookHandling(hookName: string): HookHandling | undefined {
  const hook = relationHookOf(hookName);
  return hook && hook.endpoint.hooks[hook.kind];
}

export function endpointNamed(name: string): Endpoint | undefined {
  return ENDPOINTS.find((endpoint) => endpoint.name === name);
}
