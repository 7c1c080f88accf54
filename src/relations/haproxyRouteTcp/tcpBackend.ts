// What one haproxy-route-tcp request puts inside its own `backend`: balance,
// timeouts, retries, the health check haproxy knows for the protocol, and one
// server per target. Routing to it (ports, SNI) is the listener's business.
//
// Where Canonical's charm renders a field wrong or not at all, this renders
// what the requirer asked for: haproxy's own database checks
// (`option mysql-check user <u>`, not `option mysql`), check strings sent as
// the bytes asked for, rate_limit, bandwidth_limit and ip_deny_list, and
// checks that carry the PROXY header the servers expect.

import type { RouteBackendSpec, ServerSpec } from "../../model/types.js";
import { unitSlug } from "../../model/unitNames.js";
import type {
  HaproxyRouteTcpRequest,
  TcpHealthCheck,
  TcpLoadBalancing,
  TcpRateLimit,
} from "./haproxyRouteTcpRequest.js";
import { bandwidthLimitFilters } from "../haproxyRoute/bandwidthLimitFilters.js";
import { bracketed } from "../../model/bracketedAddress.js";

export interface TcpBackendContext {
  /** The name of haproxy's `peers` section when the units share stick tables; absent, tables stay local. */
  readonly peersSection?: string;
  /** haproxy can limit bandwidth (filter bwlim-*, haproxy 2.7 and later). */
  readonly bandwidthLimits: boolean;
  /**
   * The route shares its port with others (routed by SNI): its client rules
   * (ip_deny_list, rate_limit) run here, once the route is known, instead
   * of on the frontend's connections.
   */
  readonly sharedPort: boolean;
}

export interface TcpBackend {
  readonly backend: RouteBackendSpec;
  /** Fields accepted but not rendered on this haproxy, for the log. */
  readonly notes: readonly string[];
}

/** The backend's name: the application's, marked as a TCP route. */
export function tcpBackendName(request: HaproxyRouteTcpRequest): string {
  return `${request.app}_tcp`;
}

/** A value haproxy reads as exactly these bytes, or undefined when it cannot be written safely. */
export function haproxyWord(value: string): string | undefined {
  if (value === "" || !/^[\x20-\x7e\r\n\t]*$/.test(value) || value.includes("'")) return undefined;
  if (/^[A-Za-z0-9._@+-]+$/.test(value)) return value;
  // Single quotes keep everything literal (no `$` expansion, no `#`
  // comment); line ends need double quotes, the only place haproxy reads
  // `\r` and `\n`. Quoted parts next to each other make one word.
  const escapes: Record<string, string> = { "\r": "\\r", "\n": "\\n", "\t": "\\t" };
  return value
    .split(/([\r\n\t]+)/)
    .filter((part) => part !== "")
    .map((part) =>
      /^[\r\n\t]+$/.test(part)
        ? `"${[...part].map((char) => escapes[char] ?? "").join("")}"`
        : `'${part}'`,
    )
    .join("");
}

export class UnwritableCheckValue extends Error {
  constructor(readonly field: string) {
    super(`${field}: not a value haproxy can be given`);
  }
}

/** Throws UnwritableCheckValue for a check string that cannot be written into haproxy.cfg. */
export function tcpBackend(
  request: HaproxyRouteTcpRequest,
  context: TcpBackendContext,
): TcpBackend {
  const notes: string[] = [];
  return {
    backend: {
      name: tcpBackendName(request),
      options: [
        "mode tcp",
        ...balanceOptions(request.loadBalancing, request.app, notes),
        `timeout server ${request.timeout.server}s`,
        `timeout connect ${request.timeout.connect}s`,
        `timeout queue ${request.timeout.queue}s`,
        ...(request.retry !== undefined
          ? [
              `retries ${request.retry.count}`,
              ...(request.retry.redispatch ? ["option redispatch"] : []),
            ]
          : []),
        ...(request.check !== undefined ? healthCheckOptions(request.check) : []),
        ...(context.sharedPort ? clientRules(request, "content", context.peersSection) : []),
        ...bandwidthLimitOptions(request, context, notes),
      ],
      servers: servers(request),
    },
    notes,
  };
}

function balanceOptions(balancing: TcpLoadBalancing, app: string, notes: string[]): string[] {
  const hashing = balancing.algorithm === "source";
  if (balancing.consistentHashing && !hashing) {
    notes.push(
      `haproxy-route-tcp ${app}: consistent_hashing has no effect with ${balancing.algorithm}, which does not hash`,
    );
  }
  return [
    `balance ${balancing.algorithm}`,
    ...(balancing.consistentHashing && hashing ? ["hash-type consistent"] : []),
  ];
}

