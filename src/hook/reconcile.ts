// Every hook that can change what haproxy serves ends here: read inputs,
// plan (pure), render (pure), apply (stage, validate, swap, reload), then
// publish ports, relation data and status.
import { mkdir, readdir, unlink, writeFile } from "node:fs/promises";
import path from "node:path";

import { type ApplyEnvironment, applyPlan } from "../apply/applyPlan.js";
import { readIfExists } from "../lib/atomicFile.js";
import { describeError } from "../lib/describeError.js";
import { firstHaproxyError } from "../apply/haproxyCheck.js";
import { planPortChanges } from "../apply/ports.js";
import type { ServiceManager } from "../apply/serviceManager.js";
import {
  ConfigError,
  NotLoadedError,
  ServiceConflictError,
  ValidationError,
  WaitingError,
} from "../lib/errors.js";
import { type ConfigReading, readCharmConfig } from "../config/charmConfig.js";
import type { HookInputs } from "../juju/hookInputs.js";
import type { HookTools } from "../juju/hookTools.js";
import { RelationData } from "../juju/relationData.js";
import type { SkippedUnit } from "../relations/reverseproxy/collectServices.js";
import { backendCaBundle, backendCaPath } from "../plan/backendCaFile.js";
import { relationCertificatePath } from "../plan/defaultCertificate.js";
import { type Plan, planConfiguration } from "../plan/planConfiguration.js";
import { removeIfPresent, writeIfChanged } from "../lib/managedFiles.js";
import { timeStep, timeStepSync } from "../lib/stepTimer.js";
import type { CliEntry } from "../metrics/metricsSchedule.js";
import type { Paths } from "../paths.js";
import { renderHaproxyConfig } from "../render/renderHaproxyConfig.js";
import type { HostCommands } from "../system/hostCommands.js";
import { maintainVip, prepareVipBinding } from "../vip/maintainVip.js";
import { type HookContext, relationEventOf } from "./hookContext.js";
import { withGeneratedSecrets } from "./generatedSecrets.js";
import { isClassicHook, publishAfterReconcile } from "./publishRelations.js";
import { withRelationCertificate } from "../relations/certificates/relationCertificate.js";
import { readInputs } from "./readInputs.js";
import { resolveRelationHosts } from "./resolveRelationHosts.js";
import { haproxyProbe, isolateRejectedUnits } from "./rejectedUnits.js";
import { forgetSuspectUnits, readSuspectUnits, rememberSuspectUnits } from "./suspectUnits.js";
import { WatchedService } from "./watchedService.js";
import { stateFilePath } from "../stateFiles.js";
import { endpointsByBackend } from "../relations/haproxyRoute/routeEndpoints.js";
import { wantedRouteHostnames } from "../plan/haproxyRoutes.js";
import { wantedTcpHostnames } from "../plan/haproxyRouteTcpStep.js";
import { hostnameCertificateDir } from "../model/hostnameCrtList.js";
import { routeFilesDir } from "../relations/haproxyRoute/haproxyRoutePlacement.js";
import { installedHaproxyVersion } from "../apply/haproxyVersion.js";
import type { StatusOutcome, WorkloadStatus } from "../juju/statusOutcome.js";
import { planStatus, settleWorkloadStatus } from "./workloadStatus.js";

export interface HookDeps {
  readonly tools: HookTools;
  readonly paths: Paths;
  readonly service: ServiceManager;
  readonly haproxyBinary: string;
  /** Owner of certificates and keys (root on a unit: haproxy's master reads them as root). */
  readonly fileOwner: string;
  /** Runs sysctl, dpkg, apt-get and systemctl for the machine options; absent, none run. */
  readonly host?: HostCommands;
  /** How the metrics schedule starts the CLI; defaults to this process's node and script. */
  readonly cli?: CliEntry;
  /** The time, in ms since the epoch; absent, the system clock (certificate renewal). */
  readonly now?: () => number;
}

/** What applying the inputs came to: the configuration's word on the status. */
interface Served extends WorkloadStatus {
  readonly plan?: Plan;
  /** haproxy would not start or reload: the next update-status tries again. */
  readonly haproxyFailed?: boolean;
}

