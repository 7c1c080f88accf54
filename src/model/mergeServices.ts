// Same-named services from several sources become one: the first definer's
// keys win, servers (and same-named backends' servers) are unioned.
import type { ParsedService } from "./parseServices.js";
import type { BackendSpec, ServerSpec } from "./types.js";

export function mergeService(first: ParsedService, later: ParsedService): ParsedService {
  const merged: ParsedService = { ...later, ...definedKeys(first) };
  return {
    ...merged,
    ...((first.servers || later.servers) && {
      servers: unionServers(first.servers ?? [], later.servers ?? []),
    }),
    ...((first.backends || later.backends) && {
      backends: mergeBackends(first.backends ?? [], later.backends ?? []),
    }),
  };
}

export function unionServers(
  first: readonly ServerSpec[],
  later: readonly ServerSpec[],
): ServerSpec[] {
  const result = [...first];
  const seen = new Set(first.map(serverKey));
  for (const server of later) {
    const key = serverKey(server);
    if (!seen.has(key)) {
      seen.add(key);
      result.push(server);
    }
  }
  return result;
}

function mergeBackends(
  first: readonly BackendSpec[],
  later: readonly BackendSpec[],
): BackendSpec[] {
  const byName = new Map<string, BackendSpec>();
  for (const backend of [...first, ...later]) {
    const known = byName.get(backend.name);
    byName.set(
      backend.name,
      known ? { name: known.name, servers: unionServers(known.servers, backend.servers) } : backend,
    );
  }
  return [...byName.values()].sort((a, b) => compareText(a.name, b.name));
}

// Exact duplicates only: the same name, address, port and options.
function serverKey(server: ServerSpec): string {
  return JSON.stringify([server.name, server.address, server.port, server.options]);
}

function definedKeys(service: ParsedService): Partial<ParsedService> {
  return Object.fromEntries(Object.entries(service).filter(([, value]) => value !== undefined));
}

export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
