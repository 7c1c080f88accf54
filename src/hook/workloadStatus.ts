// The unit's workload status, decided from what each part of a hook says
// (haproxy's configuration and the relations' data, the VIP, the upkeep) and
// set here only. The first part that blocks the unit names the problem; else
// the configuration's status stands, with the VIPs this unit holds. The
// status without its VIPs is remembered beside the VIP's state, so that
// update-status can follow the address as keepalived moves it.
import type { HookTools } from "../juju/hookTools.js";
import type { StatusOutcome, WorkloadStatus } from "../juju/statusOutcome.js";
import type { Plan } from "../plan/planConfiguration.js";
import type { Paths } from "../paths.js";
import type { VipDeps } from "../vip/maintainVip.js";
import { withHeldVips } from "../vip/vipStatus.js";

export interface StatusDeps {
  readonly tools: HookTools;
  readonly paths: Paths;
}

/** The status the parts decide, in their order of precedence; undefined if none says one. */
export function decideWorkloadStatus(
  parts: readonly StatusOutcome[],
): { shown: WorkloadStatus; withoutVips: WorkloadStatus } | undefined {
  const said = parts.flatMap(({ status, message }) =>
    status === undefined || message === undefined ? [] : [{ status, message }],
  );
  const withoutVips = said.find(({ status }) => status === "blocked") ?? said[0];
  if (withoutVips === undefined) return undefined;
  if (withoutVips.status !== "active") return { shown: withoutVips, withoutVips };
  const held = parts.flatMap((part) => part.heldVips ?? []);
  return {
    shown: { ...withoutVips, message: withHeldVips(withoutVips.message, held) },
    withoutVips,
  };
}

/**
 * Sets the status the parts decide, unless it is `alreadySet` (what this
 * hook set before its upkeep), and remembers it for update-status.
 */
export async function settleWorkloadStatus(
  deps: StatusDeps,
  parts: readonly StatusOutcome[],
  alreadySet?: WorkloadStatus,
): Promise<WorkloadStatus | undefined> {
  const decided = decideWorkloadStatus(parts);
  if (decided === undefined) return alreadySet;
  const { shown, withoutVips } = decided;
  if (alreadySet?.status === shown.status && alreadySet.message === shown.message) {
    return alreadySet;
  }
  await deps.tools.statusSet(shown.status, shown.message);
  const { rememberStatus } = await import("../vip/maintainVip.js");
  await rememberStatus(deps.paths, withoutVips);
  return shown;
}

/** update-status: keepalived moves the address between hooks; the status follows it. */
export async function followHeldVips(deps: VipDeps): Promise<void> {
  const { heldVipsChange, rememberHeldVips } = await import("../vip/maintainVip.js");
  const change = await heldVipsChange(deps);
  if (change === undefined) return;
  const decided = decideWorkloadStatus([change.status, { heldVips: change.held }]);
  if (decided !== undefined) {
    await deps.tools.statusSet(decided.shown.status, decided.shown.message);
  }
  await rememberHeldVips(deps.paths, change.held);
}

/** What a configuration haproxy serves says: waiting for servers, or ready. */
export function planStatus(plan: Plan): WorkloadStatus {
  const count = (n: number, what: string) => (n === 1 ? `1 ${what}` : `${n} ${what}s`);
  const units = [...plan.skippedUnits, ...plan.ingressPerUnit.skipped].filter(
    (unit) => unit.invalid,
  ).length;
  const apps = plan.skippedApps.filter((app) => app.invalid).length;
  const notes: string[] = [];
  if (units + apps > 0) {
    const ignored = [
      ...(units > 0 ? [count(units, "unit")] : []),
      ...(apps > 0 ? [count(apps, "application")] : []),
    ].join(" and ");
    notes.push(`ignoring ${ignored} with invalid relation data (see juju debug-log)`);
  }
  const invalidRoutes = plan.skippedRouteApps.filter((app) => app.invalid).length;
  if (invalidRoutes > 0) {
    const relations = plan.haproxyRoutes.length + plan.skippedRouteApps.length;
    notes.push(
      `${plan.haproxyRoutes.length} of ${relations} haproxy-route relations valid (see juju debug-log)`,
    );
  }
  const invalidTcp = plan.skippedTcpApps.filter((app) => app.invalid).length;
  if (invalidTcp > 0) {
    const relations = plan.tcpRoutes.length + plan.skippedTcpApps.length;
    notes.push(
      `${plan.tcpRoutes.length} of ${relations} haproxy-route-tcp relations valid (see juju debug-log)`,
    );
  }
  if (plan.serverCount === 0) {
    // Relations refused for their data are why nothing is served: said beside the wait.
    return {
      status: "waiting",
      message: ["Waiting for backend units on the reverseproxy or ingress relation", ...notes].join(
        "; ",
      ),
    };
  }
  const awaited = plan.awaitingRouteCertificates;
  if (awaited.length > 0) {
    const shown =
      awaited.length > 3 ? [...awaited.slice(0, 3), `${awaited.length - 3} more`] : awaited;
    notes.push(`waiting for certificates for ${shown.join(", ")}`);
  }
  return {
    status: "active",
    message: notes.length === 0 ? "Unit is ready" : `Unit is ready; ${notes.join("; ")}`,
  };
}
