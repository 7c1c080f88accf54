// haproxy-route-tcp requests as haproxy listeners: one frontend (mode tcp)
// per listen port or port range, and one backend per request.
//
// A port of one route without an SNI sends every connection to it. Routes
// that name an SNI are routed by it, and may share their port: passthrough
// routes read the SNI from the client's hello (`req.ssl_sni`) and leave TLS
// to the servers; terminating routes bind the SNIs' certificates and read
// the SNI of the handshake haproxy made (`ssl_fc_sni`). One bind either
// terminates TLS or does not, so a port takes routes of one kind only.
import { completeService } from "../../model/placeServices.js";
import type { PlacedService, RouteBackendSpec } from "../../model/types.js";
import type { HaproxyRouteTcpRequest, SkippedTcpApp } from "./haproxyRouteTcpRequest.js";
import { UnwritableCheckValue, clientRules, tcpBackend, tcpBackendName } from "./tcpBackend.js";

export interface TcpRouteContext {
  /** The certificate file of each SNI that has one (for tls_terminate). */
  readonly certificateFiles: ReadonlyMap<string, string> | ((sni: string) => string | undefined);
  /** The name of haproxy's `peers` section when the units share stick tables. */
  readonly peersSection?: string;
  /** haproxy can limit bandwidth (haproxy 2.7 and later). */
  readonly bandwidthLimits: boolean;
  /** Ports other listeners hold (services, monitoring, peers, HTTP routes), by port: what holds it. */
  readonly heldPorts?: ReadonlyMap<number, string>;
  /**
   * Every certificate the unit serves (external_hostname's, each hostname's):
   * what a route that terminates TLS without an SNI offers, the client
   * picking by the name it asks for, as Canonical's charm does.
   */
  readonly allCertificateFiles?: readonly string[];
}

export interface TcpRouteServices {
  /** One listener a port (or range), by first port. */
  readonly services: readonly PlacedService[];
  /** Accepted but not (yet) served in full, for the log. */
  readonly notes: readonly string[];
  /** Requests left out whole: their ports clash, or they cannot share theirs. */
  readonly skipped: readonly SkippedTcpApp[];
}

/** The listener's name: `tcp_<port>`, or `tcp_<first>-<last>` for a range. */
export function tcpListenerName(listen: readonly [number, number]): string {
  return listen[0] === listen[1] ? `tcp_${listen[0]}` : `tcp_${listen[0]}-${listen[1]}`;
}

/** The listeners of every request that can be served, with what was left out and why. */
export function tcpRouteServices(
  requests: readonly HaproxyRouteTcpRequest[],
  context: TcpRouteContext,
): TcpRouteServices {
  const skipped: SkippedTcpApp[] = [];
  const skip = (request: HaproxyRouteTcpRequest, reason: string) =>
    skipped.push({ relationId: request.relationId, app: request.app, reason, invalid: true });
  const notes: string[] = [];
  const services: PlacedService[] = [];
  for (const group of portGroups(requests, context.heldPorts ?? new Map(), skip)) {
    const built = listener(group, context, skip);
    notes.push(...built.notes);
    if (built.service !== undefined) services.push(built.service);
  }
  services.sort((a, b) => a.port - b.port);
  return { services, notes, skipped };
}

interface PortGroup {
  readonly listen: readonly [number, number];
  readonly requests: HaproxyRouteTcpRequest[];
}

const rangeText = ([first, last]: readonly [number, number]) =>
  first === last ? `${first}` : `${first}-${last}`;

/**
 * Requests by listen range, in the order given: a request whose ports are
 * held by another listener, or overlap another request's range without
 * being the same range, is left out (the first to claim a port keeps it).
 */
function portGroups(
  requests: readonly HaproxyRouteTcpRequest[],
  heldPorts: ReadonlyMap<number, string>,
  skip: (request: HaproxyRouteTcpRequest, reason: string) => void,
): PortGroup[] {
  const groups: PortGroup[] = [];
  for (const request of requests) {
    const [first, last] = request.ports.listen;
    const held = [...heldPorts].find(([port]) => port >= first && port <= last);
    if (held !== undefined) {
      skip(request, `port ${held[0]} is already served by ${held[1]}`);
      continue;
    }
    const same = groups.find((group) => group.listen[0] === first && group.listen[1] === last);
    if (same !== undefined) {
      same.requests.push(request);
      continue;
    }
    const overlapping = groups.find((group) => group.listen[0] <= last && first <= group.listen[1]);
    if (overlapping !== undefined) {
      skip(
        request,
        `ports ${rangeText(request.ports.listen)} overlap ports ${rangeText(overlapping.listen)} of ${overlapping.requests.map((r) => r.app).join(", ")}`,
      );
      continue;
    }
    groups.push({ listen: request.ports.listen, requests: [request] });
  }
  return groups;
}

