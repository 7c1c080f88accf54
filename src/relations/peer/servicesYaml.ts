// `all_services`: the services haproxy tells its peers and its front ends about (pure).
import yaml from "js-yaml";

import type { PlacedService } from "../../model/types.js";

/**
 * Services as the old charm listed them in `all_services`. Certificates and
 * error pages stay out: they may hold private keys and are nobody else's
 * business.
 */
export function servicesYaml(services: readonly PlacedService[]): string {
  return yaml.dump(
    services.map((service) => ({
      service_name: service.name,
      service_host: service.host,
      service_port: service.port,
      service_options: [...service.serviceOptions],
      servers: service.servers.map((s) => [s.name, s.address, s.port, s.options.join(" ")]),
      ...(service.backends.length > 0 && {
        backends: service.backends.map((backend) => ({
          backend_name: backend.name,
          servers: backend.servers.map((s) => [s.name, s.address, s.port, s.options.join(" ")]),
        })),
      }),
    })),
    { lineWidth: -1, noRefs: true },
  );
}