export interface Outcome {
  /** The plan haproxy was given; absent when the configuration is invalid. */
  readonly plan?: Plan;
  /** What the configuration and the VIP say, for the status after the upkeep. */
  readonly statusParts: readonly StatusOutcome[];
  /** The status this hook set. */
  readonly status?: WorkloadStatus;
}

export async function reconcile(deps: HookDeps, context: HookContext): Promise<Outcome> {
  const relations = new RelationData(deps.tools, {
    cacheFile: stateFilePath(deps.paths.charmState, "relationCache"),
    ...(relationEventOf(context) !== undefined && { event: relationEventOf(context) }),
  });
  const [read, providers] = await timeStep("read inputs", () =>
    Promise.all([readInputs(deps.tools, relations, context), relations.apps("certificates")]),
  );
  // The options are parsed once, here; an invalid one blocks the unit (applyInputs).
  const config = readCharmConfig(read.config);
  const certificate = await withRelationCertificate(
    deps.paths,
    config,
    config instanceof ConfigError ? read : await withGeneratedSecrets(deps.paths, config, read),
    providers,
    deps.now?.() ?? Date.now(),
    config instanceof ConfigError
      ? []
      : [
          ...wantedRouteHostnames(
            config,
            read,
            backendCaBundle(read, deps.paths.haproxyLib).file !== undefined,
          ),
          ...wantedTcpHostnames(config, read),
        ],
  );
  for (const warning of certificate.warnings) await deps.tools.log("WARNING", warning);
  const inputs = await withHaproxyVersion(deps, certificate.inputs);
  // A unit coming or going changes haproxy's servers in every one of its
  // hooks; Juju's own log names each hook, so how is logged for the other
  // events only.
  const logReload = context.remoteUnit === undefined && context.departingUnit === undefined;
  await prepareVipBinding(deps, config);
  const served = await applyInputs(deps, config, inputs, logReload);
  const vip = await timeStep("maintain vip", () => maintainVip(deps, config, inputs, served.plan));
  await rememberHaproxyFailure(deps.paths, served.haproxyFailed === true);
  await timeStep("publish", () =>
    publishAfterReconcile({
      tools: deps.tools,
      relations,
      inputs,
      // Only a configuration that is live is worth telling the other side about.
      ...(served.plan !== undefined && served.status !== "blocked" && { plan: served.plan }),
      ...(certificate.request !== undefined && { certificateRequest: certificate.request }),
      classicHook: isClassicHook(context),
    }),
  );
  await timeStep("save relation cache", () => relations.save());
  const statusParts = [served, vip];
  const status = await settleWorkloadStatus(deps, statusParts);
  return {
    ...(served.plan !== undefined && { plan: served.plan }),
    statusParts,
    ...(status !== undefined && { status }),
  };
}

/** A bandwidth limit asked for needs haproxy 2.7: only then is the version asked. */
async function withHaproxyVersion(deps: HookDeps, inputs: HookInputs): Promise<HookInputs> {
  const asks = (inputs.haproxyRouteApps ?? []).some((app) => "bandwidth_limit" in app.settings);
  if (!asks) return inputs;
  const version = await installedHaproxyVersion(deps.haproxyBinary);
  return version === undefined ? inputs : { ...inputs, haproxyVersion: version };
}

