// What the applications related on `haproxy-route` ask for, read from their
// bags into typed requests (haproxyRouteRequest.ts). Their leader writes the
// app bag, each unit its `address`; every value is JSON text, an empty or
// absent key is the field's default, unknown keys are ignored. Requirers of
// Canonical's library v1 and v2 write the same keys; each field is checked as
// v2 checks it, and more strictly where a value the library lets through
// would break, or reach past, the line of haproxy.cfg it is written into. A
// bag that does not validate leaves that application out, named with the
// field, and everything else is served.
import type { RemoteApp, RemoteUnit } from "../../juju/hookInputs.js";
import { InvalidField, checkName, describe } from "../../model/fieldChecks.js";
import type { RelationPolicy } from "../../model/relationPolicy.js";
import {
  INT_MAX,
  PORT_MAX,
  SECONDS_MAX,
  configWord,
  defaultedMapping,
  domainName,
  field,
  flag,
  integer,
  ipAddress,
  list,
  mapping,
  member,
  oneOf,
  optionalInteger,
  optionalMapping,
  unique,
  unitTargets,
  bandwidthLimitIn,
  rateLimitOf,
  readEachApplication,
  retryOf,
  settleClashes,
} from "../relationBags.js";
import { checkRewriteExpression } from "./rewriteExpression.js";
import type {
  BandwidthLimit,
  HaproxyRouteRequest,
  HaproxyRouteRequests,
  LoadBalancing,
  LoadBalancingAlgorithm,
  RateLimitPolicy,
  Rewrite,
  RewriteMethod,
  RouteHealthCheck,
  RouteTimeouts,
} from "./haproxyRouteRequest.js";

export interface HaproxyRouteReadContext {
  /** The charm's external_hostname option ("" when unset): the hostname of a request that names none. */
  readonly externalHostname: string;
  /** CA certificates arrived on receive-ca-certs: `protocol: https` can be verified. */
  readonly backendCasAvailable: boolean;
}

