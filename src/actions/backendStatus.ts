// The backend-status action's report: each backend and the state of each of
// its servers, from haproxy's live statistics (pure).
import { dump } from "js-yaml";

import type { StatsRow } from "../metrics/statsCsv.js";

export interface ServerState {
  readonly status: string;
  /** The last finished health check's result, e.g. `L4OK`; empty without checks. */
  readonly check: string;
  readonly weight: number;
  readonly sessions: number;
  readonly backup: boolean;
  /** Seconds since the status last changed. */
  readonly lastChange: number;
}

export interface BackendState {
  readonly status: string;
  readonly servers: Readonly<Record<string, ServerState>>;
}

export function backendStates(rows: readonly StatsRow[]): Map<string, BackendState> {
  const backends = new Map<string, { status: string; servers: Record<string, ServerState> }>();
  const entry = (proxy: string) => {
    let backend = backends.get(proxy);
    if (backend === undefined) {
      backend = { status: "", servers: {} };
      backends.set(proxy, backend);
    }
    return backend;
  };
  for (const row of rows) {
    if (row.server === "FRONTEND") continue;
    const field = (name: string) => row.fields.get(name) ?? "";
    const number = (name: string) => Number(field(name)) || 0;
    if (row.server === "BACKEND") {
      entry(row.proxy).status = field("status");
      continue;
    }
    entry(row.proxy).servers[row.server] = {
      status: field("status"),
      // haproxy prefixes the last result with "* " while a new check runs.
      check: field("check_status").replace(/^\* /, ""),
      weight: number("weight"),
      sessions: number("scur"),
      backup: field("bck") === "1",
      lastChange: number("lastchg"),
    };
  }
  return new Map([...backends].sort(([a], [b]) => a.localeCompare(b)));
}

export interface StatusCounts {
  readonly up: number;
  readonly down: number;
  readonly other: number;
}

export function countServers(backends: ReadonlyMap<string, BackendState>): StatusCounts {
  let up = 0;
  let down = 0;
  let other = 0;
  for (const backend of backends.values()) {
    for (const server of Object.values(backend.servers)) {
      if (/^UP|^no check/.test(server.status)) up += 1;
      else if (server.status.startsWith("DOWN")) down += 1;
      else other += 1;
    }
  }
  return { up, down, other };
}

export function backendStatesYaml(backends: ReadonlyMap<string, BackendState>): string {
  const document = Object.fromEntries(
    [...backends].map(([name, backend]) => [
      name,
      {
        status: backend.status,
        servers: Object.fromEntries(
          Object.entries(backend.servers).map(([server, state]) => [
            server,
            {
              status: state.status,
              check: state.check,
              weight: state.weight,
              sessions: state.sessions,
              backup: state.backup,
              "last-change-seconds": state.lastChange,
            },
          ]),
        ),
      },
    ]),
  );
  return dump(document, { lineWidth: -1, noRefs: true });
}
