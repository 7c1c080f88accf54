// The pure heart of every hook: from everything the hook read to the
// haproxy configuration, the files it refers to and the ports to open.
import type { CharmConfig } from "../config/charmConfig.js";
import { ConfigError, ServiceConflictError } from "../lib/errors.js";
import type { HookInputs } from "../juju/hookInputs.js";
import { type SkippedUnit, collectServices } from "../relations/reverseproxy/collectServices.js";
import { InvalidField } from "../model/fieldChecks.js";
import {
  buildDefaultsSection,
  buildGlobalSection,
  parseUserlists,
} from "../model/globalSections.js";
import { type ParsedService, parseServicesYaml } from "../model/parseServices.js";
import { type PeeringMode, applyActivePassive } from "../relations/peer/peering.js";
import { floatingAddresses } from "../config/vipOption.js";
import { forwardForProxies } from "../relations/website/proxyFrontEnds.js";
import {
  assignHostPorts,
  completeService,
  countServers,
  settlePortClaims,
} from "../model/placeServices.js";
import { monitoringUserlist } from "../model/prometheusExporter.js";
import { crtListText, hostnameCrtListPath } from "../model/hostnameCrtList.js";
import { buildProxy } from "../model/proxyStanzas.js";
import { backendCaBundle } from "./backendCaFile.js";
import {
  assertNoDefaultCrts,
  defaultCertificateFiles,
  hostnameCertificatePath,
  relationCertificatePath,
} from "./defaultCertificate.js";
import { routeHaproxyRoutes } from "./haproxyRoutes.js";
import { routeHaproxyRouteTcp } from "./haproxyRouteTcpStep.js";
import { routeIngressPerUnit } from "./ingressPerUnitStep.js";
import type { UnitPlacement } from "../relations/ingressPerUnit/unitPlacement.js";
import { relationPolicyOf } from "./relationPolicyOf.js";
import { peersSection } from "../relations/peer/peersSection.js";
import {
  MONITORING_SERVICE,
  monitoringCredentials,
  monitoringService,
} from "./monitoringListener.js";
import { RelationPolicy } from "../model/relationPolicy.js";
import { configuredServers } from "../model/serverDelta.js";
import type { HaproxyConfig, ManagedFile, PlacedService, ProxyStanza } from "../model/types.js";
import { externalHostname } from "../config/externalHostname.js";
import {
  type IngressRequest,
  type SkippedApp,
  readIngressRequests,
} from "../relations/ingress/ingressRequirers.js";
import { type RouteOffer, placeIngress } from "../relations/ingress/ingressPlacement.js";
import { ingressRoute } from "../relations/ingress/ingressRoutes.js";
import type {
  HaproxyRouteTcpRequest,
  SkippedTcpApp,
} from "../relations/haproxyRouteTcp/haproxyRouteTcpRequest.js";
import type {
  HaproxyRouteRequest,
  SkippedRouteApp,
} from "../relations/haproxyRoute/haproxyRouteRequest.js";
import {
  COS_AGENT_EXPORTER_PORT,
  COS_AGENT_LISTENER_NAME,
  exporterListener,
} from "../relations/cosAgent/exporterListener.js";

export interface PlanPaths {
  readonly haproxyLib: string;
  readonly haproxyRun: string;
}

