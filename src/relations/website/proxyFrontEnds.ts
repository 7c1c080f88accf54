// Front ends on the `website` relation (apache2, squid) that say `is-proxy`:
// the services they are served get `option forwardfor`, so the backends
// learn the client's address from the X-Forwarded-For header rather than
// seeing only the front end's. The old charm meant this but keyed the flag it
// wrote differently from the one it read, so it never took effect.
import type { RemoteUnit } from "../../juju/hookInputs.js";
import type { ParsedService } from "../../model/parseServices.js";
import { proxyMode } from "../../model/splitOptions.js";

const FORWARDFOR = "option forwardfor";

/** `is-proxy` set to anything but an explicit no (the old charm only asked whether it was set). */
export function isProxy(unit: RemoteUnit): boolean {
  const value = unit.settings["is-proxy"]?.trim().toLowerCase();
  return value !== undefined && value !== "" && !["false", "no", "0", "off"].includes(value);
}

/**
 * The services proxy front ends are served: the one a unit names in
 * `service_name`, else all of them (every front end is sent `all_services`).
 */
export function proxiedServiceNames(
  frontEnds: readonly RemoteUnit[],
  serviceNames: readonly string[],
): Set<string> {
  const names = new Set<string>();
  for (const unit of frontEnds.filter(isProxy)) {
    const requested = unit.settings.service_name;
    if (requested === undefined || requested === "") return new Set(serviceNames);
    if (serviceNames.includes(requested)) names.add(requested);
  }
  return names;
}

/**
 * Adds `option forwardfor` to the proxied services in HTTP mode, unless the
 * operator already decided: `[no] option forwardfor` in the service's options,
 * or `[no] forwardfor` in default_options.
 */
export function forwardForProxies(
  services: readonly ParsedService[],
  frontEnds: readonly RemoteUnit[],
  defaults: { readonly mode: string; readonly options: readonly string[] },
): ParsedService[] {
  const proxied = proxiedServiceNames(
    frontEnds,
    services.map((service) => service.name),
  );
  if (
    proxied.size === 0 ||
    defaults.options.some((option) => /^(no\s+)?forwardfor\b/.test(option))
  ) {
    return [...services];
  }
  return services.map((service) => {
    const options = service.serviceOptions ?? [];
    // haproxy ignores `option forwardfor` in tcp mode, with a warning.
    if (!proxied.has(service.name) || proxyMode(options, defaults.mode) !== "http") return service;
    if (options.some((option) => /^(no\s+)?option\s+forwardfor\b/.test(option))) return service;
    return { ...service, serviceOptions: [...options, FORWARDFOR] };
  });
}
