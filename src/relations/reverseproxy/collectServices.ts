// Builds the set of services haproxy serves from config `services` and the
// remote units of the `reverseproxy` relation, following the old charm's
// rules so that related charms keep working unchanged.
import type { RemoteUnit } from "../../juju/hookInputs.js";
import { InvalidField, checkHost, checkName, checkPort } from "../../model/fieldChecks.js";
import { mergeService, unionServers } from "../../model/mergeServices.js";
import { type ParsedService, parseServicesYaml } from "../../model/parseServices.js";
import { RelationPolicy } from "../../model/relationPolicy.js";
import type { ServerSpec } from "../../model/types.js";
import { appOfUnit, compareUnitsOnRelations, unitSlug } from "../../model/unitNames.js";

/** A remote unit left out of the configuration, and why. */
export interface SkippedUnit {
  readonly relationId: string;
  readonly unit: string;
  readonly reason: string;
  /** Bad data (a warning) rather than data not yet set (informational). */
  readonly invalid: boolean;
}

export interface ServiceCollection {
  /** In the order they were first defined: config first, then relation units. */
  readonly services: readonly ParsedService[];
  /** Where units that name no service go: the first service defined. */
  readonly defaultService?: string;
  readonly skipped: readonly SkippedUnit[];
}

class ServiceTable {
  readonly byName = new Map<string, ParsedService>();
  defaultService?: string;
  // Single-service units, gathered per service and unioned once: adding them
  // one by one would copy the server list for every unit.
  private readonly joining = new Map<string, ServerSpec[]>();

  add(service: ParsedService): void {
    this.defaultService ??= service.name;
    const known = this.byName.get(service.name);
    this.byName.set(service.name, known ? mergeService(known, service) : service);
  }

  addServer(serviceName: string, server: ServerSpec): void {
    if (!this.byName.has(serviceName)) return;
    const joining = this.joining.get(serviceName) ?? [];
    joining.push(server);
    this.joining.set(serviceName, joining);
  }

  services(): ParsedService[] {
    return [...this.byName.values()].map((service) => {
      const joining = this.joining.get(service.name);
      return joining
        ? { ...service, servers: unionServers(service.servers ?? [], joining) }
        : service;
    });
  }
}

/** What the operator did not say: relation data is untrusted. */
const UNTRUSTED = new RelationPolicy({ trusted: false });

export function collectServices(
  configServices: readonly ParsedService[],
  remoteUnits: readonly RemoteUnit[],
  policy: RelationPolicy = UNTRUSTED,
): ServiceCollection {
  const table = new ServiceTable();
  const skipped: SkippedUnit[] = [];
  const skip = (unit: RemoteUnit, reason: string, invalid = true) =>
    skipped.push({ relationId: unit.relationId, unit: unit.unit, reason, invalid });

  configServices.forEach((service) => table.add(service));
  const units = [...remoteUnits].sort(compareUnitsOnRelations);

  // Units that describe their services themselves.
  for (const unit of units) {
    try {
      relationDrivenServices(unit, policy).forEach((service) => table.add(service));
    } catch (error) {
      if (!(error instanceof InvalidField)) throw error;
      skip(unit, error.message);
    }
  }

  // Units that only say "here I am, on this port".
  for (const unit of units) {
    if (unit.settings.services !== undefined) continue;
    if (unit.settings.port === undefined || unit.settings.port === "") {
      if (unit.settings.all_services === undefined) skip(unit, "no port set yet", false);
      continue;
    }
    try {
      const { serviceNames, server } = singleServiceServer(unit, table, policy);
      serviceNames.forEach((name) => table.addServer(name, server(table.byName.get(name))));
    } catch (error) {
      if (!(error instanceof InvalidField)) throw error;
      skip(unit, error.message);
    }
  }

  return {
    services: table.services(),
    ...(table.defaultService !== undefined && { defaultService: table.defaultService }),
    skipped,
  };
}

function relationDrivenServices(unit: RemoteUnit, policy: RelationPolicy): ParsedService[] {
  const { services, all_services: allServices } = unit.settings;
  if (services !== undefined) {
    return parseServicesYaml(services, "services").map((service, i) =>
      policy.service(service, `services[${i}]`),
    );
  }
  if (allServices === undefined) return [];
  // apache2 publishes the services it fronts; haproxy reaches them through
  // the apache2 unit itself, on each service's port. Every unit publishes
  // the same list, so the unit's name keeps its servers' names apart.
  const address = unitAddress(unit, policy);
  const slug = unitSlug(unit.unit);
  return parseServicesYaml(allServices, "all_services").map((service, i) => {
    if (!service.servers) return policy.service(service, `all_services[${i}]`);
    if (service.port === undefined) {
      throw new InvalidField(`all_services (${service.name}).service_port`, "missing");
    }
    const port = String(service.port);
    const servers = service.servers.map((server, j) => ({
      ...server,
      name: checkName(`${slug}-${server.name}`, `all_services (${service.name}).servers[${j}]`),
      address,
      port,
    }));
    return policy.service({ ...service, servers }, `all_services[${i}]`);
  });
}

function unitAddress(unit: RemoteUnit, policy: RelationPolicy): string {
  const address = checkHost(unit.settings["private-address"], "private-address");
  return policy.backendAddress(address, "private-address");
}

function singleServiceServer(unit: RemoteUnit, table: ServiceTable, policy: RelationPolicy) {
  const port = checkPort(unit.settings.port, "port");
  const address = unitAddress(unit, policy);
  const serviceNames = new Set<string>();

  const requested = unit.settings.service_name;
  if (requested !== undefined) {
    const name = checkName(requested, "service_name");
    if (!table.byName.has(name)) {
      throw new InvalidField("service_name", `no service named ${name} is configured`);
    }
    serviceNames.add(name);
  }
  for (const site of (unit.settings.sitenames ?? "").split(/\s+/)) {
    if (table.byName.has(site)) serviceNames.add(site);
  }
  const app = appOfUnit(unit.unit);
  for (const name of [`${app}_service`, app]) {
    if (table.byName.has(name)) serviceNames.add(name);
  }
  if (serviceNames.size === 0) {
    if (table.defaultService === undefined) {
      throw new InvalidField("port", "no service is configured to add this unit to");
    }
    serviceNames.add(table.defaultService);
  }

  const server = (service: ParsedService | undefined): ServerSpec => ({
    name: `${unitSlug(unit.unit)}-${port}`,
    address,
    port: String(port),
    options: service?.serverOptions ?? [],
  });
  return { serviceNames, server };
}