export interface Plan {
  readonly charmConfig: CharmConfig;
  readonly config: HaproxyConfig;
  /** Files haproxy.cfg refers to; written and checked before it goes live. */
  readonly files: readonly ManagedFile[];
  /** TCP ports haproxy listens on, to open in Juju. */
  readonly ports: readonly number[];
  /** This unit's services before peering: what it tells its peers it serves. */
  readonly ownServices: readonly PlacedService[];
  /** The services as haproxy serves them, peering indirection included. */
  readonly services: readonly PlacedService[];
  readonly serverCount: number;
  readonly skippedUnits: readonly SkippedUnit[];
  /** Empty services that gave their port to a service with servers. */
  readonly displacedServices: readonly string[];
  /** Options accepted but not acted on, for the log. */
  readonly notes: readonly string[];
  /** Ingress applications served (routes in haproxy.cfg), for the URLs the leader publishes. */
  readonly ingress: readonly IngressRequest[];
  /** Ingress applications left out, and why. */
  readonly skippedApps: readonly SkippedApp[];
  /** ingress-per-unit units served (for the URLs the leader publishes) and left out. */
  readonly ingressPerUnit: UnitPlacement;
  /** haproxy-route applications served, for the endpoints the leader publishes. */
  readonly haproxyRoutes: readonly HaproxyRouteRequest[];
  /** haproxy-route applications left out, and why. */
  readonly skippedRouteApps: readonly SkippedRouteApp[];
  /** haproxy-route-tcp applications served, for the endpoints the leader publishes. */
  readonly tcpRoutes: readonly HaproxyRouteTcpRequest[];
  /** haproxy-route-tcp applications left out, and why. */
  readonly skippedTcpApps: readonly SkippedTcpApp[];
  /** Hostnames of served haproxy-route applications whose certificate has not arrived yet. */
  readonly awaitingRouteCertificates: readonly string[];
  /** A certificate for external_hostname is served on port 443. */
  readonly ingressTls: boolean;
  readonly externalHostname: string;
  /** Backend names from relation data whose addresses the hook must look up before serving them. */
  readonly unresolvedRelationHosts: readonly string[];
  /** The CAs received on receive-ca-certs, for `ca-file`; absent while there are none. */
  readonly backendCaFile?: string;
}

/**
 * `charmConfig`: the options the hook parsed from `inputs.config` at its edge.
 * `liveConfig`: the haproxy.cfg haproxy runs now, whose servers keep their `{i}`.
 * The steps run in this order so that, of several problems, the same one is
 * always reported first.
 */
