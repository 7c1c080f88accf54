// external_grpc_port: a front door of its own for an application's gRPC
// clients. gRPC speaks HTTP/2 only, so the port serves TLS offering nothing
// but h2 (ALPN), with the certificates of the application's hostnames, and
// sends every request to the application's backend, the one its 80/443
// routes use (rendered once, by the shared front door).
import { completeService } from "../../model/placeServices.js";
import type { PlacedService } from "../../model/types.js";
import type { HaproxyRouteRequest, SkippedRouteApp } from "./haproxyRouteRequest.js";

export interface GrpcListenerContext {
  /** The certificate file of each hostname that has one, by hostname. */
  readonly certificateFiles: ReadonlyMap<string, string>;
}

export interface GrpcListeners {
  readonly services: readonly PlacedService[];
  /** Applications whose gRPC port waits for a certificate, for the log. */
  readonly notes: readonly string[];
}

/** The name of an application's gRPC listener: its backend's, with a suffix. */
export function grpcServiceName(request: HaproxyRouteRequest): string {
  return `${request.service}_grpc`;
}

/**
 * The requests whose gRPC port another listener already holds (a service,
 * the monitoring or exporter listener, the peers port, an earlier gRPC
 * port), or whose listener's name is taken: each is left out whole, the
 * others kept. `takenNames` are the backend and service names in use.
 */
export function withoutGrpcClashes<Offer extends { readonly request: HaproxyRouteRequest }>(
  offers: readonly Offer[],
  heldPorts: ReadonlyMap<number, string>,
  takenNames: ReadonlyMap<string, string>,
): { readonly kept: Offer[]; readonly skipped: SkippedRouteApp[] } {
  const ports = new Map(heldPorts);
  const skipped: SkippedRouteApp[] = [];
  const kept = offers.filter(({ request }) => {
    const port = request.externalGrpcPort;
    if (port === undefined) return true;
    const holder = ports.get(port);
    const name = grpcServiceName(request);
    const nameHolder = takenNames.get(name);
    const reason =
      holder !== undefined
        ? `external_grpc_port: ${port} is already served by ${holder}`
        : nameHolder !== undefined
          ? `service: its gRPC listener's name ${name} is already a service or backend of haproxy's (in ${nameHolder})`
          : undefined;
    if (reason === undefined) {
      ports.set(port, `haproxy-route ${request.app}'s external_grpc_port`);
      return true;
    }
    skipped.push({ relationId: request.relationId, app: request.app, reason, invalid: true });
    return false;
  });
  return { kept, skipped };
}

/**
 * A gRPC listener for each served request that asks for one, once a
 * certificate of at least one of its hostnames has arrived (a client
 * checks the certificate against the name it dialled: without one there
 * is nothing it could trust).
 */
export function grpcListeners(
  served: readonly HaproxyRouteRequest[],
  context: GrpcListenerContext,
): GrpcListeners {
  const services: PlacedService[] = [];
  const notes: string[] = [];
  for (const request of served) {
    const port = request.externalGrpcPort;
    if (port === undefined) continue;
    const files = [
      ...new Set(
        request.hostnames.flatMap((hostname) => context.certificateFiles.get(hostname) ?? []),
      ),
    ];
    if (files.length === 0) {
      notes.push(
        `haproxy-route ${request.app}: external_grpc_port ${port} waits for a certificate for ${request.hostnames.join(", ")}`,
      );
      continue;
    }
    services.push({
      ...completeService({ name: grpcServiceName(request) }),
      host: "0.0.0.0",
      port,
      serviceOptions: ["mode http"],
      crts: files.map((path) => ({ kind: "file" as const, path })),
      defaultBackend: request.service,
      bindOptions: ["alpn h2"],
    });
  }
  return { services, notes };
}