/** `rejected`: units already left out because haproxy cannot take their data. */
async function applyInputs(
  deps: HookDeps,
  config: ConfigReading,
  inputs: HookInputs,
  logReload: boolean,
  rejected: readonly SkippedUnit[] = [],
): Promise<Served> {
  const planned = await planInputs(deps, config, inputs, rejected);
  if (!("config" in planned)) return planned;
  const plan = planned;
  await logPlanNotes(deps.tools, plan);
  const nothingToServe = { status: "waiting", message: "No services configured", plan } as const;
  // Nothing configured and nothing served yet: haproxy is left as the package set it up. Once
  // it serves what the charm wrote, the last route or service to go must go from it too.
  if (plan.config.proxies.length === 0) {
    const live = await readIfExists(deps.paths.haproxyConfig);
    if (live === undefined || !/^(frontend|backend|listen) /m.test(live)) return nothingToServe;
  }

  const service = new WatchedService(deps.service);
  const environment: ApplyEnvironment = {
    paths: deps.paths,
    haproxyBinary: deps.haproxyBinary,
    service,
    fileOwner: deps.fileOwner,
  };
  try {
    const haproxyCfg = timeStepSync("render", () => renderHaproxyConfig(plan.config));
    const result = await timeStep("apply", () =>
      applyPlan({ haproxyCfg, files: plan.files }, environment),
    );
    await logApplied(deps.tools, result, plan.serverCount, logReload);
  } catch (error) {
    if (error instanceof ValidationError) {
      const suspectsFile = suspectUnitsFile(deps.paths);
      const isolation =
        rejected.length === 0
          ? await isolateRejectedUnits(
              inputs,
              haproxyProbe(environment, plan.charmConfig),
              await readSuspectUnits(suspectsFile),
            )
          : undefined;
      if (isolation !== undefined) {
        const units = isolation.rejected.map((unit) => unit.unit);
        await rememberSuspectUnits(suspectsFile, units);
        return applyInputs(deps, plan.charmConfig, isolation.inputs, logReload, isolation.rejected);
      }
      await deps.tools.log("ERROR", error.output.trim() || error.message);
      return { status: "blocked", message: error.message, plan };
    }
    // A reload that haproxy did not load failed as surely as one systemd refused.
    const failed = error instanceof NotLoadedError ? "reload" : service.failure?.action;
    if (failed !== undefined) {
      const detail = describeError(error);
      await deps.tools.log("ERROR", `haproxy cannot ${failed}: ${detail}`);
      return {
        status: "blocked",
        message: `haproxy cannot ${failed}: ${firstHaproxyError(detail)}`,
        plan,
        haproxyFailed: true,
      };
    }
    throw error;
  }

  await afterServed(deps, plan, rejected.length === 0);
  return plan.config.proxies.length === 0 ? nothingToServe : { ...planStatus(plan), plan };
}

/**
 * The plan for these inputs, with the names relation data gives looked up
 * first; or the status an invalid configuration calls for.
 */
async function planInputs(
  deps: HookDeps,
  config: ConfigReading,
  inputs: HookInputs,
  rejected: readonly SkippedUnit[],
): Promise<Plan | Served> {
  // The live haproxy.cfg: its servers keep their `{i}` (serverNumbers.ts).
  const live = await readIfExists(deps.paths.haproxyConfig);
  try {
    if (config instanceof ConfigError) throw config;
    let planned = timeStepSync("plan", () => planConfiguration(config, inputs, deps.paths, live));
    if (planned.unresolvedRelationHosts.length > 0) {
      // Names from relation data are served only once it is known where they lead.
      const resolvedHosts = await resolveRelationHosts(planned.unresolvedRelationHosts);
      inputs = { ...inputs, resolvedHosts: { ...inputs.resolvedHosts, ...resolvedHosts } };
      planned = planConfiguration(config, inputs, deps.paths, live);
    }
    return { ...planned, skippedUnits: [...planned.skippedUnits, ...rejected] };
  } catch (error) {
    if (error instanceof ConfigError || error instanceof ServiceConflictError) {
      await deps.tools.log("ERROR", `configuration not applied: ${error.message}`);
      return { status: "blocked", message: error.message };
    }
    if (error instanceof WaitingError) {
      await deps.tools.log("INFO", `configuration not applied yet: ${error.message}`);
      return { status: "waiting", message: error.message };
    }
    throw error;
  }
}