export function planConfiguration(
  charmConfig: CharmConfig,
  inputs: HookInputs,
  paths: PlanPaths,
  liveConfig?: string,
): Plan {
  const configServices = parseConfigServices(charmConfig);
  const policy = relationPolicyOf(charmConfig, inputs);
  const collection = collectServices(configServices, inputs.reverseproxy, policy);
  const certificate = relationCertificateOf(charmConfig, inputs, paths, configServices);
  const backendCas = backendCaBundle(inputs, paths.haproxyLib);
  const monitoring = monitoringService(charmConfig, inputs);
  const defaults = buildDefaultsSection(charmConfig);
  const classic = placeClassicServices(charmConfig, inputs, collection.services, defaults, {
    monitoring,
  });
  const ingress = routeIngress(inputs, policy, classic.services, {
    certificate,
    defaultMode: defaults.mode,
    hsts: charmConfig.enable_hsts,
  });
  const perUnit = routeIngressPerUnit(charmConfig, inputs, policy, ingress.placed.services, {
    externalHostname: certificate.hostname,
    ...(certificate.file !== undefined && { certificateFile: certificate.file }),
    defaultMode: defaults.mode,
    reservedPorts: new Map([
      ...(monitoring ? [[monitoring.port, monitoring.name] as const] : []),
      ...(inputs.cosAgent ? [[COS_AGENT_EXPORTER_PORT, COS_AGENT_LISTENER_NAME] as const] : []),
    ]),
  });
  const hostnameCertificates = hostnameCertificateFiles(inputs, paths.haproxyLib);
  const routes = routeHaproxyRoutes(charmConfig, inputs, policy, perUnit.services, {
    libDir: paths.haproxyLib,
    externalHostname: certificate.hostname,
    certificates: [
      ...(certificate.file !== undefined
        ? [{ kind: "file" as const, path: certificate.file }]
        : []),
      ...hostnameCertificates
        .filter((file) => file.path === hostnameCrtListPath(paths.haproxyLib))
        .map((file) => ({ kind: "crt-list" as const, path: file.path })),
    ],
    ...(backendCas.file !== undefined && { caFile: backendCas.file.path }),
    defaultMode: defaults.mode,
    hostnameCertificateFiles: certificateFileByHostname(inputs, certificate, paths.haproxyLib),
    reservedPorts: new Map([
      ...(monitoring ? [[monitoring.port, monitoring.name] as const] : []),
      ...(inputs.cosAgent ? [[COS_AGENT_EXPORTER_PORT, COS_AGENT_LISTENER_NAME] as const] : []),
    ]),
    ...(monitoring !== undefined && { reservedServices: [monitoring] }),
  });
  const certificateFiles = certificateFileByHostname(inputs, certificate, paths.haproxyLib);
  // TCP routes are served by every unit alike (no active-passive indirection): they take
  // no port the HTTP side holds, peering's port+1 included.
  const peeredHttp = withPeering(charmConfig, inputs, routes.services);
  const tcp = routeHaproxyRouteTcp(charmConfig, inputs, policy, {
    heldPorts: new Map([
      ...peeredHttp.map((service) => [service.port, service.name] as const),
      ...(monitoring ? [[monitoring.port, monitoring.name] as const] : []),
      ...(inputs.cosAgent ? [[COS_AGENT_EXPORTER_PORT, COS_AGENT_LISTENER_NAME] as const] : []),
      ...(routes.sharesTables ? [[charmConfig.peers_port, "peers (peers_port)"] as const] : []),
    ]),
    certificateFileByHostname: certificateFiles,
    allCertificateFiles: [...new Set(certificateFiles.values())],
  });
  const peers =
    routes.sharesTables || tcp.sharesTables
      ? peersSection(
          inputs.unitName,
          inputs.privateAddress,
          inputs.peers,
          charmConfig.peers_port,
          policy,
        )
      : undefined;
  const placement = { ...classic, services: [...routes.services, ...tcp.services] };
  const served = [...peeredHttp, ...tcp.services];
  const listeners = [...(monitoring ? [monitoring] : []), ...served];
  assertDistinctPorts([
    ...listeners,
    ...(inputs.cosAgent ? [{ name: COS_AGENT_LISTENER_NAME, port: COS_AGENT_EXPORTER_PORT }] : []),
    ...(peers ? [{ name: "peers (peers_port)", port: charmConfig.peers_port }] : []),
  ]);
  const built = listeners.map((service) =>
    buildProxy(service, {
      unitName: inputs.unitName,
      libDir: paths.haproxyLib,
      defaultMode: defaults.mode,
      // An operator's ssl_cert wins; without one, DEFAULT means the relation's certificate.
      ...(certificate.file !== undefined &&
        charmConfig.ssl_cert === "" && { defaultCertificate: certificate.file }),
      ...(liveConfig !== undefined && { liveServers: configuredServers(liveConfig) }),
    }),
  );

  return {
    charmConfig,
    config: {
      global: buildGlobalSection(charmConfig, paths.haproxyRun),
      defaults,
      userlists: [
        ...parseUserlists(charmConfig.userlists),
        ...(monitoring && charmConfig.monitoring_prometheus
          ? [monitoringUserlist(monitoringCredentials(charmConfig, inputs))]
          : []),
      ],
      ...(peers !== undefined && { peers: peers.section }),
      proxies: [
        ...onceEachRouteBackend(
          built.map((proxy) => proxy.stanza),
          new Set([
            ...ingress.placed.routes.map((offer) => offer.route.name),
            ...perUnit.routeNames,
            ...routes.served.map((request) => request.service),
          ]),
        ),
        ...(inputs.cosAgent ? [exporterProxy()] : []),
      ],
    },
    files: [
      ...defaultCertificateFiles(charmConfig, inputs, paths.haproxyLib),
      ...(certificate.file !== undefined && certificate.pem !== undefined
        ? [{ path: certificate.file, content: certificate.pem, mode: 0o600, secret: true }]
        : []),
      ...hostnameCertificates,
      ...routes.files,
      ...built.flatMap((proxy) => proxy.files),
      ...(backendCas.file !== undefined ? [backendCas.file] : []),
    ],
    ports: listeners.flatMap(listenPorts).sort((a, b) => a - b),
    ownServices: placement.services,
    services: served,
    serverCount: placement.services.reduce((sum, service) => sum + countServers(service), 0),
    skippedUnits: collection.skipped,
    displacedServices: placement.displaced,
    notes: [
      ...(charmConfig.global_debug
        ? ["global_debug is ignored: haproxy 2.5 and later have no `debug` keyword"]
        : []),
      ...backendCas.warnings,
      ...routes.notes,
      ...tcp.notes,
      ...(peers?.warnings ?? []),
    ],
    ingress: ingress.served,
    skippedApps: ingress.skipped,
    ingressPerUnit: perUnit,
    haproxyRoutes: routes.served,
    skippedRouteApps: routes.skipped,
    tcpRoutes: tcp.served,
    skippedTcpApps: tcp.skipped,
    awaitingRouteCertificates: (inputs.awaitingHostnames ?? []).filter((hostname) =>
      routes.served.some((request) => request.hostnames.includes(hostname)),
    ),
    ingressTls: certificate.file !== undefined,
    externalHostname: certificate.hostname,
    unresolvedRelationHosts: policy.unresolvedNames,
    ...(backendCas.file !== undefined && { backendCaFile: backendCas.file.path }),
  };
}

