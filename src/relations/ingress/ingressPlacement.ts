// Where ingress routes live beside the classic services: on port 80, and on
// 443 when a certificate for external_hostname is served. A classic service
// that owns the port keeps it and gets the routes ahead of its own default
// backend; otherwise the charm adds a service of its own for them.
import {
  HTTPS_PORT,
  HTTP_PORT,
  OWN_HTTPS_SERVICE,
  OWN_HTTP_SERVICE,
  onHttpPort,
} from "../../model/httpFrontends.js";
import type { HttpRoute, PlacedService } from "../../model/types.js";
import type { SkippedApp } from "./ingressRequirers.js";

export const INGRESS_HTTP_PORT = HTTP_PORT;
export const INGRESS_HTTPS_PORT = HTTPS_PORT;
export const INGRESS_HTTP_SERVICE = OWN_HTTP_SERVICE;
export const INGRESS_HTTPS_SERVICE = OWN_HTTPS_SERVICE;

export interface RouteOffer {
  readonly route: HttpRoute;
  readonly relationId: string;
  readonly app: string;
}

export interface IngressPlacementContext {
  /** The file of the certificates relation's certificate; absent, no HTTPS. */
  readonly certificateFile?: string;
  /** The defaults section's mode, which a frontend without `mode` inherits. */
  readonly defaultMode: string;
}

export interface IngressPlacement {
  readonly services: readonly PlacedService[];
  readonly routes: readonly RouteOffer[];
  readonly skipped: readonly SkippedApp[];
}

export function placeIngress(
  services: readonly PlacedService[],
  offers: readonly RouteOffer[],
  context: IngressPlacementContext,
): IngressPlacement {
  if (offers.length === 0) return { services, routes: [], skipped: [] };
  const taken = new Set(
    services.flatMap((service) => [service.name, ...service.backends.map((b) => b.name)]),
  );
  const skipped: SkippedApp[] = [];
  const routes = offers.filter((offer) => {
    if (!taken.has(offer.route.name)) return true;
    skipped.push({
      relationId: offer.relationId,
      app: offer.app,
      reason: `its backend name ${offer.route.name} is already a service or backend of haproxy's`,
      invalid: true,
    });
    return false;
  });
  if (routes.length === 0) return { services, routes, skipped };

  const plain = routes.map((offer) => offer.route);
  const secure = plain.map((route) => ({ ...route, redirectHttps: false }));
  let placed = attach(services, INGRESS_HTTP_PORT, plain, context, undefined);
  if (context.certificateFile !== undefined) {
    placed = attach(placed, INGRESS_HTTPS_PORT, secure, context, context.certificateFile);
  }
  return { services: placed, routes, skipped };
}

function attach(
  services: readonly PlacedService[],
  port: number,
  routes: readonly HttpRoute[],
  context: IngressPlacementContext,
  certificateFile: string | undefined,
): PlacedService[] {
  const claim = {
    port,
    certificates:
      certificateFile === undefined ? [] : [{ kind: "file" as const, path: certificateFile }],
    defaultMode: context.defaultMode,
    claimant: "ingress",
  };
  return onHttpPort(services, claim, (service) => ({
    ...service,
    routes: [...(service.routes ?? []), ...routes],
  }));
}
