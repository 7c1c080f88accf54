// Turns a unit's request into what haproxy serves: for an HTTP unit, a route
// of its own at `/<model>-<app>-<n>` (the path itself and what is below it,
// so that unit 1's never takes unit 10's requests), with one server; for a
// TCP unit, a listener of its own on the port the placement chose.
import { isIP } from "node:net";

import { HSTS_RESPONSE } from "../../model/hsts.js";
import { ingressForwarding } from "../../model/ingressForwarding.js";
import { completeService } from "../../model/placeServices.js";
import type { HttpRoute, PlacedService, ServerSpec } from "../../model/types.js";
import { unitSlug } from "../../model/unitNames.js";
import { type UnitRequest, unitRouteName } from "./unitRequirers.js";

export interface UnitRouteContext {
  /** external_hostname, or empty. */
  readonly externalHostname: string;
  /** A certificate for external_hostname is served on port 443. */
  readonly tls: boolean;
  /** The enable_hsts option. */
  readonly hsts?: boolean;
}

export function unitHttpRoute(request: UnitRequest, context: UnitRouteContext): HttpRoute {
  const name = unitRouteName(request);
  const pathPrefix = `/${name}`;
  return {
    name,
    pathPrefix,
    ...(context.externalHostname !== "" && { host: context.externalHostname }),
    redirectHttps: request.redirectHttps && context.tls,
    backendOptions: [
      "mode http",
      ...ingressForwarding(pathPrefix, request.stripPrefix),
      ...(context.hsts === true ? [HSTS_RESPONSE] : []),
    ],
    servers: [
      unitServer(request, [
        // Units usually present certificates no CA of ours signed: encrypt, do not verify.
        ...(request.scheme === "https" ? ["ssl", "verify none"] : []),
      ]),
    ],
  };
}

/** The name of a TCP unit's listener (and of its backend). */
export function unitTcpServiceName(request: UnitRequest): string {
  return `${unitRouteName(request)}_tcp`;
}

/** A TCP unit's listener on `port`: every connection goes to the unit. */
export function unitTcpListener(request: UnitRequest, port: number): PlacedService {
  return {
    ...completeService({ name: unitTcpServiceName(request) }),
    host: "0.0.0.0",
    port,
    serviceOptions: ["mode tcp"],
    servers: [unitServer(request, [])],
  };
}

function unitServer(request: UnitRequest, options: readonly string[]): ServerSpec {
  return {
    name: unitSlug(request.unit),
    address: request.address,
    port: String(request.port),
    options: [
      "check",
      ...options,
      // A name haproxy cannot resolve must not stop it from starting: that server waits, down.
      ...(isIP(request.address.replace(/^\[|\]$/g, "")) === 0 ? ["init-addr last,libc,none"] : []),
    ],
  };
}