/** What the plan leaves out or ignores, for `juju debug-log`. */
async function logPlanNotes(tools: HookTools, plan: Plan): Promise<void> {
  for (const skipped of plan.skippedUnits) {
    await tools.log(
      skipped.invalid ? "WARNING" : "INFO",
      `reverseproxy unit ${skipped.unit} (${skipped.relationId}) not served: ${skipped.reason}`,
    );
  }
  for (const skipped of plan.skippedApps) {
    await tools.log(
      skipped.invalid ? "WARNING" : "INFO",
      `ingress application ${skipped.app} (${skipped.relationId}) not served: ${skipped.reason}`,
    );
  }
  for (const skipped of plan.ingressPerUnit.skipped) {
    await tools.log(
      skipped.invalid ? "WARNING" : "INFO",
      `ingress-per-unit unit ${skipped.unit} (${skipped.relationId}) not served: ${skipped.reason}`,
    );
  }
  for (const skipped of plan.skippedRouteApps) {
    await tools.log(
      skipped.invalid ? "WARNING" : "INFO",
      `haproxy-route application ${skipped.app} (${skipped.relationId}) not served: ${skipped.reason}`,
    );
  }
  for (const skipped of plan.skippedTcpApps) {
    await tools.log(
      skipped.invalid ? "WARNING" : "INFO",
      `haproxy-route-tcp application ${skipped.app} (${skipped.relationId}) not served: ${skipped.reason}`,
    );
  }
  for (const note of plan.notes) await tools.log("WARNING", note);
  if (plan.config.proxies.length === 0) return;
  for (const name of plan.displacedServices) {
    await tools.log("INFO", `service ${name} has no servers and yields its port to another`);
  }
}

/**
 * How haproxy took the change. Routine in a unit's own hooks (a join, a
 * departure): logged for the other events only, but for a runtime change that
 * failed for another reason than an option this haproxy does not take on a
 * new server.
 */
async function logApplied(
  tools: HookTools,
  result: Awaited<ReturnType<typeof applyPlan>>,
  serverCount: number,
  logReload: boolean,
): Promise<void> {
  const fallback = result.runtimeFallback;
  const change = result.runtimeChange ?? "servers";
  if (fallback !== undefined && (logReload || !/not accepted for dynamic server/.test(fallback))) {
    await tools.log("INFO", `${change} not changed at run time: ${fallback}`);
  }
  if (result.action === "updated" && change === "certificates") {
    await tools.log("INFO", "haproxy certificates changed without a reload");
  } else if (result.action === "updated" && logReload) {
    await tools.log("INFO", `haproxy servers changed without a reload (${serverCount} servers)`);
  } else if (result.action === "started" || (result.action === "reloaded" && logReload)) {
    await tools.log("INFO", `haproxy ${result.action} with ${serverCount} servers`);
  }
}

/** Once haproxy serves the plan: suspects forgotten, stale files removed, ports opened. */
async function afterServed(deps: HookDeps, plan: Plan, everyUnitServed: boolean): Promise<void> {
  // Served with every unit: nobody is suspect any more.
  if (everyUnitServed) await forgetSuspectUnits(suspectUnitsFile(deps.paths));
  // A certificate (and key) nothing refers to any more does not stay behind.
  const certificateFile = relationCertificatePath(deps.paths.haproxyLib);
  if (!plan.files.some((file) => file.path === certificateFile)) {
    await removeIfPresent(certificateFile);
  }
  // Nor do the CAs of applications that no longer send any.
  if (plan.backendCaFile === undefined) await removeIfPresent(backendCaPath(deps.paths.haproxyLib));
  // Nor a hostname's certificate, or a route map, once nothing routes there.
  const planned = new Set(plan.files.map((file) => file.path));
  for (const dir of [
    hostnameCertificateDir(deps.paths.haproxyLib),
    routeFilesDir(deps.paths.haproxyLib),
  ]) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      const file = path.join(dir, name);
      if (!planned.has(file)) await removeIfPresent(file);
    }
  }
  await writeIfChanged(
    stateFilePath(deps.paths.charmState, "proxiedEndpoints"),
    `${JSON.stringify(endpointsByBackend(plan.haproxyRoutes))}\n`,
    0o600,
  );
  const ports = planPortChanges(await deps.tools.openedPorts(), [...plan.ports]);
  for (const port of ports.close) await deps.tools.closePort(port);
  for (const port of ports.open) await deps.tools.openPort(port);
}

function suspectUnitsFile(paths: Paths): string {
  return stateFilePath(paths.charmState, "suspectUnits");
}

async function rememberHaproxyFailure(paths: Paths, failed: boolean): Promise<void> {
  const marker = stateFilePath(paths.charmState, "haproxyFailed");
  if (failed) {
    await mkdir(paths.charmState, { recursive: true, mode: 0o700 });
    await writeFile(marker, "", { mode: 0o600 });
  } else await unlink(marker).catch(() => undefined);
}
