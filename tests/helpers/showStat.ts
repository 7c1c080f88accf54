// What tests read from haproxy's `show stat`: a server's columns, or the
// check status of every server of a backend, parsed as the charm's own
// metrics read them (src/metrics/statsCsv.ts).
import { parseShowStat } from "../../src/metrics/statsCsv.js";

/** One server's columns of a `show stat` answer, by name; empty when it has no such server. */
export function serverColumns(
  showStat: string,
  backend: string,
  server: string,
): Record<string, string> {
  const row = parseShowStat(showStat).find(
    (entry) => entry.proxy === backend && entry.server === server,
  );
  return Object.fromEntries(row?.fields ?? []);
}

/** The check status (`UP`, `DOWN`, `MAINT`, ...) of each server of `backend`, by server name. */
export function serverStatuses(showStat: string, backend: string): Record<string, string> {
  const statuses: Record<string, string> = {};
  for (const row of parseShowStat(showStat)) {
    if (row.proxy !== backend || row.server === "BACKEND" || row.server === "FRONTEND") continue;
    statuses[row.server] = (row.fields.get("status") ?? "").split(" ")[0] ?? "";
  }
  return statuses;
}
