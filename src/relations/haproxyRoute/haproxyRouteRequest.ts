// What an application related on `haproxy-route` asks for, once its bags are
// read and validated (haproxyRouteRequirers.ts): the typed input every other
// module of this folder works from. Durations are whole seconds, as the
// library sends them; sizes are bytes per second.

export type LoadBalancingAlgorithm = "leastconn" | "roundrobin" | "source" | "cookie";

export interface LoadBalancing {
  readonly algorithm: LoadBalancingAlgorithm;
  /** The cookie hashed on, for `cookie`. */
  readonly cookie?: string;
  readonly consistentHashing: boolean;
}

export interface RouteHealthCheck {
  /** Seconds between checks. */
  readonly interval: number;
  readonly rise: number;
  readonly fall: number;
  /** HTTP checks: the path asked for; absent, haproxy's own `OPTIONS /`. */
  readonly path?: string;
  /** Another port of the servers to check. */
  readonly port?: number;
}

export type RewriteMethod = "set-path" | "set-query" | "set-header";

export interface Rewrite {
  readonly method: RewriteMethod;
  readonly expression: string;
  /** The header to set, for `set-header`. */
  readonly header?: string;
}

export type RateLimitPolicy = "deny" | "reject" | "silent-drop";

export interface RateLimit {
  readonly connectionsPerMinute: number;
  readonly policy: RateLimitPolicy;
}

export interface BandwidthLimit {
  /** Bytes per second from the client to the servers. */
  readonly upload?: number;
  /** Bytes per second from the servers to the client. */
  readonly download?: number;
}

export interface Retry {
  readonly count: number;
  readonly redispatch: boolean;
}

export interface RouteTimeouts {
  readonly server: number;
  readonly connect: number;
  readonly queue: number;
}

/** One backend server address: a unit's `address`, or one of the app's `hosts`. */
export interface RouteTarget {
  /** `app/0` for a unit, `host-<i>` for an entry of `hosts`; names its servers. */
  readonly name: string;
  /** An IP address (IPv6 without brackets). */
  readonly address: string;
}

export interface HaproxyRouteRequest {
  readonly relationId: string;
  /** The remote application as Juju names it. */
  readonly app: string;
  /** The backend's name, unique over every haproxy-route relation. */
  readonly service: string;
  readonly ports: readonly number[];
  readonly protocol: "http" | "https";
  /** `hosts` when given, else each unit that wrote `address`, in unit order. */
  readonly targets: readonly RouteTarget[];
  /** Path prefixes; empty: every path. */
  readonly paths: readonly string[];
  /** `hostname` then `additional_hostnames`, lower case; `*.x` wildcards kept as written. */
  readonly hostnames: readonly string[];
  /** The hostname came from the charm's external_hostname (the app named none). */
  readonly hostnameFromConfig: boolean;
  readonly rewrites: readonly Rewrite[];
  readonly check?: RouteHealthCheck;
  readonly loadBalancing: LoadBalancing;
  readonly rateLimit?: RateLimit;
  readonly bandwidthLimit?: BandwidthLimit;
  readonly retry?: Retry;
  readonly denyPaths: readonly string[];
  readonly timeout: RouteTimeouts;
  readonly serverMaxconn?: number;
  readonly httpServerClose: boolean;
  readonly allowHttp: boolean;
  readonly externalGrpcPort?: number;
  /** Every related unit has written `address` (or `hosts` is given): endpoints may be published. */
  readonly ready: boolean;
}

/** An application left out, and why. */
export interface SkippedRouteApp {
  readonly relationId: string;
  readonly app: string;
  readonly reason: string;
  /** Bad data (a warning) rather than data not written yet (informational). */
  readonly invalid: boolean;
}

export interface HaproxyRouteRequests {
  readonly requests: readonly HaproxyRouteRequest[];
  readonly skipped: readonly SkippedRouteApp[];
}
