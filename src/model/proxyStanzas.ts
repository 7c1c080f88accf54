// Turns a placed service into its frontend and backends, plus the files
// (error pages, certificates) those stanzas refer to.
import { moveHttpchkHeaders } from "./httpchkHeaders.js";
import type { ConfiguredServer } from "./serverDelta.js";
import { numberedOptions, serverNumbers } from "./serverNumbers.js";
import { proxyMode, splitOptions } from "./splitOptions.js";
import type {
  BackendStanza,
  CrtSpec,
  HttpRoute,
  ManagedFile,
  MappedRoutes,
  PlacedService,
  ProxyStanza,
  ServerSpec,
} from "./types.js";
import { unitSlug } from "./unitNames.js";

export interface StanzaContext {
  /** This haproxy unit: frontends are named `<unit-slug>-<port>`. */
  readonly unitName: string;
  readonly libDir: string;
  /** The defaults section's mode, which a frontend without `mode` inherits. */
  readonly defaultMode: string;
  /** What `crts: [DEFAULT]` loads; absent, `<libDir>/default.pem`. */
  readonly defaultCertificate?: string;
  /** The live haproxy.cfg's servers by backend: each keeps its `{i}` (serverNumbers.ts). */
  readonly liveServers?: ReadonlyMap<string, readonly ConfiguredServer[]>;
}

export interface BuiltProxy {
  readonly stanza: ProxyStanza;
  readonly files: readonly ManagedFile[];
}

export function defaultCertificatePath(libDir: string): string {
  return `${libDir}/default.pem`;
}

export function serviceFilesDir(libDir: string, serviceName: string): string {
  return `${libDir}/service_${serviceName}`;
}

export function buildProxy(service: PlacedService, context: StanzaContext): BuiltProxy {
  const dir = serviceFilesDir(context.libDir, service.name);
  const options = splitOptions(moveHttpchkHeaders(service.serviceOptions));

  const errorfiles = service.errorfiles.map((errorfile) => ({
    status: errorfile.status,
    path: `${dir}/${errorfile.status}.http`,
  }));
  const errorfileFiles: ManagedFile[] = service.errorfiles.map((errorfile, i) => ({
    path: errorfiles[i]?.path as string,
    content: errorfile.content,
    mode: 0o644,
    secret: false,
  }));

  const crtPaths = service.crts.map((crt, i) => certificatePath(crt, i, dir, context));
  const crtWords = service.crts.map(
    (crt, i) => `${crt.kind === "crt-list" ? "crt-list" : "crt"} ${crtPaths[i] as string}`,
  );
  const certificateFiles: ManagedFile[] = service.crts.flatMap((crt, i) =>
    crt.kind === "inline"
      ? [{ path: crtPaths[i] as string, content: crt.pem, mode: 0o600, secret: true }]
      : [],
  );

  const backend = (
    name: string,
    servers: readonly ServerSpec[],
    backendOptions = options.backend,
  ): BackendStanza => {
    const numbers = serverNumbers(servers, context.liveServers?.get(name));
    return {
      name,
      options: backendOptions,
      errorfiles: backendOptions === options.backend ? errorfiles : [],
      servers: servers.map((server, i) => ({
        name: server.name,
        address: server.address,
        port: server.port,
        options: numberedOptions(server.options, numbers[i] as number),
      })),
    };
  };
  const routes = service.routes ?? [];

  return {
    stanza: {
      frontend: {
        name: `${unitSlug(context.unitName)}-${service.port}`,
        bind: bindLine(
          service.host,
          service.lastPort === undefined
            ? `${service.port}`
            : `${service.port}-${service.lastPort}`,
          crtWords,
          service.bindOptions ?? [],
        ),
        defaultBackend: service.defaultBackend ?? service.name,
        options: [
          ...withRoutes(
            [...options.frontend, ...reloadSafety(options.frontend, context.defaultMode)],
            routes,
            crtPaths.length > 0,
            service.mappedRoutes,
          ),
          ...(service.frontendOptions ?? []),
        ],
      },
      backends: [
        // Another proxy renders the backend this frontend sends to.
        ...(service.defaultBackend === undefined ? [backend(service.name, service.servers)] : []),
        ...service.backends.map((extra) => backend(extra.name, extra.servers)),
        ...routes.map((route) => backend(route.name, route.servers, route.backendOptions)),
        ...(service.mappedRoutes?.backends ?? []).map((route) =>
          backend(route.name, route.servers, route.options),
        ),
        ...(service.routeBackends ?? []).map((own) => backend(own.name, own.servers, own.options)),
      ],
    },
    files: [...errorfileFiles, ...certificateFiles],
  };
}

// On reload, haproxy closes the old worker's idle keep-alive connections; a
// client that sends its next request at that instant gets no answer. With
// this option the old worker answers that request with `Connection: close`
// instead. It exists for HTTP frontends only (haproxy warns elsewhere), and an
// operator's own `[no] option idle-close-on-response` wins.
function reloadSafety(frontendOptions: readonly string[], defaultMode: string): string[] {
  const mode = proxyMode(frontendOptions, defaultMode);
  const chosen = frontendOptions.some((option) => option.includes("idle-close-on-response"));
  return mode === "http" && !chosen ? ["option idle-close-on-response"] : [];
}

