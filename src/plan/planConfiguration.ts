// The pure heart of every hook: from everything the hook read to the
// haproxy configuration, the files it refers to and the ports to open.
import type { CharmConfig } from "../config/charmConfig.js";
import { ConfigError, ServiceConflictError, WaitingError } from "../lib/errors.js";
import type { HookInputs } from "../juju/hookInputs.js";
import { type SkippedUnit, collectServices } from "../relations/reverseproxy/collectServices.js";
import { InvalidField, checkLine } from "../model/fieldChecks.js";
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
import { pemBundleProblem } from "../lib/pemBundle.js";
import {
  type MonitoringCredentials,
  monitoringUserlist,
  prometheusExporterOptions,
} from "../model/prometheusExporter.js";
import { buildProxy, defaultCertificatePath } from "../model/proxyStanzas.js";
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
  /** A certificate for external_hostname is served on port 443. */
  readonly ingressTls: boolean;
  readonly externalHostname: string;
  /** Backend names from relation data whose addresses the hook must look up before serving them. */
  readonly unresolvedRelationHosts: readonly string[];
}

/** The certificates relation's certificate, chain and key, as haproxy loads it. */
export function relationCertificatePath(libDir: string): string {
  return `${libDir}/certificates-relation.pem`;
}

export const MONITORING_SERVICE = "haproxy_monitoring";

/**
 * `charmConfig`: the options the hook parsed from `inputs.config` at its edge.
 * `liveConfig`: the haproxy.cfg haproxy runs now, whose servers keep their `{i}`.
 */
export function planConfiguration(
  charmConfig: CharmConfig,
  inputs: HookInputs,
  paths: PlanPaths,
  liveConfig?: string,
): Plan {
  const configServices = parseConfigServices(charmConfig);
  const policy = new RelationPolicy({
    trusted: charmConfig.trust_relation_data,
    ownAddresses: [inputs.privateAddress, inputs.publicAddress],
    ...(inputs.resolvedHosts !== undefined && { resolvedHosts: inputs.resolvedHosts }),
  });
  const collection = collectServices(configServices, inputs.reverseproxy, policy);

  const hostname = externalHostname(charmConfig);
  const relationCertificate = hostname === "" ? undefined : inputs.relationCertificatePem;
  const certificateFile =
    relationCertificate === undefined ? undefined : relationCertificatePath(paths.haproxyLib);

  if (charmConfig.ssl_cert === "" && certificateFile === undefined) {
    assertNoDefaultCrts(configServices, inputs.awaitingCertificate === true ? hostname : undefined);
  }

  const monitoring = monitoringService(charmConfig, inputs);
  const reserved = new Map(monitoring ? [[monitoring.port, MONITORING_SERVICE]] : []);
  const defaults = buildDefaultsSection(charmConfig);
  const services = forwardForProxies(collection.services, inputs.website ?? [], defaults);
  const settled = settlePortClaims(
    assignHostPorts(services.map(completeService), charmConfig.monitoring_port),
    reserved,
  );

  const ingress = readIngressRequests(inputs.ingressApps ?? [], inputs.ingressUnits ?? [], policy);
  const routeContext = { externalHostname: hostname, tls: certificateFile !== undefined };
  const offers: RouteOffer[] = ingress.requests
    .filter((request) => request.units.length > 0)
    .map((request) => ({
      route: ingressRoute(request, routeContext),
      relationId: request.relationId,
      app: request.app,
    }));
  const withIngress = placeIngress(settled.services, offers, {
    ...(certificateFile !== undefined && { certificateFile }),
    defaultMode: defaults.mode,
  });
  const placement = { ...settled, services: withIngress.services };
  const routed = new Set(withIngress.routes.map((offer) => offer.relationId));

  const served =
    peeringMode(charmConfig) === "active-passive"
      ? applyActivePassive(placement.services, {
          ...inputs,
          floatingAddresses: floatingAddresses(charmConfig),
        })
      : placement.services;
  const listeners = [...(monitoring ? [monitoring] : []), ...served];
  assertDistinctPorts([
    ...listeners,
    ...(inputs.cosAgent ? [{ name: COS_AGENT_LISTENER_NAME, port: COS_AGENT_EXPORTER_PORT }] : []),
  ]);

  const context = {
    unitName: inputs.unitName,
    libDir: paths.haproxyLib,
    defaultMode: defaults.mode,
    // An operator's ssl_cert wins; without one, DEFAULT means the relation's certificate.
    ...(certificateFile !== undefined &&
      charmConfig.ssl_cert === "" && { defaultCertificate: certificateFile }),
    ...(liveConfig !== undefined && { liveServers: configuredServers(liveConfig) }),
  };
  const built = listeners.map((service) => buildProxy(service, context));

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
      proxies: [
        ...onceEachRouteBackend(
          built.map((proxy) => proxy.stanza),
          new Set(withIngress.routes.map((offer) => offer.route.name)),
        ),
        ...(inputs.cosAgent ? [exporterProxy()] : []),
      ],
    },
    files: [
      ...defaultCertificateFiles(charmConfig, inputs, paths.haproxyLib),
      ...(certificateFile !== undefined && relationCertificate !== undefined
        ? [{ path: certificateFile, content: relationCertificate, mode: 0o600, secret: true }]
        : []),
      ...built.flatMap((proxy) => proxy.files),
    ],
    ports: listeners.map((service) => service.port).sort((a, b) => a - b),
    ownServices: placement.services,
    services: served,
    serverCount: placement.services.reduce((sum, service) => sum + countServers(service), 0),
    skippedUnits: collection.skipped,
    displacedServices: placement.displaced,
    notes: charmConfig.global_debug
      ? ["global_debug is ignored: haproxy 2.5 and later have no `debug` keyword"]
      : [],
    ingress: ingress.requests.filter((request) => routed.has(request.relationId)),
    skippedApps: [...ingress.skipped, ...withIngress.skipped],
    ingressTls: certificateFile !== undefined,
    externalHostname: hostname,
    unresolvedRelationHosts: policy.unresolvedNames,
  };
}