// An HTTP token (RFC 9110) without "#", "$" and "'": a header or cookie name.
// The library takes any VALIDSTR, so a cookie "a)" would close `req.cook(`.
const TOKEN = /^[A-Za-z0-9!%&*+.^_`|~-]{1,128}$/;
// Sample fetches that read a file, run Lua or read haproxy's environment:
// a rewrite's expression is evaluated by haproxy, and the result sent to the
// requirer's servers.
const ENVIRONMENT_FETCH = /(^|[^A-Za-z0-9_.-])env\(/;
const LOAD_BALANCING: readonly LoadBalancingAlgorithm[] = [
  "leastconn",
  "roundrobin",
  "source",
  "cookie",
];
const RATE_LIMIT_POLICIES: readonly RateLimitPolicy[] = ["deny", "reject", "silent-drop"];
const REWRITE_METHODS: readonly RewriteMethod[] = ["set-path", "set-query", "set-header"];

/** A request that validated, with what it claims that no other may claim. */
interface Candidate {
  readonly request: HaproxyRouteRequest;
  /** `<hostname> <path>` for every hostname and path ("/" when it names none). */
  readonly routes: readonly string[];
}

export function readHaproxyRouteRequests(
  apps: readonly RemoteApp[],
  units: readonly RemoteUnit[],
  policy: RelationPolicy,
  context: HaproxyRouteReadContext,
): HaproxyRouteRequests {
  // Every application first, on its own; then what two of them claim alike.
  const outcomes = readEachApplication(apps, units, ["service"], (remote, appUnits) =>
    readRequest(remote, appUnits, policy, context),
  );
  const candidates = outcomes.filter((outcome): outcome is Candidate => "request" in outcome);
  const clashes = findClashes(candidates);

  return settleClashes(outcomes, clashes);
}

function readRequest(
  remote: RemoteApp,
  units: readonly RemoteUnit[],
  policy: RelationPolicy,
  context: HaproxyRouteReadContext,
): Candidate {
  const bag = remote.settings;
  const service = serviceName(field(bag, "service"));
  const ports = portList(field(bag, "ports"));
  const protocol = oneOf(field(bag, "protocol"), "protocol", ["http", "https"] as const, "http");
  const hosts = list(field(bag, "hosts"), "hosts").map((host, i) =>
    policy.backendAddress(ipAddress(host, `hosts[${i}]`), `hosts[${i}]`),
  );
  const paths = unique(list(field(bag, "paths"), "paths").map((p, i) => path(p, `paths[${i}]`)));
  const hostname = optionalHostname(field(bag, "hostname"), "hostname");
  const additionalHostnames = list(field(bag, "additional_hostnames"), "additional_hostnames").map(
    (name, i) => domainName(name, `additional_hostnames[${i}]`),
  );
  const rewrites = list(field(bag, "rewrites"), "rewrites").map((rewrite, i) =>
    rewriteRule(rewrite, `rewrites[${i}]`, policy),
  );
  const check = healthCheck(field(bag, "check"));
  const loadBalancing = loadBalancingOf(field(bag, "load_balancing"));
  const rateLimit = rateLimitOf(field(bag, "rate_limit"), RATE_LIMIT_POLICIES, "deny");
  const bandwidthLimit = bandwidthLimitOf(field(bag, "bandwidth_limit"));
  const retry = retryOf(field(bag, "retry"));
  const denyPaths = unique(
    list(field(bag, "deny_paths"), "deny_paths").map((p, i) => path(p, `deny_paths[${i}]`)),
  );
  const timeout = timeoutsOf(field(bag, "timeout"));
  // 0 is haproxy's "no limit", as is no maxconn at all.
  const serverMaxconn = optionalInteger(field(bag, "server_maxconn"), "server_maxconn", 0, INT_MAX);
  const httpServerClose = flag(field(bag, "http_server_close"), "http_server_close");
  const allowHttp = flag(field(bag, "allow_http"), "allow_http");
  const externalGrpcPort = grpcPort(field(bag, "external_grpc_port"), protocol);

  if (protocol === "https" && !context.backendCasAvailable) {
    throw new InvalidField(
      "protocol",
      "https backends are verified against CA certificates, which a receive-ca-certs relation must supply first",
    );
  }
  // Canonical's charm, given no hostname, serves external_hostname alone; the
  // additional hostnames an application asked for are served beside it here.
  const hostnameFromConfig = hostname === undefined;
  const first = hostname ?? context.externalHostname.toLowerCase();
  if (first === "") {
    throw new InvalidField(
      "hostname",
      "the application names no hostname and the charm's external_hostname is unset",
    );
  }
  const hostnames = unique([first, ...additionalHostnames]);

  const targets = unitTargets(units, hosts, policy);
  const ready = hosts.length > 0 || (targets.length > 0 && targets.length === units.length);

  const request: HaproxyRouteRequest = {
    relationId: remote.relationId,
    app: remote.app,
    service,
    ports,
    protocol,
    targets,
    paths,
    hostnames,
    hostnameFromConfig,
    rewrites,
    ...(check !== undefined && { check }),
    loadBalancing,
    ...(rateLimit !== undefined && { rateLimit }),
    ...(bandwidthLimit !== undefined && { bandwidthLimit }),
    ...(retry !== undefined && { retry }),
    denyPaths,
    timeout,
    ...(serverMaxconn !== undefined && serverMaxconn > 0 && { serverMaxconn }),
    httpServerClose,
    allowHttp,
    ...(externalGrpcPort !== undefined && { externalGrpcPort }),
    ready,
  };
  const routePaths = paths.length > 0 ? paths : ["/"];
  return {
    request,
    routes: hostnames.flatMap((name) => routePaths.map((p) => `${name} ${p}`)),
  };
}

// ---- clashes between applications ----

/** Each candidate that claims what another claims too, with the first such claim. */
function findClashes(candidates: readonly Candidate[]): Map<Candidate, InvalidField> {
  const claims = (key: (candidate: Candidate) => readonly (string | number)[]) => {
    const owners = new Map<string | number, Candidate[]>();
    for (const candidate of candidates) {
      for (const claim of new Set(key(candidate))) {
        owners.set(claim, [...(owners.get(claim) ?? []), candidate]);
      }
    }
    return owners;
  };
  const services = claims(({ request }) => [request.service]);
  const routes = claims(({ routes: taken }) => taken);
  const grpcPorts = claims(({ request }) =>
    request.externalGrpcPort === undefined ? [] : [request.externalGrpcPort],
  );

  const clashes = new Map<Candidate, InvalidField>();
  for (const candidate of candidates) {
    const { request } = candidate;
    const others = (owners: readonly Candidate[] | undefined) =>
      (owners ?? []).filter((owner) => owner !== candidate);
    const named = (owners: readonly Candidate[]) =>
      [...new Set(owners.map(({ request: other }) => other.app))].join(", ");

    const sameService = others(services.get(request.service));
    if (sameService.length > 0) {
      clashes.set(
        candidate,
        new InvalidField(
          "service",
          `${describe(request.service)} is also asked for by ${named(sameService)}`,
        ),
      );
      continue;
    }
    const route = candidate.routes.find((claim) => others(routes.get(claim)).length > 0);
    if (route !== undefined) {
      const [host = "", routePath = "/"] = route.split(" ");
      const key =
        request.paths.length > 0
          ? "paths"
          : host === request.hostnames[0]
            ? "hostname"
            : "additional_hostnames";
      clashes.set(
        candidate,
        new InvalidField(
          key,
          `${host}${routePath} is also asked for by ${named(others(routes.get(route)))}`,
        ),
      );
      continue;
    }
    if (request.externalGrpcPort !== undefined) {
      const samePort = others(grpcPorts.get(request.externalGrpcPort));
      if (samePort.length > 0) {
        clashes.set(
          candidate,
          new InvalidField(
            "external_grpc_port",
            `${request.externalGrpcPort} is also asked for by ${named(samePort)}`,
          ),
        );
      }
    }
  }
  return clashes;
}

/** The backend's name: haproxy refuses any other character in a proxy's name. */
// ---- words of haproxy.cfg ----

function serviceName(value: unknown): string {
  return checkName(configWord(value, "service"), "service");
}

function portList(value: unknown): number[] {
  if (value === undefined) throw new InvalidField("ports", "missing");
  const ports = list(value, "ports").map((port, i) => integer(port, `ports[${i}]`, 1, PORT_MAX));
  // The library takes these, but a backend with no port has no server, and
  // one port twice makes two servers of the same name, which haproxy refuses.
  if (ports.length === 0) throw new InvalidField("ports", "names no port");
  const twice = ports.find((port, i) => ports.indexOf(port) !== i);
  if (twice !== undefined) throw new InvalidField("ports", `${twice} is listed twice`);
  return ports;
}

/** A path prefix, as `path_beg` compares it with the request's path. */
function path(value: unknown, key: string): string {
  const text = configWord(value, key);
  if (!text.startsWith("/"))
    throw new InvalidField(key, `${describe(text)} does not start with "/"`);
  return text;
}

function optionalHostname(value: unknown, key: string): string | undefined {
  return value === undefined || value === null ? undefined : domainName(value, key);
}

function token(value: unknown, key: string): string {
  const text = configWord(value, key);
  if (!TOKEN.test(text)) {
    throw new InvalidField(
      key,
      `${describe(text)} is not a name of letters, digits and !%&*+.^_\`|~-`,
    );
  }
  return text;
}