/**
 * Routes come first: their ACLs and redirects, then the service's own lines
 * with its `use_backend` rules last, after the routes' (a request for a
 * route goes to it; haproxy warns about http-request rules placed after
 * use_backend ones). Ingress routes are matched before mapped ones.
 */
function withRoutes(
  frontendOptions: readonly string[],
  routes: readonly HttpRoute[],
  tls: boolean,
  mapped: MappedRoutes | undefined,
): string[] {
  if (routes.length === 0 && mapped === undefined) return [...frontendOptions];
  const hosts = [...new Set(routes.flatMap((route) => (route.host ? [route.host] : [])))];
  const hostAcl = (host: string) => `ingress_host_${hosts.indexOf(host)}`;
  const condition = (route: HttpRoute) =>
    `${route.host ? `${hostAcl(route.host)} ` : ""}ingress_${route.name}`;
  const isUseBackend = (option: string) => option.startsWith("use_backend");
  return [
    // The Host header without its port, as the client typed it.
    ...hosts.map((host) => `acl ${hostAcl(host)} req.hdr(host),field(1,:) -i ${host}`),
    ...routes.flatMap((route) => [
      `acl ingress_${route.name} path ${route.pathPrefix}`,
      `acl ingress_${route.name} path_beg ${route.pathPrefix}/`,
    ]),
    ...routes
      .filter((route) => route.redirectHttps && !tls)
      .map((route) => `http-request redirect scheme https code 308 if ${condition(route)}`),
    ...(mapped ? mappedRouteLookup(mapped, tls, routes.map(condition)) : []),
    ...frontendOptions.filter((option) => !isUseBackend(option)),
    ...routes.map((route) => `use_backend ${route.name} if ${condition(route)}`),
    ...(mapped
      ? [`use_backend %[var(${ROUTE_BACKEND_VAR})] if { var(${ROUTE_BACKEND_VAR}) -m found }`]
      : []),
    ...frontendOptions.filter(isUseBackend),
  ];
}

const ROUTE_BACKEND_VAR = "txn.route_backend";

/**
 * One indexed longest-prefix lookup of `<host><path>` (map_beg), then, only
 * when it found nothing, one of `*.<parent domain><path>` for wildcard
 * hostnames. A request an ingress route takes is not looked up, so that no
 * redirect of a mapped route reaches it.
 */
function mappedRouteLookup(
  mapped: MappedRoutes,
  tls: boolean,
  ingressConditions: readonly string[],
): string[] {
  const ingress = ingressConditions.join(" || ");
  const unlessIngress = ingress === "" ? "" : ` unless ${ingress}`;
  const unlessFound = ` unless { var(${ROUTE_BACKEND_VAR}) -m found }${ingress === "" ? "" : ` || ${ingress}`}`;
  const host = "req.hdr(host),field(1,:),lower";
  const lookup = `var(txn.route_key),map_beg(${mapped.mapFile})`;
  return [
    "http-request set-var(txn.route_path) path",
    `http-request set-var(txn.route_key) ${host},concat(,txn.route_path)`,
    `http-request set-var(${ROUTE_BACKEND_VAR}) ${lookup}${unlessIngress}`,
    `http-request set-var(txn.route_key) ${host},regsub(^[^.]*,*),concat(,txn.route_path)${unlessFound}`,
    `http-request set-var(${ROUTE_BACKEND_VAR}) ${lookup}${unlessFound}`,
    ...(!tls && mapped.redirectFile !== undefined
      ? [
          `http-request redirect scheme https code 302 if { var(${ROUTE_BACKEND_VAR}) -m str -f ${mapped.redirectFile} }`,
        ]
      : []),
  ];
}

function certificatePath(
  crt: CrtSpec,
  index: number,
  serviceDir: string,
  context: StanzaContext,
): string {
  switch (crt.kind) {
    case "default":
      return context.defaultCertificate ?? defaultCertificatePath(context.libDir);
    case "directory":
    case "file":
    case "crt-list":
      return crt.path;
    case "inline":
      return `${serviceDir}/${index}.pem`;
  }
}

/** `allCrtWords`: `crt <file>` and `crt-list <file>`, in the service's order; `options` follow them. */
function bindLine(
  host: string,
  port: string,
  allCrtWords: readonly string[],
  options: readonly string[],
): string {
  const address = `${host}:${port}`;
  const crtWords = [...new Set(allCrtWords)];
  // The TLS versions and ciphers come from the global ssl-default-bind-*
  // lines: anything set here would override the operator's choice there.
  const tls = crtWords.length === 0 ? [] : ["ssl", ...crtWords];
  return [address, ...tls, ...options].join(" ");
}
