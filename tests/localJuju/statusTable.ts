// `juju status` for the local model: the same sections and columns a Juju
// user reads, built from a plain snapshot so it is easy to assert on.

import type { WorkloadStatus, WorkloadStatusName } from "./state.js";

export interface UnitStatus {
  readonly name: string;
  readonly leader: boolean;
  readonly workload: WorkloadStatusName;
  readonly message: string;
  readonly agent: string;
  readonly machine: number;
  readonly address: string;
  readonly ports: readonly string[];
}

export interface ApplicationStatus {
  readonly name: string;
  readonly charm: string;
  readonly version: string;
  readonly status: WorkloadStatusName;
  readonly message: string;
  readonly units: readonly UnitStatus[];
}

export interface IntegrationStatus {
  readonly provider: string;
  readonly requirer: string;
  readonly interface: string;
  readonly type: "regular" | "peer";
}

export interface ModelStatus {
  readonly model: string;
  readonly jujuVersion: string;
  readonly applications: readonly ApplicationStatus[];
  readonly integrations: readonly IntegrationStatus[];
}

const severity: readonly WorkloadStatusName[] = [
  "error",
  "blocked",
  "maintenance",
  "waiting",
  "active",
  "unknown",
];

/** Juju's derived application status: the most severe of its units' statuses. */
export function applicationStatusOf(units: readonly WorkloadStatus[]): WorkloadStatus {
  const sorted = [...units].sort((a, b) => severity.indexOf(a.status) - severity.indexOf(b.status));
  return sorted[0] ?? { status: "unknown", message: "" };
}

export function formatStatus(status: ModelStatus): string {
  const sections = [
    table([
      ["Model", "Controller", "Cloud/Region", "Version"],
      [status.model, "local-model", "namespaces/local", status.jujuVersion],
    ]),
    table([
      ["App", "Version", "Status", "Scale", "Charm", "Rev", "Exposed", "Message"],
      ...status.applications.map((app) => [
        app.name,
        app.version,
        app.status,
        String(app.units.length),
        app.charm,
        "0",
        "no",
        app.message,
      ]),
    ]),
    table([
      ["Unit", "Workload", "Agent", "Machine", "Public address", "Ports", "Message"],
      ...status.applications.flatMap((app) =>
        app.units.map((unit) => [
          `${unit.name}${unit.leader ? "*" : ""}`,
          unit.workload,
          unit.agent,
          String(unit.machine),
          unit.address,
          unit.ports.join(","),
          unit.message,
        ]),
      ),
    ]),
  ];
  if (status.integrations.length > 0) {
    sections.push(
      table([
        ["Integration provider", "Requirer", "Interface", "Type"],
        ...status.integrations.map((integration) => [
          integration.provider,
          integration.requirer,
          integration.interface,
          integration.type,
        ]),
      ]),
    );
  }
  return `${sections.join("\n\n")}\n`;
}

/** Columns Juju aligns to the right. */
const numericColumns = new Set(["Scale", "Rev"]);

function table(rows: readonly (readonly string[])[]): string {
  const header = rows[0] ?? [];
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, column) => {
      widths[column] = Math.max(widths[column] ?? 0, cell.length);
    });
  }
  return rows
    .map((row) =>
      row
        .map((cell, column) =>
          numericColumns.has(header[column] ?? "")
            ? cell.padStart(widths[column] ?? 0)
            : cell.padEnd(widths[column] ?? 0),
        )
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
