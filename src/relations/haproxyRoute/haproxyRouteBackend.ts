// What one haproxy-route request puts inside its `backend <service>`: the
// options in the order haproxy runs them, and one server per target and
// port. Routing to the backend (Host and path ACLs, redirects) is the
// frontend's business, not this file's.
//
// Where Canonical's charm renders a field wrong, this renders what the
// requirer asked for: the rate-limit table stores the rate its rule reads
// (and is tracked on a counter the frontend's own limits do not take),
// `server_maxconn` reaches every server, and https servers get HTTP checks.

import { HSTS_RESPONSE } from "../../model/hsts.js";
import type { ServerSpec } from "../../model/types.js";
import { unitSlug } from "../../model/unitNames.js";
import type {
  HaproxyRouteRequest,
  LoadBalancing,
  RateLimit,
  RouteHealthCheck,
} from "./haproxyRouteRequest.js";
import { bandwidthLimitFilters } from "./bandwidthLimitFilters.js";
import { bracketed } from "../../model/bracketedAddress.js";

export interface RouteBackendContext {
  /** The CA bundle from receive-ca-certs, for protocol https; absent, no CAs. */
  readonly caFile?: string;
  /** The name of haproxy's `peers` section when the haproxy units share stick tables; absent, tables stay local. */
  readonly peersSection?: string;
  /** The enable_hsts option: Strict-Transport-Security on responses sent over TLS. */
  readonly hsts: boolean;
  /** haproxy can limit bandwidth (filter bwlim-*, haproxy 2.7 and later). */
  readonly bandwidthLimits: boolean;
}

export interface RouteBackend {
  /** The lines of `backend <service>`, in order. */
  readonly options: readonly string[];
  readonly servers: readonly ServerSpec[];
  /** Fields accepted but not rendered on this haproxy, for the log (e.g. bandwidth_limit on 2.6). */
  readonly notes: readonly string[];
}

export function haproxyRouteBackend(
  request: HaproxyRouteRequest,
  context: RouteBackendContext,
): RouteBackend {
  if (request.protocol === "https" && context.caFile === undefined) {
    throw new Error(`haproxy-route ${request.service}: protocol https without a CA file`);
  }
  const notes: string[] = [];
  const bandwidth = bandwidthLimitOptions(request, context, notes);
  return {
    options: [
      "mode http",
      ...balanceOptions(request.loadBalancing, request.service, notes),
      // What every proxy tells the application about the client and its scheme.
      "option forwardfor",
      "http-request set-header X-Forwarded-Proto https if { ssl_fc }",
      "http-request set-header X-Forwarded-Proto http if !{ ssl_fc }",
      `timeout server ${request.timeout.server}s`,
      `timeout connect ${request.timeout.connect}s`,
      `timeout queue ${request.timeout.queue}s`,
      ...(request.retry !== undefined
        ? [
            `retries ${request.retry.count}`,
            ...(request.retry.redispatch ? ["option redispatch"] : []),
          ]
        : []),
      ...(request.httpServerClose ? ["option http-server-close"] : []),
      ...(request.check !== undefined ? healthCheckOptions(request.check, request.hostnames) : []),
      // Counted before anything refuses the request: a client hammering denied
      // paths is still limited.
      ...(request.rateLimit !== undefined ? rateLimitOptions(request.rateLimit, context) : []),
      ...denyPathRules(request.denyPaths),
      // After the deny rules, which must see the path the client sent.
      ...request.rewrites.map((rewrite) =>
        rewrite.method === "set-header"
          ? `http-request set-header ${requireHeader(rewrite.header, request.service)} ${rewrite.expression}`
          : `http-request ${rewrite.method} ${rewrite.expression}`,
      ),
      ...bandwidth,
      // A promise to use TLS only: never made where plain HTTP is served on purpose.
      ...(context.hsts && !request.allowHttp ? [HSTS_RESPONSE] : []),
    ],
    servers: servers(request, context),
    notes,
  };
}

// haproxy reads at most 64 words a line and refuses a configuration with a
// longer one; the rule's own words take 9.
const DENY_PATHS_PER_LINE = 50;

/** `deny_paths` over as many rules as haproxy's 64 words a line need. */
function denyPathRules(paths: readonly string[]): string[] {
  const rules: string[] = [];
  for (let i = 0; i < paths.length; i += DENY_PATHS_PER_LINE) {
    const some = paths.slice(i, i + DENY_PATHS_PER_LINE).join(" ");
    rules.push(`http-request deny deny_status 403 if { path_beg -i ${some} }`);
  }
  return rules;
}

