// Turns a placed service into its frontend and backends, plus the files
// (error pages, certificates) those stanzas refer to.
import { splitOptions } from "./splitOptions.js";
import type {
  BackendStanza,
  CrtSpec,
  ManagedFile,
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
  const options = splitOptions(service.serviceOptions);

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

  const crtPaths = service.crts.map((crt, i) => certificatePath(crt, i, dir, context.libDir));
  const certificateFiles: ManagedFile[] = service.crts.flatMap((crt, i) =>
    crt.kind === "inline"
      ? [{ path: crtPaths[i] as string, content: crt.pem, mode: 0o600, secret: true }]
      : [],
  );

  const backend = (name: string, servers: readonly ServerSpec[]): BackendStanza => ({
    name,
    options: options.backend,
    errorfiles,
    servers: servers.map((server, i) => ({
      name: server.name,
      address: server.address,
      port: server.port,
      options: server.options.join(" ").replaceAll("{i}", String(i)),
    })),
  });

  return {
    stanza: {
      frontend: {
        name: `${unitSlug(context.unitName)}-${service.port}`,
        bind: bindLine(service.host, service.port, crtPaths),
        defaultBackend: service.name,
        options: [...options.frontend, ...reloadSafety(options.frontend, context.defaultMode)],
      },
      backends: [
        backend(service.name, service.servers),
        ...service.backends.map((extra) => backend(extra.name, extra.servers)),
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
  const modes = frontendOptions.filter((option) => /^mode\s/.test(option));
  const mode = modes.length > 0 ? (modes.at(-1) as string).split(/\s+/)[1] : defaultMode;
  const chosen = frontendOptions.some((option) => option.includes("idle-close-on-response"));
  return mode === "http" && !chosen ? ["option idle-close-on-response"] : [];
}

function certificatePath(crt: CrtSpec, index: number, serviceDir: string, libDir: string): string {
  switch (crt.kind) {
    case "default":
      return defaultCertificatePath(libDir);
    case "directory":
      return crt.path;
    case "inline":
      return `${serviceDir}/${index}.pem`;
  }
}

function bindLine(host: string, port: number, crtPaths: readonly string[]): string {
  const address = `${host}:${port}`;
  if (crtPaths.length === 0) return address;
  // SSLv3 and TLS 1.0/1.1 are broken; nothing below TLS 1.2 is offered.
  return `${address} ssl ${crtPaths.map((path) => `crt ${path}`).join(" ")} ssl-min-ver TLSv1.2`;
}
