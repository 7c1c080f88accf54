// Turns ingress requests into haproxy routes: one backend per application,
// reached at `/<model>-<name>` (and only for external_hostname's Host
// header when it is set), one server per unit.
import { isIP } from "node:net";

import { HSTS_RESPONSE } from "../../model/hsts.js";
import { ingressForwarding } from "../../model/ingressForwarding.js";
import type { HttpRoute, ServerSpec } from "../../model/types.js";
import { unitSlug } from "../../model/unitNames.js";
import type { IngressRequest } from "./ingressRequirers.js";

export interface RouteContext {
  /** external_hostname, or empty. */
  readonly externalHostname: string;
  /** A certificate for external_hostname is served on port 443. */
  readonly tls: boolean;
  /** The enable_hsts option. */
  readonly hsts?: boolean;
}

export function routeName(request: Pick<IngressRequest, "model" | "name">): string {
  return `${request.model}-${request.name}`;
}

export function ingressRoute(request: IngressRequest, context: RouteContext): HttpRoute {
  const name = routeName(request);
  const pathPrefix = `/${name}`;
  return {
    name,
    pathPrefix,
    ...(context.externalHostname !== "" && { host: context.externalHostname }),
    redirectHttps: request.redirectHttps && context.tls,
    backendOptions: [
      ...backendOptions(request, pathPrefix),
      ...(context.hsts === true ? [HSTS_RESPONSE] : []),
    ],
    servers: request.units.map((unit): ServerSpec => ({
      name: unitSlug(unit.unit),
      address: unit.address,
      port: String(request.port),
      options: [
        ...serverOptions(request),
        // A name haproxy cannot resolve must not stop it from starting: that server waits, down.
        ...(isIP(unit.address.replace(/^\[|\]$/g, "")) === 0 ? ["init-addr last,libc,none"] : []),
      ],
    })),
  };
}

function backendOptions(request: IngressRequest, pathPrefix: string): string[] {
  const check = request.healthcheck;
  const checkHost = check?.hostname !== undefined ? ` hdr Host ${check.hostname}` : "";
  return [
    "mode http",
    "balance roundrobin",
    ...ingressForwarding(pathPrefix, request.stripPrefix),
    ...(check !== undefined
      ? [
          "option httpchk",
          `http-check send meth GET uri ${check.path}${checkHost}`,
          `timeout check ${check.timeout}`,
        ]
      : []),
  ];
}

function serverOptions(request: IngressRequest): string[] {
  const check = request.healthcheck;
  const tlsCheck = (check?.scheme ?? (request.scheme === "https" ? "https" : "http")) === "https";
  return [
    "check",
    ...(check !== undefined ? [`inter ${check.interval}`] : []),
    ...(check?.port !== undefined ? [`port ${check.port}`] : []),
    // Units usually present certificates no CA of ours signed: encrypt, do not verify.
    ...(request.scheme === "https" ? ["ssl", "verify none"] : []),
    ...(check !== undefined && tlsCheck && request.scheme !== "https"
      ? ["check-ssl", "verify none"]
      : []),
    ...(request.scheme === "h2c" ? ["proto h2"] : []),
  ];
}
