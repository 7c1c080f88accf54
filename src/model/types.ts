// The charm's data model. Inputs (config, relation data) are parsed into
// ServiceSpec values; the planner turns those into a HaproxyConfig that the
// templates render verbatim. Templates never see the inputs' own shapes.

/** One `server` line of a backend, before `{i}` substitution. */
export interface ServerSpec {
  readonly name: string;
  readonly address: string;
  readonly port: string;
  readonly options: readonly string[];
}

/** An extra backend of a service (the `backends` key), reached through ACLs. */
export interface BackendSpec {
  readonly name: string;
  readonly servers: readonly ServerSpec[];
}

/** A custom error page: `errorfile <status> <file>` with the decoded body. */
export interface ErrorfileSpec {
  readonly status: number;
  readonly content: string;
}

/** A TLS certificate source for a service's bind line. */
export type CrtSpec =
  | { readonly kind: "default" }
  | { readonly kind: "inline"; readonly pem: string }
  | { readonly kind: "directory"; readonly path: string }
  /** A certificate file the charm writes itself (the certificates relation's). */
  | { readonly kind: "file"; readonly path: string }
  /** A crt-list the charm writes itself: one certificate file a line (the hostnames'). */
  | { readonly kind: "crt-list"; readonly path: string };

/**
 * Requests for one path prefix (and, when given, one Host) that go to their
 * own backend ahead of the service's default backend: an ingress route.
 */
export interface HttpRoute {
  /** The backend's name, also the base of its ACL names. */
  readonly name: string;
  /** `/model-app`: the path itself and everything below it. */
  readonly pathPrefix: string;
  readonly host?: string;
  /** Plain HTTP requests for this route are redirected to HTTPS. */
  readonly redirectHttps: boolean;
  readonly backendOptions: readonly string[];
  readonly servers: readonly ServerSpec[];
}

/** A backend of its own reached through a route: its lines and servers. */
export interface RouteBackendSpec {
  readonly name: string;
  readonly options: readonly string[];
  readonly servers: readonly ServerSpec[];
}

/**
 * Requests routed by Host and path prefix through a map file, so that the
 * cost of routing a request does not grow with the number of hostnames
 * (haproxy-route): the longest `<host><path>` key wins.
 */
export interface MappedRoutes {
  /** `<host><path> <backend>` lines; a `*.` host is a wildcard for one label. */
  readonly mapFile: string;
  /** Backends whose plain HTTP requests are redirected to HTTPS, one name a line. */
  readonly redirectFile?: string;
  readonly backends: readonly RouteBackendSpec[];
}

/** A service as the old charm's services YAML describes it, validated and typed. */
export interface ServiceSpec {
  readonly name: string;
  readonly host?: string;
  readonly port?: number;
  readonly serviceOptions: readonly string[];
  readonly serverOptions: readonly string[];
  readonly servers: readonly ServerSpec[];
  readonly backends: readonly BackendSpec[];
  readonly errorfiles: readonly ErrorfileSpec[];
  readonly crts: readonly CrtSpec[];
  /** Ingress routes served on this service's port before its default backend. */
  readonly routes?: readonly HttpRoute[];
  /** haproxy-route routes, looked up after the ingress routes. */
  readonly mappedRoutes?: MappedRoutes;
  /**
   * Another proxy's backend this frontend sends everything to: the service
   * renders no backend of its own (a second front door to one backend).
   */
  readonly defaultBackend?: string;
  /** Words added to the bind line after its certificates (`alpn h2`). */
  readonly bindOptions?: readonly string[];
  /** The bind covers every port from `port` to this one (`bind 0.0.0.0:a-b`). */
  readonly lastPort?: number;
  /**
   * Frontend lines kept as they are, after the service's own (which are
   * sorted between frontend and backend by their first words): e.g.
   * `tcp-request connection` rules, which that sorting would send to the backend.
   */
  readonly frontendOptions?: readonly string[];
  /** Backends of their own (lines and servers), rendered after the others. */
  readonly routeBackends?: readonly RouteBackendSpec[];
}

/** A service after host/port assignment: what a frontend is built from. */
export interface PlacedService extends ServiceSpec {
  readonly host: string;
  readonly port: number;
}

// ---- Render-ready model: exactly what templates/haproxy.cfg.hbs prints. ----

export interface GlobalSection {
  readonly logs: readonly string[];
  readonly maxconn: number;
  readonly user: string;
  readonly group: string;
  readonly quiet: boolean;
  /** How long old workers may linger after a reload. */
  readonly hardStopAfter: string;
  readonly spreadChecks: number;
  readonly dhParam: number;
  readonly bindCiphers: string;
  /** TLS 1.3 suites (`ssl-default-bind-ciphersuites`). */
  readonly bindCiphersuites?: string;
  readonly bindOptions?: string;
  /** Complete `stats socket` arguments, one line each. */
  readonly statsSockets: readonly string[];
  /** Server states saved before a reload, loaded by the new worker. */
  readonly serverStateFile: string;
}

export interface DefaultsSection {
  readonly log: string;
  readonly mode: string;
  readonly options: readonly string[];
  readonly retries: number;
  readonly timeouts: readonly string[];
}

export interface Userlist {
  readonly name: string;
  readonly groups: readonly string[];
  readonly users: readonly string[];
}

export interface FrontendStanza {
  readonly name: string;
  /** `host:port` followed by any bind parameters (`ssl crt ...`). */
  readonly bind: string;
  /** Absent: the frontend answers itself (the exporter listener). */
  readonly defaultBackend?: string;
  readonly options: readonly string[];
}

export interface ServerLine {
  readonly name: string;
  readonly address: string;
  readonly port: string;
  /** Options joined with spaces, `{i}` already replaced. */
  readonly options: string;
}

export interface BackendStanza {
  readonly name: string;
  readonly options: readonly string[];
  readonly errorfiles: readonly { readonly status: number; readonly path: string }[];
  readonly servers: readonly ServerLine[];
}

/** A frontend and the backends that belong to it (default first). */
export interface ProxyStanza {
  readonly frontend: FrontendStanza;
  readonly backends: readonly BackendStanza[];
}

/** One haproxy unit that shares stick tables: `peer <name> <address>:<port>`. */
export interface PeerLine {
  readonly name: string;
  readonly address: string;
  readonly port: number;
}

/**
 * The `peers` section through which the units' haproxies push their stick
 * tables to each other. It names this unit too: haproxy listens on the local
 * peer's address, and a table cannot refer to a section without it.
 */
export interface PeersSection {
  readonly name: "haproxy_peers";
  /** This unit's peer name, printed as `localpeer` in the global section. */
  readonly localPeer: string;
  /** Every unit, this one included, in unit order. */
  readonly peers: readonly PeerLine[];
}

export interface HaproxyConfig {
  readonly global: GlobalSection;
  readonly defaults: DefaultsSection;
  readonly userlists: readonly Userlist[];
  /** Present only when a stick table is shared (`peers haproxy_peers`). */
  readonly peers?: PeersSection;
  /** The monitoring listener first (when enabled), then services by name. */
  readonly proxies: readonly ProxyStanza[];
}

/** A file haproxy.cfg refers to (errorfile, certificate), written before it. */
export interface ManagedFile {
  readonly path: string;
  readonly content: string;
  readonly mode: number;
  /** Keys and certificates: owned by the haproxy user, never logged. */
  readonly secret: boolean;
}