function rewriteRule(value: unknown, key: string, policy: RelationPolicy): Rewrite {
  const rule = mapping(value, key);
  const rawMethod = member(rule, "method");
  if (rawMethod === undefined) throw new InvalidField(`${key}.method`, "missing");
  const method = oneOf(rawMethod, `${key}.method`, REWRITE_METHODS, "set-path");
  // The library lets an expression hold anything but a line break, since it
  // is a haproxy log-format; written as one unquoted word of the rule, it
  // must be a single safe word here.
  const rawExpression = member(rule, "expression");
  if (rawExpression === undefined) throw new InvalidField(`${key}.expression`, "missing");
  const expression = logFormat(configWord(rawExpression, `${key}.expression`), `${key}.expression`);
  const rawHeader = member(rule, "header");
  const header =
    rawHeader === undefined || rawHeader === null ? undefined : token(rawHeader, `${key}.header`);
  // The library means to insist on it but checks the method instead.
  if (method === "set-header" && header === undefined) {
    throw new InvalidField(`${key}.header`, "set-header needs the header to set");
  }
  const kept = method === "set-header" ? header : undefined;
  const line = ["http-request", method, ...(kept === undefined ? [] : [kept]), expression];
  policy.serviceLine(line.join(" "), `${key}.expression`);
  return { method, expression, ...(kept !== undefined && { header: kept }) };
}