function balanceOptions(balancing: LoadBalancing, service: string, notes: string[]): string[] {
  const hashing = balancing.algorithm === "source" || balancing.algorithm === "cookie";
  if (balancing.consistentHashing && !hashing) {
    notes.push(
      `haproxy-route ${service}: consistent_hashing has no effect with ${balancing.algorithm}, which does not hash`,
    );
  }
  const balance =
    balancing.algorithm === "cookie"
      ? `balance hash req.cook(${requireCookie(balancing.cookie, service)})`
      : `balance ${balancing.algorithm}`;
  return [balance, ...(balancing.consistentHashing && hashing ? ["hash-type consistent"] : [])];
}

function healthCheckOptions(check: RouteHealthCheck, hostnames: readonly string[]): string[] {
  const host = checkHost(hostnames);
  const request = [
    ...(check.path !== undefined ? [`meth GET uri ${check.path}`] : []),
    ...(host !== undefined ? [`hdr Host ${host}`] : []),
  ];
  return [
    "option httpchk",
    ...(request.length > 0 ? [`http-check send ${request.join(" ")}`] : []),
  ];
}

/**
 * The Host health checks ask for: the first hostname that is not a wildcard,
 * else the first wildcard's base domain (`*.example.com` -> `example.com`),
 * which is what Canonical's charm sends.
 */
export function checkHost(hostnames: readonly string[]): string | undefined {
  const exact = hostnames.find((hostname) => !hostname.startsWith("*."));
  return exact ?? hostnames[0]?.slice(2);
}

function rateLimitOptions(limit: RateLimit, context: RouteBackendContext): string[] {
  const action = {
    deny: "deny deny_status 429",
    reject: "reject",
    "silent-drop": "silent-drop",
  }[limit.policy];
  // ipv6 keys hold IPv4 clients too (as mapped addresses); an `ip` table would
  // leave IPv6 clients untracked. Counter 1, as haproxy's manual advises for
  // backends: a frontend's own limits (a DDoS guard) usually take counter 0,
  // and a second track-sc0 on the same request would be ignored.
  return [
    "stick-table type ipv6 size 100k expire 1m store http_req_rate(1m)" +
      (context.peersSection !== undefined ? ` peers ${context.peersSection}` : ""),
    "http-request track-sc1 src",
    `http-request ${action} if { sc_http_req_rate(1) gt ${limit.connectionsPerMinute} }`,
  ];
}

function bandwidthLimitOptions(
  request: HaproxyRouteRequest,
  context: RouteBackendContext,
  notes: string[],
): string[] {
  const { upload, download } = request.bandwidthLimit ?? {};
  if (upload === undefined && download === undefined) return [];
  if (!context.bandwidthLimits) {
    notes.push(
      `haproxy-route ${request.service}: bandwidth_limit is not applied: it needs haproxy 2.7 or later`,
    );
    return [];
  }
  return bandwidthLimitFilters({ upload, download }, "http");
}

function servers(request: HaproxyRouteRequest, context: RouteBackendContext): ServerSpec[] {
  const options = serverOptions(request, context);
  return request.targets.flatMap((target) =>
    request.ports.map((port): ServerSpec => ({
      // Named by unit and port, not by position: a unit joining or leaving
      // changes its own lines only.
      name: `${unitSlug(target.name)}_${port}`,
      address: bracketed(target.address),
      port: String(port),
      options,
    })),
  );
}

function serverOptions(request: HaproxyRouteRequest, context: RouteBackendContext): string[] {
  const check = request.check;
  return [
    // No check asked for, none made: the requirer's servers are sent nothing it did not ask for.
    ...(check !== undefined
      ? [
          `check inter ${check.interval}s rise ${check.rise} fall ${check.fall}`,
          ...(check.port !== undefined ? [`port ${check.port}`] : []),
        ]
      : []),
    ...(request.serverMaxconn !== undefined ? [`maxconn ${request.serverMaxconn}`] : []),
    ...(request.protocol === "https"
      ? [
          `ssl verify required ca-file ${context.caFile ?? ""} alpn h2,http/1.1`,
          // Checks on another port do not inherit TLS from the server.
          ...(check !== undefined ? ["check-ssl"] : []),
        ]
      : []),
  ];
}

function requireCookie(cookie: string | undefined, service: string): string {
  if (cookie === undefined)
    throw new Error(`haproxy-route ${service}: cookie balancing without a cookie`);
  return cookie;
}

function requireHeader(header: string | undefined, service: string): string {
  if (header === undefined)
    throw new Error(`haproxy-route ${service}: set-header without a header`);
  return header;
}