// Without ssl_cert or the relation's certificate, DEFAULT names no file:
// say what is missing rather than let haproxy fail to load it.
function assertNoDefaultCrts(
  services: readonly ParsedService[],
  awaitedHostname: string | undefined,
): void {
  const needing = services.find((service) => service.crts?.some((crt) => crt.kind === "default"));
  if (needing === undefined) return;
  if (awaitedHostname !== undefined) {
    throw new WaitingError(
      `Waiting for a certificate for ${awaitedHostname} on the certificates relation`,
    );
  }
  throw new ConfigError(
    "services",
    `service ${needing.name} lists DEFAULT in crts, but there is no default certificate: ` +
      "set ssl_cert, or set external_hostname and relate a certificates provider",
  );
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

function defaultCertificateFiles(
  config: CharmConfig,
  inputs: HookInputs,
  libDir: string,
): ManagedFile[] {
  const pem = (content: string): ManagedFile[] => [
    { path: defaultCertificatePath(libDir), content, mode: 0o600, secret: true },
  ];
  if (config.ssl_cert === "") return [];
  if (config.ssl_cert === "SELFSIGNED")
    return inputs.selfSignedPem ? pem(inputs.selfSignedPem) : [];
  if (config.ssl_key === "") throw new ConfigError("ssl_key", "must be set when ssl_cert is set");
  const decode = (option: "ssl_cert" | "ssl_key") => {
    const text = config[option].trim();
    if (!/^[A-Za-z0-9+/=\s]+$/.test(text)) throw new ConfigError(option, "is not base64");
    const decoded = Buffer.from(text, "base64").toString("utf8");
    return decoded.endsWith("\n") ? decoded : `${decoded}\n`;
  };
  const bundle = decode("ssl_cert") + decode("ssl_key");
  switch (pemBundleProblem(bundle)) {
    case "certificate":
      throw new ConfigError("ssl_cert", "is not a base64-encoded PEM certificate");
    case "key":
      throw new ConfigError("ssl_key", "is not a base64-encoded, unencrypted PEM private key");
    case "mismatch":
      throw new ConfigError("ssl_key", "does not match the certificate in ssl_cert");
    case undefined:
      return pem(bundle);
  }
}

function monitoringCredentials(config: CharmConfig, inputs: HookInputs): MonitoringCredentials {
  const word = (option: "monitoring_username" | "monitoring_password", value: string) => {
    if (!/^[^\s#:"'\\]+$/.test(value)) {
      throw new ConfigError(option, "must be one word without spaces, quotes, '#', ':' or '\\'");
    }
    return value;
  };
  const username = word("monitoring_username", config.monitoring_username);
  const password = word(
    "monitoring_password",
    config.monitoring_password === "changeme"
      ? (inputs.generatedMonitoringPassword ?? config.monitoring_password)
      : config.monitoring_password,
  );
  return { username, password };
}

function monitoringService(config: CharmConfig, inputs: HookInputs): PlacedService | undefined {
  if (!config.enable_monitoring) return undefined;
  const { username, password } = monitoringCredentials(config, inputs);
  let cidrs: string;
  try {
    cidrs = checkLine(config.monitoring_allowed_cidr, "monitoring_allowed_cidr");
  } catch (error) {
    if (error instanceof InvalidField) throw new ConfigError(error.field, error.problem);
    throw error;
  }
  return {
    ...completeService({ name: MONITORING_SERVICE }),
    host: "0.0.0.0",
    port: config.monitoring_port,
    serviceOptions: [
      "mode http",
      `acl allowed_cidr src ${cidrs}`,
      "http-request deny unless allowed_cidr",
      ...(config.monitoring_prometheus ? prometheusExporterOptions() : []),
      "stats enable",
      "stats uri /",
      "stats realm Haproxy\\ Statistics",
      `stats auth ${username}:${password}`,
      `stats refresh ${config.monitoring_stats_refresh}`,
    ],
  };
}