/**
 * The certificates relation's certificate of each haproxy-route hostname that
 * has one, and the crt-list naming them (none without a certificate: haproxy
 * refuses an empty one).
 */
function hostnameCertificateFiles(inputs: HookInputs, libDir: string): ManagedFile[] {
  const certificates = Object.entries(inputs.hostnameCertificates ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([hostname, pem]) => ({
      path: hostnameCertificatePath(libDir, hostname),
      content: pem,
      mode: 0o600,
      secret: true,
    }));
  if (certificates.length === 0) return [];
  const crtList: ManagedFile = {
    path: hostnameCrtListPath(libDir),
    content: crtListText(certificates.map((file) => file.path)),
    mode: 0o644,
    secret: false,
  };
  return [...certificates, crtList];
}

/**
 * Where each hostname's certificate is, for the listeners that serve one
 * application's hostnames only (gRPC): the hostname's own, else
 * external_hostname's for that hostname.
 */
/** Every port a listener binds: a TCP route may listen on a range. */
function listenPorts(service: PlacedService): number[] {
  const last = service.lastPort ?? service.port;
  return Array.from({ length: last - service.port + 1 }, (_, i) => service.port + i);
}

function certificateFileByHostname(
  inputs: HookInputs,
  certificate: RelationCertificate,
  libDir: string,
): Map<string, string> {
  const files = new Map(
    Object.keys(inputs.hostnameCertificates ?? {}).map((hostname) => [
      hostname,
      hostnameCertificatePath(libDir, hostname),
    ]),
  );
  if (
    certificate.file !== undefined &&
    certificate.hostname !== "" &&
    !files.has(certificate.hostname)
  ) {
    files.set(certificate.hostname, certificate.file);
  }
  return files;
}

interface RelationCertificate {
  /** external_hostname, or "" without one. */
  readonly hostname: string;
  readonly pem?: string;
  /** Where haproxy loads it; absent until it has arrived. */
  readonly file?: string;
}

/** The certificates relation's certificate for external_hostname, once it has arrived. */
function relationCertificateOf(
  config: CharmConfig,
  inputs: HookInputs,
  paths: PlanPaths,
  configServices: readonly ParsedService[],
): RelationCertificate {
  const hostname = externalHostname(config);
  const pem = hostname === "" ? undefined : inputs.relationCertificatePem;
  const file = pem === undefined ? undefined : relationCertificatePath(paths.haproxyLib);
  if (config.ssl_cert === "" && file === undefined) {
    assertNoDefaultCrts(configServices, inputs.awaitingCertificate === true ? hostname : undefined);
  }
  return { hostname, ...(pem !== undefined && { pem }), ...(file !== undefined && { file }) };
}

