// What follows a reconcile: the metrics schedule, the nrpe checks, the
// machine options, and the monitoring relations' data. None of it
// changes what haproxy serves, so a failure here is logged and the hook
// still succeeds, except a hook tool failing (Juju retries the hook).

import type { CharmConfig } from "../config/charmConfig.js";
import { HookToolError } from "../lib/errors.js";
import { describeError } from "../lib/describeError.js";
import type { HookContext } from "./hookContext.js";
import { monitoringPassword } from "./monitoringPassword.js";
import type { HookTools } from "../juju/hookTools.js";
import { adminSocketPath } from "../model/runtimeFiles.js";
import type { Plan } from "../plan/planConfiguration.js";
import type { Paths } from "../paths.js";
import { stateFilePath } from "../stateFiles.js";
import type { HostCommands } from "../system/hostCommands.js";
import { applySystemOptions, systemOptionProblem } from "../system/systemOptions.js";
import {
  type CliEntry,
  decideMetrics,
  installMetricsSchedule,
  removeMetricsSchedule,
} from "../metrics/metricsSchedule.js";
import type { TlsListener } from "../relations/monitors/nrpeChecks.js";
import {
  installNrpeChecks,
  nrpeInstalled,
  removeNrpeChecks,
} from "../relations/monitors/nrpeFiles.js";
import { publishAfterUpkeep } from "./publishRelations.js";
import type { StatusOutcome } from "../juju/statusOutcome.js";

export interface UpkeepDeps {
  readonly tools: HookTools;
  readonly paths: Paths;
  /** Runs sysctl, dpkg, apt-get and systemctl; without it nothing is run. */
  readonly host?: HostCommands;
  /** How cron starts this CLI; defaults to the running node and script. */
  readonly cli?: CliEntry;
}

/** Hooks after which everything is brought in line with the configuration. */
const CONFIGURATION_HOOKS = new Set(["config-changed", "upgrade-charm"]);

export async function upkeep(
  deps: UpkeepDeps,
  context: HookContext,
  plan: Plan | undefined,
): Promise<StatusOutcome> {
  // Without a plan the configuration is invalid and the status already says so.
  if (plan === undefined) return {};
  const config = plan.charmConfig;
  const { tools, paths } = deps;
  const hook = context.hookName;
  const everything = CONFIGURATION_HOOKS.has(hook);
  const password = await effectivePassword(config, paths);
  const tlsListeners = tlsListenersOf(plan);

  const attempt = async (what: string, work: () => Promise<void>) => {
    try {
      await work();
    } catch (error) {
      if (error instanceof HookToolError) throw error;
      await tools.log("WARNING", `${what} not updated: ${describeError(error)}`);
    }
  };

  const system = paths.system;
  if (system !== undefined) {
    if (everything) {
      await attempt("metrics schedule", () => maintainMetrics(deps, config, context.unitName));
      if (deps.host !== undefined) {
        await applySystemOptions(
          {
            system,
            host: deps.host,
            aptStateFile: stateFilePath(paths.charmState, "aptSource"),
            log: (level, message) => tools.log(level, message),
          },
          config,
        );
      }
    }
    // Every hook: the TLS listeners come from relation data too.
    await attempt("nrpe checks", async () => {
      const wanted = password !== undefined && (await nrpeInstalled(system));
      const result = wanted
        ? await installNrpeChecks(system, config, context.unitName, password, tlsListeners)
        : await removeNrpeChecks(system);
      if (!result.changed) return;
      await tools.log("INFO", wanted ? "nrpe checks updated" : "nrpe checks removed");
      if ("warning" in result && result.warning !== undefined) {
        await tools.log("WARNING", result.warning);
      }
      await reloadNrpe(deps.host);
    });
  }

  await publishAfterUpkeep(context, everything, { tools, config, password, tlsListeners });

  // An invalid machine option blocks the unit, naming it.
  const problem = systemOptionProblem(config);
  return problem === undefined ? {} : { status: "blocked", message: problem.message };
}

/** The `remove` hook: nothing of the charm's keeps running on the machine. */
export async function removeUpkeep(deps: UpkeepDeps): Promise<void> {
  const system = deps.paths.system;
  if (system === undefined) return;
  await removeMetricsSchedule(system.metricsSchedule, deps.paths.charmState);
  if ((await removeNrpeChecks(system)).changed) await reloadNrpe(deps.host);
}

/** The statistics page's password, or undefined when there is no page. */
export async function effectivePassword(
  config: CharmConfig,
  paths: Paths,
): Promise<string | undefined> {
  if (!config.enable_monitoring) return undefined;
  if (config.monitoring_password !== "changeme") return config.monitoring_password;
  return monitoringPassword(paths.charmState, paths.haproxyConfig);
}

async function maintainMetrics(deps: UpkeepDeps, config: CharmConfig, unitName: string) {
  const { tools, paths } = deps;
  const system = paths.system;
  if (system === undefined) return;
  const decision = decideMetrics(config, unitName, adminSocketPath(paths.haproxyRun));
  if (!decision.enabled) {
    const { changed } = await removeMetricsSchedule(system.metricsSchedule, paths.charmState);
    if (decision.warn) await tools.log("WARNING", `metrics off: ${decision.reason}`);
    else if (changed) await tools.log("INFO", `metrics off: ${decision.reason}`);
    return;
  }
  const cli = deps.cli ?? { node: process.execPath, script: process.argv[1] ?? "" };
  const { changed } = await installMetricsSchedule(
    system.metricsSchedule,
    paths.charmState,
    decision.settings,
    cli,
  );
  if (changed) {
    const { host, port } = decision.settings.target;
    await tools.log(
      "INFO",
      `metrics: sending statistics to ${host}:${port} every ${decision.settings.intervalMinutes} minutes`,
    );
  }
}

function tlsListenersOf(plan: Plan): TlsListener[] {
  return plan.services
    .filter((service) => service.crts.length > 0)
    .map((service) => ({ host: service.host, port: service.port }));
}

async function reloadNrpe(host: HostCommands | undefined): Promise<void> {
  // Only present where the nrpe subordinate installed it; a failure is not ours to report.
  await host?.run("systemctl", ["try-reload-or-restart", "nagios-nrpe-server"]);
}