interface Listener {
  readonly service?: PlacedService;
  readonly notes: readonly string[];
}

function listener(
  group: PortGroup,
  context: TcpRouteContext,
  skip: (request: HaproxyRouteTcpRequest, reason: string) => void,
): Listener {
  const [first] = group.requests;
  if (first === undefined) return { notes: [] };
  if (group.requests.length === 1 && first.sni === undefined) {
    return ownPort(first, group.listen, context, skip);
  }
  // Shared (or SNI-routed) port: every route names an SNI, once, and all
  // routes terminate TLS or none does: the first route with an SNI decides.
  const decider = group.requests.find((request) => request.sni !== undefined) ?? first;
  const routedSnis = new Map<string, string>();
  const routed = group.requests.filter((request) => {
    const reason = sharingProblem(request, group, decider, routedSnis);
    if (reason !== undefined) {
      skip(request, reason);
      return false;
    }
    routedSnis.set((request.sni as string).toLowerCase(), request.app);
    return true;
  });
  if (routed.length === 0) return { notes: [] };
  return sniPort(routed, group.listen, context, skip);
}

/** Why `request` cannot take its place on a shared port, or undefined when it can. */
function sharingProblem(
  request: HaproxyRouteTcpRequest,
  group: PortGroup,
  decider: HaproxyRouteTcpRequest,
  routedSnis: ReadonlyMap<string, string>,
): string | undefined {
  const ports = rangeText(group.listen);
  if (request.sni === undefined) {
    return `port ${ports} is shared with ${others(group, request)}: each route on it needs an sni`;
  }
  const holder = routedSnis.get(request.sni.toLowerCase());
  if (holder !== undefined)
    return `sni ${request.sni} on port ${ports} is already routed to ${holder}`;
  if (request.tlsTerminate !== decider.tlsTerminate) {
    const what = decider.tlsTerminate ? "terminates TLS there" : "passes TLS through there";
    return `port ${ports}: ${decider.app} ${what}; one port cannot both terminate TLS and pass it through`;
  }
  return undefined;
}

function others(group: PortGroup, request: HaproxyRouteTcpRequest): string {
  return group.requests
    .filter((other) => other !== request)
    .map((other) => other.app)
    .join(", ");
}

/** A listener's common shape: mode tcp on 0.0.0.0 over the listen range. */
function tcpService(
  listen: readonly [number, number],
  defaultBackend: string,
  frontendOptions: readonly string[],
  routeBackends: readonly RouteBackendSpec[],
): PlacedService {
  return {
    ...completeService({ name: tcpListenerName(listen) }),
    host: "0.0.0.0",
    port: listen[0],
    ...(listen[1] !== listen[0] && { lastPort: listen[1] }),
    serviceOptions: ["mode tcp", "option tcplog"],
    defaultBackend,
    frontendOptions,
    routeBackends,
  };
}

function backendOf(
  request: HaproxyRouteTcpRequest,
  context: TcpRouteContext,
  sharedPort: boolean,
  skip: (request: HaproxyRouteTcpRequest, reason: string) => void,
): { backend: RouteBackendSpec; notes: readonly string[] } | undefined {
  try {
    const built = tcpBackend(request, {
      sharedPort,
      bandwidthLimits: context.bandwidthLimits,
      ...(context.peersSection !== undefined && { peersSection: context.peersSection }),
    });
    return built;
  } catch (error) {
    if (!(error instanceof UnwritableCheckValue)) throw error;
    skip(request, error.message);
    return undefined;
  }
}