/** The classic services (config and reverseproxy) with their front ends' options, on their ports. */
function placeClassicServices(
  config: CharmConfig,
  inputs: HookInputs,
  services: readonly ParsedService[],
  defaults: ReturnType<typeof buildDefaultsSection>,
  { monitoring }: { monitoring: PlacedService | undefined },
): ReturnType<typeof settlePortClaims> {
  const reserved = new Map(monitoring ? [[monitoring.port, MONITORING_SERVICE]] : []);
  const forwarded = forwardForProxies(services, inputs.website ?? [], defaults);
  return settlePortClaims(
    assignHostPorts(forwarded.map(completeService), config.monitoring_port),
    reserved,
  );
}

/** Ingress routes placed beside the classic services; which applications are served, which not. */
function routeIngress(
  inputs: HookInputs,
  policy: RelationPolicy,
  services: readonly PlacedService[],
  context: { certificate: RelationCertificate; defaultMode: string; hsts: boolean },
): {
  placed: ReturnType<typeof placeIngress>;
  served: IngressRequest[];
  skipped: SkippedApp[];
} {
  const { certificate } = context;
  const ingress = readIngressRequests(inputs.ingressApps ?? [], inputs.ingressUnits ?? [], policy);
  const routeContext = {
    externalHostname: certificate.hostname,
    tls: certificate.file !== undefined,
    hsts: context.hsts,
  };
  const offers: RouteOffer[] = ingress.requests
    .filter((request) => request.units.length > 0)
    .map((request) => ({
      route: ingressRoute(request, routeContext),
      relationId: request.relationId,
      app: request.app,
    }));
  const placed = placeIngress(services, offers, {
    ...(certificate.file !== undefined && { certificateFile: certificate.file }),
    defaultMode: context.defaultMode,
  });
  const routed = new Set(placed.routes.map((offer) => offer.relationId));
  return {
    placed,
    served: ingress.requests.filter((request) => routed.has(request.relationId)),
    skipped: [...ingress.skipped, ...placed.skipped],
  };
}

/** The services as haproxy serves them: active-passive sends each to the peer holding it. */
function withPeering(
  config: CharmConfig,
  inputs: HookInputs,
  services: readonly PlacedService[],
): readonly PlacedService[] {
  if (peeringMode(config) !== "active-passive") return services;
  return applyActivePassive(services, { ...inputs, floatingAddresses: floatingAddresses(config) });
}

// A route is served on 80 and on 443 by one backend, written once.
function onceEachRouteBackend(
  proxies: readonly ProxyStanza[],
  routeNames: ReadonlySet<string>,
): ProxyStanza[] {
  const written = new Set<string>();
  return proxies.map((proxy) => ({
    ...proxy,
    backends: proxy.backends.filter((backend) => {
      if (!routeNames.has(backend.name)) return true;
      if (written.has(backend.name)) return false;
      written.add(backend.name);
      return true;
    }),
  }));
}

function peeringMode(config: CharmConfig): PeeringMode {
  const mode = config.peering_mode;
  if (mode !== "active-passive" && mode !== "active-active") {
    throw new ConfigError(
      "peering_mode",
      `must be active-passive or active-active, not ${JSON.stringify(mode)}`,
    );
  }
  return mode;
}

// The cos-agent subordinate scrapes this loopback listener; it opens no Juju port.
function exporterProxy(): ProxyStanza {
  const listener = exporterListener();
  return {
    frontend: { name: listener.name, bind: listener.bind, options: listener.options },
    backends: [],
  };
}

// Peering moves services one port up, where another service may already be.
function assertDistinctPorts(
  services: readonly { readonly name: string; readonly port: number }[],
): void {
  const byPort = new Map<number, string>();
  for (const service of services) {
    const other = byPort.get(service.port);
    if (other !== undefined) throw new ServiceConflictError(service.port, [other, service.name]);
    byPort.set(service.port, service.name);
  }
}

function parseConfigServices(config: CharmConfig): ParsedService[] {
  try {
    return parseServicesYaml(config.services, "services");
  } catch (error) {
    if (error instanceof InvalidField) throw new ConfigError("services", error.message);
    throw error;
  }
}
