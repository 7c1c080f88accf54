// What an application related on `haproxy-route-tcp` asks for, once its bags
// are read and validated (haproxyRouteTcpRequirers.ts): the typed input every
// other module of this folder works from. Durations are whole seconds, as
// the library sends them; sizes are bytes per second.
import type {
  BandwidthLimit,
  Retry,
  RouteTarget,
  RouteTimeouts,
} from "../haproxyRoute/haproxyRouteRequest.js";

export type { BandwidthLimit, Retry, RouteTarget, RouteTimeouts };

export type TcpCheckType = "generic" | "mysql" | "postgres" | "redis" | "smtp";

export interface TcpHealthCheck {
  /** Seconds between checks. */
  readonly interval: number;
  readonly rise: number;
  readonly fall: number;
  readonly type: TcpCheckType;
  /**
   * generic: what to send and what to expect back (`tcp-check send` / `expect string`).
   * Each is one word of printable ASCII without quotes, "#", "\\", "$" or ";"; a send
   * may end in one line ending ("\n" or "\r\n"), to be written as an escape.
   */
  readonly send?: string;
  readonly expect?: string;
  /** mysql and postgres: the user haproxy's own check logs in as. */
  readonly dbUser?: string;
}

export type TcpLoadBalancingAlgorithm = "leastconn" | "roundrobin" | "source";

export interface TcpLoadBalancing {
  readonly algorithm: TcpLoadBalancingAlgorithm;
  readonly consistentHashing: boolean;
}

export type TcpRateLimitPolicy = "reject" | "silent-drop";

export interface TcpRateLimit {
  readonly connectionsPerMinute: number;
  readonly policy: TcpRateLimitPolicy;
}

/** The ports a route listens on and the ports its servers are reached at, the same length. */
export interface PortMapping {
  /** First and last port haproxy listens on. */
  readonly listen: readonly [number, number];
  /** First and last port of the servers; listen[0] + k goes to backend[0] + k. */
  readonly backend: readonly [number, number];
}

export interface HaproxyRouteTcpRequest {
  readonly relationId: string;
  /** The remote application as Juju names it; also the base of the backend's name. */
  readonly app: string;
  /** `port`/`backend_port` as a range of one, or `port_mapping`. */
  readonly ports: PortMapping;
  /** Routed by this TLS server name (wildcards `*.x` allowed); absent, the port is the route's alone. */
  readonly sni?: string;
  /** `hosts` when given, else each unit that wrote `address`, in unit order. */
  readonly targets: readonly RouteTarget[];
  readonly check?: TcpHealthCheck;
  readonly loadBalancing: TcpLoadBalancing;
  readonly rateLimit?: TcpRateLimit;
  readonly bandwidthLimit?: BandwidthLimit;
  readonly retry?: Retry;
  readonly timeout: RouteTimeouts;
  readonly serverMaxconn?: number;
  /** Client addresses refused before anything else (IP addresses). */
  readonly ipDenyList: readonly string[];
  /** Only TLS connections (with the SNI) are accepted. */
  readonly enforceTls: boolean;
  /** haproxy terminates TLS (with the SNI's certificate); false: passthrough to the servers. */
  readonly tlsTerminate: boolean;
  /** Servers get a PROXY protocol v2 header (`send-proxy-v2`). */
  readonly proxyProtocol: boolean;
  /** Every related unit has written `address` (or `hosts` is given): endpoints may be published. */
  readonly ready: boolean;
}

/** An application left out, and why. */
export interface SkippedTcpApp {
  readonly relationId: string;
  readonly app: string;
  readonly reason: string;
  /** Bad data (a warning) rather than data not written yet (informational). */
  readonly invalid: boolean;
}

export interface HaproxyRouteTcpRequests {
  readonly requests: readonly HaproxyRouteTcpRequest[];
  readonly skipped: readonly SkippedTcpApp[];
}