/** One route without an SNI: every connection to its ports goes to it. */
function ownPort(
  request: HaproxyRouteTcpRequest,
  listen: readonly [number, number],
  context: TcpRouteContext,
  skip: (request: HaproxyRouteTcpRequest, reason: string) => void,
): Listener {
  const terminate = request.enforceTls && request.tlsTerminate;
  const certificates = terminate ? [...new Set(context.allCertificateFiles ?? [])] : [];
  if (terminate && certificates.length === 0) {
    // The library's defaults: TLS terminated here, with no SNI to choose a certificate by.
    return {
      notes: [
        `haproxy-route-tcp ${request.app}: port ${rangeText(listen)} terminates TLS and waits for a certificate (external_hostname's or a route hostname's)`,
      ],
    };
  }
  const built = backendOf(request, context, false, skip);
  if (built === undefined) return { notes: [] };
  const service = tcpService(
    listen,
    built.backend.name,
    [
      ...clientRules(request, "connection", context.peersSection),
      ...(request.enforceTls && !terminate
        ? [
            // Wait for the client's first bytes, and refuse what is not a TLS hello.
            "tcp-request inspect-delay 5s",
            "tcp-request content reject unless { req.ssl_hello_type 1 }",
          ]
        : []),
    ],
    [built.backend],
  );
  return {
    service: terminate
      ? { ...service, crts: certificates.map((path) => ({ kind: "file" as const, path })) }
      : service,
    notes: built.notes,
  };
}

/** `-i a.example.com`, or a suffix match for `*.example.com`. */
function sniMatch(fetch: string, sni: string): string {
  return sni.startsWith("*.") ? `${fetch} -i -m end ${sni.slice(1)}` : `${fetch} -i ${sni}`;
}

function certificateFile(context: TcpRouteContext, sni: string): string | undefined {
  const files = context.certificateFiles;
  return typeof files === "function" ? files(sni) : files.get(sni);
}

/**
 * Routes by SNI on one port; a connection naming no routed SNI goes to a
 * backend that refuses it. Exact names are matched before wildcards.
 */
function sniPort(
  routed: readonly HaproxyRouteTcpRequest[],
  listen: readonly [number, number],
  context: TcpRouteContext,
  skip: (request: HaproxyRouteTcpRequest, reason: string) => void,
): Listener {
  const notes: string[] = [];
  const terminate = routed[0]?.tlsTerminate === true;
  const served: { request: HaproxyRouteTcpRequest; certificate?: string }[] = [];
  for (const request of routed) {
    const sni = request.sni as string;
    if (!terminate) {
      served.push({ request });
      continue;
    }
    const certificate = certificateFile(context, sni);
    if (certificate === undefined) {
      notes.push(
        `haproxy-route-tcp ${request.app}: port ${rangeText(listen)} waits for a certificate for ${sni}`,
      );
    } else {
      served.push({ request, certificate });
    }
  }
  const backends: RouteBackendSpec[] = [];
  const kept: HaproxyRouteTcpRequest[] = [];
  // A route alone on its port refuses clients on their connection, before
  // any TLS; routes sharing one do it once the SNI has chosen the route.
  const sharedPort = served.length > 1;
  for (const { request } of served) {
    const built = backendOf(request, context, sharedPort, skip);
    if (built === undefined) continue;
    backends.push(built.backend);
    notes.push(...built.notes);
    kept.push(request);
  }
  if (kept.length === 0) return { notes };

  const fetch = terminate ? "ssl_fc_sni" : "req.ssl_sni";
  const wildcard = (request: HaproxyRouteTcpRequest) => (request.sni as string).startsWith("*.");
  const ordered = [...kept.filter((r) => !wildcard(r)), ...kept.filter(wildcard)];
  const refuse: RouteBackendSpec = {
    name: `${tcpListenerName(listen)}_no_route`,
    options: ["mode tcp", "tcp-request content reject"],
    servers: [],
  };
  const service = tcpService(
    listen,
    refuse.name,
    [
      ...(sharedPort || kept[0] === undefined
        ? []
        : clientRules(kept[0], "connection", context.peersSection)),
      ...(terminate
        ? []
        : [
            // Wait for the client's hello, which names the SNI; refuse anything else.
            "tcp-request inspect-delay 5s",
            "tcp-request content accept if { req.ssl_hello_type 1 }",
            "tcp-request content reject",
          ]),
      ...ordered.map(
        (request) =>
          `use_backend ${tcpBackendName(request)} if { ${sniMatch(fetch, request.sni as string)} }`,
      ),
    ],
    [...backends, refuse],
  );
  const certificates = [
    ...new Set(
      served.flatMap(({ request, certificate }) =>
        kept.includes(request) && certificate !== undefined ? [certificate] : [],
      ),
    ),
  ];
  return {
    service: {
      ...service,
      crts: certificates.map((path) => ({ kind: "file" as const, path })),
      // A client naming no routed SNI fails its handshake instead of
      // getting another route's certificate.
      ...(terminate && { bindOptions: ["strict-sni"] }),
    },
    notes,
  };
}