function healthCheckOptions(check: TcpHealthCheck): string[] {
  switch (check.type) {
    case "generic":
      return [
        "option tcp-check",
        // In hexadecimal: the exact bytes, whatever the text holds.
        ...(check.send !== undefined ? [`tcp-check send-binary ${hex(check.send)}`] : []),
        ...(check.expect !== undefined ? [`tcp-check expect binary ${hex(check.expect)}`] : []),
      ];
    case "mysql":
      return [`option mysql-check${checkUser(check)}`];
    case "postgres":
      return [`option pgsql-check${checkUser(check)}`];
    case "redis":
      return ["option redis-check"];
    case "smtp":
      return ["option smtpchk"];
  }
}

function hex(text: string): string {
  return Buffer.from(text, "utf8").toString("hex");
}

function checkUser(check: TcpHealthCheck): string {
  return check.dbUser === undefined ? "" : ` user ${checkWord(check.dbUser, "check.db_user")}`;
}

function checkWord(value: string, field: string): string {
  const word = haproxyWord(value);
  if (word === undefined) throw new UnwritableCheckValue(field);
  return word;
}

/**
 * ip_deny_list first (denied clients are refused before anything else),
 * then the rate limit: the table stores the connection rate its rule reads.
 * On a port of its own the frontend runs these on each connection, before
 * any byte is read; on a shared port the backend runs them (`content`).
 * ipv6 keys hold IPv4 clients too, as mapped addresses.
 */
export function clientRules(
  request: HaproxyRouteTcpRequest,
  phase: "connection" | "content",
  peersSection: string | undefined,
): string[] {
  // Counter 0 on the frontend; a backend takes counter 1, as haproxy's manual advises.
  const counter = phase === "connection" ? 0 : 1;
  return [
    ...(request.ipDenyList.length > 0
      ? [`tcp-request ${phase} reject if { src ${request.ipDenyList.join(" ")} }`]
      : []),
    ...(request.rateLimit !== undefined
      ? rateLimitOptions(request.rateLimit, phase, counter, peersSection)
      : []),
  ];
}

function rateLimitOptions(
  limit: TcpRateLimit,
  phase: "connection" | "content",
  counter: number,
  peersSection: string | undefined,
): string[] {
  return [
    "stick-table type ipv6 size 100k expire 1m store conn_rate(1m)" +
      (peersSection !== undefined ? ` peers ${peersSection}` : ""),
    `tcp-request ${phase} track-sc${counter} src`,
    `tcp-request ${phase} ${limit.policy} if { sc_conn_rate(${counter}) gt ${limit.connectionsPerMinute} }`,
  ];
}

function bandwidthLimitOptions(
  request: HaproxyRouteTcpRequest,
  context: TcpBackendContext,
  notes: string[],
): string[] {
  const { upload, download } = request.bandwidthLimit ?? {};
  if (upload === undefined && download === undefined) return [];
  if (!context.bandwidthLimits) {
    notes.push(
      `haproxy-route-tcp ${request.app}: bandwidth_limit is not applied: it needs haproxy 2.7 or later`,
    );
    return [];
  }
  return bandwidthLimitFilters({ upload, download }, "tcp");
}

function servers(request: HaproxyRouteTcpRequest): ServerSpec[] {
  const [listenFirst, listenLast] = request.ports.listen;
  const backendFirst = request.ports.backend[0];
  const range = listenLast !== listenFirst;
  // A range: the server's port is an offset from the port the client
  // reached, so that listen[0] + k reaches backend[0] + k.
  const offset = backendFirst - listenFirst;
  const port = range ? (offset < 0 ? `${offset}` : `+${offset}`) : String(backendFirst);
  const options = serverOptions(request, range);
  return request.targets.map((target): ServerSpec => ({
    // Named by unit (or `hosts` entry), not by position: a unit joining
    // or leaving changes its own line only.
    name: unitSlug(target.name),
    address: bracketed(target.address),
    port,
    options,
  }));
}

function serverOptions(request: HaproxyRouteTcpRequest, range: boolean): string[] {
  const check = request.check;
  return [
    ...(check !== undefined
      ? [
          `check inter ${check.interval}s rise ${check.rise} fall ${check.fall}`,
          // A server reached at an offset has no port of its own to check.
          ...(range ? [`port ${request.ports.backend[0]}`] : []),
          // Servers that expect a PROXY header on every connection refuse checks without one.
          ...(request.proxyProtocol ? ["check-send-proxy"] : []),
        ]
      : []),
    ...(request.serverMaxconn !== undefined ? [`maxconn ${request.serverMaxconn}`] : []),
    ...(request.proxyProtocol ? ["send-proxy-v2"] : []),
  ];
}
