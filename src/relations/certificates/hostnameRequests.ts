// Which hostnames the unit asks certificates for, and what each one comes to:
// external_hostname plus the routes' hostnames, one CSR each, all with the
// unit's one key. Each hostname follows the one-certificate lifecycle on its
// own; a hostname no longer asked for is withdrawn with what it held.
import type { KeyObject } from "node:crypto";

import {
  type HeldCertificate,
  type SentRequest,
  decideCertificate,
} from "./certificateLifecycle.js";
import type { ProviderCertificate } from "./providerCertificates.js";

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * A name a CSR may carry: letters, digits, "-" and dots, or `*.` before at
 * least two labels. It goes into openssl's `-subj` and into a file name, so
 * nothing else (no "/", "=", ",", whitespace) passes.
 */
export function isCertificateHostname(hostname: string): boolean {
  const name = hostname.startsWith("*.") ? hostname.slice(2) : hostname;
  const labels = name.split(".");
  if (hostname.startsWith("*.") && labels.length < 2) return false;
  return hostname.length <= 253 && labels.every((label) => LABEL.test(label));
}

export interface RequestedHostnames {
  /** external_hostname first (when set), then the routes' in sorted order, each once. */
  readonly hostnames: readonly string[];
  /** The routes' hostnames that were asked for, lower-cased, sorted. */
  readonly routeHostnames: readonly string[];
  readonly warnings: readonly string[];
}

/** `external`: external_hostname, already checked and lower-cased ("" when unset). */
export function requestedHostnames(
  external: string,
  routeHostnames: readonly string[],
): RequestedHostnames {
  const warnings: string[] = [];
  const routes = new Set<string>();
  for (const raw of routeHostnames) {
    const hostname = raw.toLowerCase();
    if (isCertificateHostname(hostname)) routes.add(hostname);
    else
      warnings.push(
        `${JSON.stringify(raw.slice(0, 80))} is not a host name; no certificate asked for it`,
      );
  }
  const sortedRoutes = [...routes].sort();
  const hostnames = [...new Set([...(external === "" ? [] : [external]), ...sortedRoutes])];
  return { hostnames, routeHostnames: sortedRoutes, warnings };
}

export interface HostnamesInput {
  readonly hostnames: readonly string[];
  /** What the unit sent and held, by hostname; entries for other hostnames are dropped. */
  readonly sent: ReadonlyMap<string, SentRequest>;
  readonly held: ReadonlyMap<string, HeldCertificate>;
  readonly offered: readonly ProviderCertificate[];
  readonly key: KeyObject;
  readonly now: number;
}

export interface HostnameDecision {
  readonly hostname: string;
  /** The CSR out there now; absent when a fresh one must be made. */
  readonly sent?: SentRequest;
  readonly held?: HeldCertificate;
  readonly newRequest: boolean;
  readonly warnings: readonly string[];
}

/** One decision per hostname, in the order of `hostnames`. */
export function decideHostnameCertificates(input: HostnamesInput): HostnameDecision[] {
  return input.hostnames.map((hostname) => {
    const sent = input.sent.get(hostname);
    const held = input.held.get(hostname);
    const decision = decideCertificate({
      hostname,
      ...(sent && { sent }),
      ...(held && { held }),
      offered: input.offered,
      key: input.key,
      now: input.now,
    });
    return {
      hostname,
      ...(sent && !decision.newRequest && { sent }),
      ...(decision.held && { held: decision.held }),
      newRequest: decision.newRequest,
      warnings: decision.warnings,
    };
  });
}

/** The unit bag value a requirer in unit mode writes: one entry per CSR, none a CA. */
export function certificateRequestsValue(csrs: readonly string[]): string {
  return csrs.length === 0
    ? ""
    : JSON.stringify(csrs.map((csr) => ({ certificate_signing_request: csr.trim(), ca: false })));
}
