// What the applications related on `haproxy-route-tcp` ask for, read from
// their bags into typed requests (haproxyRouteTcpRequest.ts). Their leader
// writes the app bag, each unit its `address`; every value is JSON text, an
// empty or absent key is the field's default, unknown keys are ignored. Each
// field is checked as Canonical's library (v1) checks it, and more strictly
// where a value the library lets through would break, or reach past, the
// line of haproxy.cfg it is written into. Then the applications are held to
// each other: one listen port is shared only by applications routed by
// distinct TLS server names. A bag that does not validate, or that clashes
// with another, leaves that application out, named with the field (and the
// other application), and everything else is served.
import type { RemoteApp, RemoteUnit } from "../../juju/hookInputs.js";
import { InvalidField, describe } from "../../model/fieldChecks.js";
import type { RelationPolicy } from "../../model/relationPolicy.js";
import {
  INT_MAX,
  PORT_MAX,
  SECONDS_MAX,
  configWord,
  domainName,
  field,
  flag,
  integer,
  ipAddress,
  list,
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
import type {
  BandwidthLimit,
  HaproxyRouteTcpRequest,
  HaproxyRouteTcpRequests,
  PortMapping,
  RouteTimeouts,
  TcpCheckType,
  TcpHealthCheck,
  TcpLoadBalancing,
  TcpLoadBalancingAlgorithm,
  TcpRateLimitPolicy,
} from "./haproxyRouteTcpRequest.js";

export interface HaproxyRouteTcpReadContext {
  /** Ports the HTTP side (haproxy-route, ingress, classic services) holds: 80 and 443 while HTTP routes exist, and any other listener's port. A TCP route on one of them is invalid. */
  readonly reservedPorts: ReadonlySet<number>;
}

// The library's backend_port is at most 65525 (its own bound, kept: a
// requirer of the library cannot write more).
const BACKEND_PORT_MAX = 65525;
// One side of port_mapping: "8080" or "8080-8090", digits only (Python's
// int() would also take " 80", "+80" or "8_080").
const PORT_RANGE = /^(\d{1,5})(?:-(\d{1,5}))?$/;
// A check's send or expect is written into haproxy.cfg in hexadecimal
// (send-binary, expect binary), so any text is sent as its exact UTF-8
// bytes, as the library means it; haproxy's 2048-byte lines bound its size.
const CHECK_DATA_MAX_BYTES = 512;
// The user haproxy's mysql-check or pgsql-check logs in as: a plain
// identifier (PostgreSQL's are at most 63 bytes). The library takes any
// word without whitespace, quotes, "#", "\" or "$".
const DATABASE_USER = /^[A-Za-z_][A-Za-z0-9_.-]{0,62}$/;
// Without a timeout, Canonical's charm leaves haproxy's `defaults` to apply:
// its template sets server 50 s, connect 5 s and queue 20 s.
const DEFAULT_TIMEOUTS: RouteTimeouts = { server: 50, connect: 5, queue: 20 };
// Without load_balancing, Canonical's charm writes no `balance`: haproxy's
// own default is roundrobin.
const DEFAULT_ALGORITHM: TcpLoadBalancingAlgorithm = "roundrobin";

const CHECK_TYPES: readonly TcpCheckType[] = ["generic", "mysql", "postgres", "redis", "smtp"];
const LOAD_BALANCING: readonly TcpLoadBalancingAlgorithm[] = ["leastconn", "roundrobin", "source"];
const RATE_LIMIT_POLICIES: readonly TcpRateLimitPolicy[] = ["reject", "silent-drop"];

/** A request that validated, with the key its listen ports came from. */
interface Candidate {
  readonly request: HaproxyRouteTcpRequest;
  readonly portKey: "port" | "port_mapping";
}

export function readHaproxyRouteTcpRequests(
  apps: readonly RemoteApp[],
  units: readonly RemoteUnit[],
  policy: RelationPolicy,
  context: HaproxyRouteTcpReadContext,
): HaproxyRouteTcpRequests {
  // Every application first, on its own; then what two of them claim alike.
  // The library's requirer writes nothing until it has a port or a mapping.
  const outcomes = readEachApplication(apps, units, ["port", "port_mapping"], (remote, appUnits) =>
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
  context: HaproxyRouteTcpReadContext,
): Candidate {
  const bag = remote.settings;
  const { ports, portKey } = portsOf(
    field(bag, "port"),
    field(bag, "backend_port"),
    field(bag, "port_mapping"),
  );
  const reserved = [...context.reservedPorts]
    .filter((port) => port >= ports.listen[0] && port <= ports.listen[1])
    .sort((a, b) => a - b);
  if (reserved.length > 0) {
    throw new InvalidField(
      portKey,
      `${reserved.join(", ")} ${reserved.length === 1 ? "is" : "are"} already haproxy's (HTTP routes or another listener)`,
    );
  }
  const rawSni = field(bag, "sni");
  const sni =
    rawSni === undefined || rawSni === null
      ? undefined
      : domainName(configWord(rawSni, "sni"), "sni");
  const hosts = list(field(bag, "hosts"), "hosts").map((host, i) =>
    policy.backendAddress(ipAddress(host, `hosts[${i}]`), `hosts[${i}]`),
  );
  const check = healthCheck(field(bag, "check"));
  const loadBalancing = loadBalancingOf(field(bag, "load_balancing"));
  const rateLimit = rateLimitOf(field(bag, "rate_limit"), RATE_LIMIT_POLICIES, "reject");
  const bandwidthLimit = bandwidthLimitOf(field(bag, "bandwidth_limit"));
  const retry = retryOf(field(bag, "retry"));
  const timeout = timeoutsOf(field(bag, "timeout"));
  // 0 is haproxy's "no limit", as is no maxconn at all (Canonical writes none for 0).
  const serverMaxconn = optionalInteger(field(bag, "server_maxconn"), "server_maxconn", 0, INT_MAX);
  const ipDenyList = unique(
    list(field(bag, "ip_deny_list"), "ip_deny_list").map((address, i) =>
      ipAddress(address, `ip_deny_list[${i}]`),
    ),
  );
  const enforceTls = flag(field(bag, "enforce_tls"), "enforce_tls", true);
  const tlsTerminate = flag(field(bag, "tls_terminate"), "tls_terminate", true);
  const proxyProtocol = flag(field(bag, "proxy_protocol"), "proxy_protocol");

  if (sni !== undefined && !enforceTls) {
    throw new InvalidField("sni", "routing by TLS server name needs enforce_tls");
  }

  const targets = unitTargets(units, hosts, policy);
  const ready = hosts.length > 0 || (targets.length > 0 && targets.length === units.length);

  const request: HaproxyRouteTcpRequest = {
    relationId: remote.relationId,
    app: remote.app,
    ports,
    ...(sni !== undefined && { sni }),
    targets,
    ...(check !== undefined && { check }),
    loadBalancing,
    ...(rateLimit !== undefined && { rateLimit }),
    ...(bandwidthLimit !== undefined && { bandwidthLimit }),
    ...(retry !== undefined && { retry }),
    timeout,
    ...(serverMaxconn !== undefined && serverMaxconn > 0 && { serverMaxconn }),
    ipDenyList,
    enforceTls,
    tlsTerminate,
    proxyProtocol,
    ready,
  };
  return { request, portKey };
}

// ---- ports ----

/** `port` and `backend_port`, or `port_mapping`; never both, as the library insists. */
function portsOf(
  rawPort: unknown,
  rawBackendPort: unknown,
  rawMapping: unknown,
): { ports: PortMapping; portKey: "port" | "port_mapping" } {
  const port = optionalInteger(rawPort, "port", 1, PORT_MAX);
  const backendPort = optionalInteger(rawBackendPort, "backend_port", 1, BACKEND_PORT_MAX);
  if (rawMapping !== undefined && rawMapping !== null) {
    if (port !== undefined || backendPort !== undefined) {
      throw new InvalidField(
        "port_mapping",
        `cannot be given with ${port !== undefined ? "port" : "backend_port"}`,
      );
    }
    return { ports: portMapping(rawMapping), portKey: "port_mapping" };
  }
  if (port === undefined) throw new InvalidField("port", "missing (and no port_mapping)");
  const backend = backendPort ?? port;
  return { ports: { listen: [port, port], backend: [backend, backend] }, portKey: "port" };
}

/** `"a-b:c-d"` (or `"a:c"`): listen ports a to b go to c to d, as many on each side. */
function portMapping(value: unknown): PortMapping {
  if (typeof value !== "string") {
    throw new InvalidField("port_mapping", `expected text, got ${describe(value)}`);
  }
  const sides = value.split(":");
  const [listenText, backendText] = sides;
  if (sides.length !== 2 || listenText === undefined || backendText === undefined) {
    throw new InvalidField(
      "port_mapping",
      `${describe(value)} is not "listen_start-listen_end:backend_start-backend_end"`,
    );
  }
  const listen = portRange(listenText, value);
  const backend = portRange(backendText, value);
  if (listen[1] - listen[0] !== backend[1] - backend[0]) {
    throw new InvalidField(
      "port_mapping",
      `${describe(value)}: the listen and backend ranges differ in length`,
    );
  }
  return { listen, backend };
}

function portRange(text: string, whole: string): readonly [number, number] {
  const match = PORT_RANGE.exec(text);
  if (match === null) {
    throw new InvalidField(
      "port_mapping",
      `${describe(whole)}: ${describe(text)} is not a port or a range "start-end"`,
    );
  }
  const start = Number(match[1]);
  const end = match[2] === undefined ? start : Number(match[2]);
  for (const port of [start, end]) {
    if (port < 1 || port > PORT_MAX) {
      throw new InvalidField(
        "port_mapping",
        `${describe(whole)}: ${port} is outside 1-${PORT_MAX}`,
      );
    }
  }
  if (start > end) {
    throw new InvalidField("port_mapping", `${describe(whole)}: the range ${text} runs backwards`);
  }
  return [start, end];
}

// ---- clashes between applications ----

/**
 * Each candidate that cannot share its listen ports with another, and why.
 * Ranges of more than one port overlap nothing; one port is shared only by
 * applications that each give an SNI (which needs enforce_tls), all
 * different, and that all terminate TLS or all pass it through (one `bind`
 * line does one or the other). Every party to a clash is left out, so that
 * who is served never depends on the order Juju lists the relations in.
 */
function findClashes(candidates: readonly Candidate[]): Map<Candidate, InvalidField> {
  const clashes = new Map<Candidate, InvalidField>();
  const named = (others: readonly Candidate[]) =>
    [...new Set(others.map(({ request }) => request.app))].join(", ");
  const shown = ({ listen: [start, end] }: PortMapping) =>
    start === end ? `${start}` : `${start}-${end}`;

  for (const candidate of candidates) {
    const { request, portKey } = candidate;
    const { listen } = request.ports;
    const overlapping = candidates.filter(
      (other) =>
        other !== candidate &&
        other.request.ports.listen[0] <= listen[1] &&
        listen[0] <= other.request.ports.listen[1],
    );
    if (overlapping.length === 0) continue;
    const ranges = overlapping.filter((other) => isRange(candidate) || isRange(other));
    if (ranges.length > 0) {
      clashes.set(
        candidate,
        new InvalidField(
          portKey,
          `${shown(request.ports)} overlaps the ports of ${named(ranges)} (only one port may be shared, by SNI)`,
        ),
      );
      continue;
    }
    // The same single port: routed by TLS server name, or not at all.
    const port = listen[0];
    if (request.sni === undefined) {
      clashes.set(
        candidate,
        new InvalidField(
          portKey,
          `${port} is also asked for by ${named(overlapping)}; applications sharing a port must each give an sni`,
        ),
      );
      continue;
    }
    const withoutSni = overlapping.filter((other) => other.request.sni === undefined);
    if (withoutSni.length > 0) {
      clashes.set(
        candidate,
        new InvalidField(
          portKey,
          `${port} is also asked for by ${named(withoutSni)}, which gives no sni to route by`,
        ),
      );
      continue;
    }
    const sameSni = overlapping.filter((other) => other.request.sni === request.sni);
    if (sameSni.length > 0) {
      clashes.set(
        candidate,
        new InvalidField(
          "sni",
          `${request.sni} on port ${port} is also asked for by ${named(sameSni)}`,
        ),
      );
      continue;
    }
    const otherTls = overlapping.filter(
      (other) => other.request.tlsTerminate !== request.tlsTerminate,
    );
    if (otherTls.length > 0) {
      clashes.set(
        candidate,
        new InvalidField(
          "tls_terminate",
          `${named(otherTls)} on port ${port} ${request.tlsTerminate ? "passes TLS through" : "terminates TLS"}; one port does one or the other`,
        ),
      );
    }
  }
  return clashes;
}

function isRange({ request }: Candidate): boolean {
  return request.ports.listen[0] !== request.ports.listen[1];
}

// ---- the structured fields ----

function healthCheck(value: unknown): TcpHealthCheck | undefined {
  const check = optionalMapping(value, "check");
  if (check === undefined) return undefined;
  const at = (name: string) => `check.${name}`;
  // The library needs all three, each above 0.
  const interval = integer(member(check, "interval"), at("interval"), 1, SECONDS_MAX);
  const rise = integer(member(check, "rise"), at("rise"), 1, INT_MAX);
  const fall = integer(member(check, "fall"), at("fall"), 1, INT_MAX);
  const rawType = member(check, "check_type");
  // No type is a plain connection check, as `option tcp-check` with no rule is.
  const given = rawType === null ? undefined : rawType;
  const type = oneOf(given, at("check_type"), CHECK_TYPES, "generic");
  const send = optionalCheckData(member(check, "send"), at("send"));
  const expect = optionalCheckData(member(check, "expect"), at("expect"));
  const rawUser = member(check, "db_user");
  const dbUser = rawUser === undefined || rawUser === null ? undefined : databaseUser(rawUser);
  if ((send !== undefined || expect !== undefined) && given !== "generic") {
    throw new InvalidField(
      send !== undefined ? at("send") : at("expect"),
      "applies only to check_type generic",
    );
  }
  if (dbUser !== undefined && type !== "mysql" && type !== "postgres") {
    throw new InvalidField(at("db_user"), "applies only to check_type mysql and postgres");
  }
  return {
    interval,
    rise,
    fall,
    type,
    ...(send !== undefined && { send }),
    ...(expect !== undefined && { expect }),
    ...(dbUser !== undefined && { dbUser }),
  };
}

/** The library takes any text: any text but an empty one, at most CHECK_DATA_MAX_BYTES bytes. */
function optionalCheckData(value: unknown, key: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") {
    throw new InvalidField(key, `expected text, got ${describe(value)}`);
  }
  if (value === "") throw new InvalidField(key, "is empty");
  const bytes = Buffer.byteLength(value, "utf8");
  if (bytes > CHECK_DATA_MAX_BYTES) {
    throw new InvalidField(key, `is ${bytes} bytes, more than ${CHECK_DATA_MAX_BYTES}`);
  }
  return value;
}

function databaseUser(value: unknown): string {
  const user = configWord(value, "check.db_user");
  if (!DATABASE_USER.test(user)) {
    throw new InvalidField(
      "check.db_user",
      `${describe(user)} is not a user name (a letter or "_", then letters, digits, "_", ".", "-"; at most 63)`,
    );
  }
  return user;
}

function loadBalancingOf(value: unknown): TcpLoadBalancing {
  const settings = optionalMapping(value, "load_balancing");
  if (settings === undefined) return { algorithm: DEFAULT_ALGORITHM, consistentHashing: false };
  // The library's algorithm has no default once load_balancing is given.
  const rawAlgorithm = member(settings, "algorithm");
  if (rawAlgorithm === undefined) throw new InvalidField("load_balancing.algorithm", "missing");
  const algorithm = oneOf(
    rawAlgorithm,
    "load_balancing.algorithm",
    LOAD_BALANCING,
    DEFAULT_ALGORITHM,
  );
  const consistentHashing = flag(
    member(settings, "consistent_hashing"),
    "load_balancing.consistent_hashing",
  );
  if (consistentHashing && algorithm !== "source") {
    throw new InvalidField(
      "load_balancing.consistent_hashing",
      `applies only to the source algorithm, not ${algorithm}`,
    );
  }
  return { algorithm, consistentHashing };
}

function bandwidthLimitOf(value: unknown): BandwidthLimit | undefined {
  const limit = optionalMapping(value, "bandwidth_limit");
  return limit === undefined ? undefined : bandwidthLimitIn(limit);
}

function timeoutsOf(value: unknown): RouteTimeouts {
  const timeouts = optionalMapping(value, "timeout");
  if (timeouts === undefined) return DEFAULT_TIMEOUTS;
  // The library needs each key written, null meaning the default.
  const seconds = (name: keyof RouteTimeouts) => {
    const given = member(timeouts, name);
    if (given === undefined)
      throw new InvalidField(`timeout.${name}`, "missing (null for the default)");
    return given === null
      ? DEFAULT_TIMEOUTS[name]
      : integer(given, `timeout.${name}`, 1, SECONDS_MAX);
  };
  return { server: seconds("server"), connect: seconds("connect"), queue: seconds("queue") };
}
