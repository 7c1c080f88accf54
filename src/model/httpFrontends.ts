// The shared HTTP front doors on ports 80 and 443: ingress and haproxy-route
// routes are served by whichever service holds the port (an operator's or a
// classic relation's), ahead of its own default backend; when none does, the
// charm adds a service of its own. A port held in tcp mode, or with TLS when
// plain HTTP is needed (or the reverse), cannot take routes.
import { ServiceConflictError } from "../lib/errors.js";
import { completeService } from "./placeServices.js";
import { proxyMode } from "./splitOptions.js";
import type { CrtSpec, PlacedService } from "./types.js";

export const HTTP_PORT = 80;
export const HTTPS_PORT = 443;
export const OWN_HTTP_SERVICE = "ingress_http";
export const OWN_HTTPS_SERVICE = "ingress_https";

/** A certificate file, or a crt-list of them, that the charm writes itself. */
export type CertificateSource = Extract<CrtSpec, { kind: "file" | "crt-list" }>;

export interface HttpPortClaim {
  readonly port: number;
  /** The certificates served on the port, in order; empty for plain HTTP. */
  readonly certificates: readonly CertificateSource[];
  /** The defaults section's mode, which a frontend without `mode` inherits. */
  readonly defaultMode: string;
  /** Who needs the port, for the conflict's message (`ingress`, `haproxy-route`). */
  readonly claimant: string;
}

/** The services with `add` applied to the port's holder, created when there is none. */
export function onHttpPort(
  services: readonly PlacedService[],
  claim: HttpPortClaim,
  add: (service: PlacedService) => PlacedService,
): PlacedService[] {
  const { port, certificates, claimant } = claim;
  const tls = certificates.length > 0;
  const owner = services.find((service) => service.port === port);
  if (owner === undefined) {
    const own: PlacedService = {
      ...completeService({ name: tls ? OWN_HTTPS_SERVICE : OWN_HTTP_SERVICE }),
      host: "0.0.0.0",
      port,
      serviceOptions: ["mode http"],
      crts: [...certificates],
    };
    return [...services, add(own)];
  }
  const clash = (need: string, has: string) =>
    new ServiceConflictError(
      port,
      [owner.name, claimant],
      `${claimant} needs port ${port} ${need}, but service ${owner.name} serves it ${has}`,
    );
  if (proxyMode(owner.serviceOptions, claim.defaultMode) !== "http")
    throw clash("for HTTP", "in tcp mode");
  const ownerTls = owner.crts.length > 0;
  if (tls && !ownerTls) throw clash("for HTTPS", "without TLS");
  if (!tls && ownerTls) throw clash("for plain HTTP", "with TLS");
  const sourceKey = (crt: CrtSpec) => ("path" in crt ? `${crt.kind} ${crt.path}` : crt.kind);
  const held = new Set(owner.crts.map(sourceKey));
  const withCertificates: PlacedService = {
    ...owner,
    crts: [...owner.crts, ...certificates.filter((crt) => !held.has(sourceKey(crt)))],
  };
  return services.map((service) => (service === owner ? add(withCertificates) : service));
}