/** What haproxy would otherwise refuse or misread in a log-format word. */
function logFormat(text: string, key: string): string {
  if (text === "if" || text === "unless") {
    throw new InvalidField(key, `${describe(text)} would be read as the rule's condition`);
  }
  if (ENVIRONMENT_FETCH.test(text)) {
    throw new InvalidField(key, `${describe(text)} reads haproxy's environment`);
  }
  const open: string[] = [];
  const pairs: Readonly<Record<string, string>> = { ")": "(", "]": "[", "}": "{" };
  for (const char of text) {
    if (char === "(" || char === "[" || char === "{") open.push(char);
    else if (char in pairs && open.pop() !== pairs[char]) {
      throw new InvalidField(key, `${describe(text)} has unbalanced brackets`);
    }
  }
  if (open.length > 0) throw new InvalidField(key, `${describe(text)} has unbalanced brackets`);
  return checkRewriteExpression(text, key);
}

// ---- the structured fields ----

function healthCheck(value: unknown): RouteHealthCheck | undefined {
  const check = optionalMapping(value, "check");
  if (check === undefined) return undefined;
  const at = (name: string) => `check.${name}`;
  const interval = optionalInteger(member(check, "interval"), at("interval"), 0, SECONDS_MAX);
  const rise = optionalInteger(member(check, "rise"), at("rise"), 0, INT_MAX);
  const fall = optionalInteger(member(check, "fall"), at("fall"), 0, INT_MAX);
  const rawPath = member(check, "path");
  const checkPath =
    rawPath === undefined || rawPath === null ? undefined : path(rawPath, at("path"));
  const port = optionalInteger(member(check, "port"), at("port"), 1, PORT_MAX);
  // As the library: all three or none, 0 counting as none.
  const given = [interval, rise, fall].filter((n) => n !== undefined && n !== 0).length;
  if (given === 0) return undefined;
  if (given !== 3) {
    throw new InvalidField("check", "interval, rise and fall must be set all three or none");
  }
  return {
    interval: interval as number,
    rise: rise as number,
    fall: fall as number,
    ...(checkPath !== undefined && { path: checkPath }),
    ...(port !== undefined && { port }),
  };
}

function loadBalancingOf(value: unknown): LoadBalancing {
  const settings = defaultedMapping(value, "load_balancing");
  const algorithm = oneOf(
    member(settings, "algorithm"),
    "load_balancing.algorithm",
    LOAD_BALANCING,
    "leastconn",
  );
  const rawCookie = member(settings, "cookie");
  const cookie =
    rawCookie === undefined || rawCookie === null
      ? undefined
      : token(rawCookie, "load_balancing.cookie");
  const consistentHashing = flag(
    member(settings, "consistent_hashing"),
    "load_balancing.consistent_hashing",
  );
  if (algorithm === "cookie" && cookie === undefined) {
    throw new InvalidField("load_balancing.cookie", "the cookie algorithm needs a cookie");
  }
  if (algorithm !== "cookie" && cookie !== undefined) {
    throw new InvalidField(
      "load_balancing.cookie",
      `applies only to the cookie algorithm, not ${algorithm}`,
    );
  }
  if (consistentHashing && algorithm !== "cookie" && algorithm !== "source") {
    throw new InvalidField(
      "load_balancing.consistent_hashing",
      `applies only to the cookie and source algorithms, not ${algorithm}`,
    );
  }
  return { algorithm, ...(cookie !== undefined && { cookie }), consistentHashing };
}

function bandwidthLimitOf(value: unknown): BandwidthLimit | undefined {
  return bandwidthLimitIn(defaultedMapping(value, "bandwidth_limit"));
}

function timeoutsOf(value: unknown): RouteTimeouts {
  const timeouts = defaultedMapping(value, "timeout");
  const seconds = (name: string) => {
    const given = member(timeouts, name);
    return given === undefined ? 60 : integer(given, `timeout.${name}`, 1, SECONDS_MAX);
  };
  return { server: seconds("server"), connect: seconds("connect"), queue: seconds("queue") };
}

function grpcPort(value: unknown, protocol: "http" | "https"): number | undefined {
  const port = optionalInteger(value, "external_grpc_port", 1, PORT_MAX);
  if (port === undefined) return undefined;
  if (port === 80 || port === 443) {
    throw new InvalidField("external_grpc_port", `${port} is haproxy's own HTTP or HTTPS port`);
  }
  if (protocol !== "https") {
    throw new InvalidField("external_grpc_port", "needs protocol https (gRPC is served over TLS)");
  }
  return port;
}
