// The options that change the machine rather than haproxy.cfg: sysctl,
// logrotate_config, package_status, source and key. Their values are checked
// in every hook (so a bad one keeps the unit blocked) and applied when the
// configuration changes.
import { readIfExists } from "../lib/atomicFile.js";
import type { CharmConfig } from "../config/charmConfig.js";
import { ConfigError } from "../lib/errors.js";
import { describeError } from "../lib/describeError.js";
import type { LogLevel } from "../juju/hookTools.js";
import { writeIfChanged } from "../lib/managedFiles.js";
import type { SystemPaths } from "../paths.js";
import { applyAptSource, parseAptSource } from "./aptSource.js";
import type { HostCommands } from "./hostCommands.js";
import { logrotateContent } from "./logrotate.js";
import { applyPackageSelection, packageSelection } from "./packageStatus.js";
import { sysctlFile } from "./sysctl.js";

const CHECKS: readonly ((config: CharmConfig) => unknown)[] = [
  (config) => sysctlFile(config.sysctl),
  (config) => packageSelection(config.package_status),
  (config) => parseAptSource(config.source, config.key),
];

/** The first invalid machine option, as a ConfigError (pure). */
export function systemOptionProblem(config: CharmConfig): ConfigError | undefined {
  for (const check of CHECKS) {
    try {
      check(config);
    } catch (error) {
      if (error instanceof ConfigError) return error;
      throw error;
    }
  }
  return undefined;
}

export interface SystemOptionsContext {
  readonly system: SystemPaths;
  readonly host: HostCommands;
  /** Where the applied apt source is remembered. */
  readonly aptStateFile: string;
  readonly log: (level: LogLevel, message: string) => Promise<void>;
}

/** Applies every valid machine option; each failure is logged and the rest still run. */
export async function applySystemOptions(
  context: SystemOptionsContext,
  config: CharmConfig,
): Promise<void> {
  const { system, host, log } = context;
  const attempt = async (what: string, work: () => Promise<void>) => {
    try {
      await work();
    } catch (error) {
      // An invalid value already blocks the unit through systemOptionProblem.
      if (error instanceof ConfigError) return;
      await log("WARNING", `${what} not applied: ${describeError(error)}`);
    }
  };

  await attempt("sysctl", async () => {
    const content = sysctlFile(config.sysctl);
    if (content === undefined) return;
    if (!(await writeIfChanged(system.sysctlConfig, content, 0o644))) return;
    const result = await host.run("sysctl", ["-p", system.sysctlConfig]);
    if (result.exitCode !== 0) throw new Error(result.stderr.trim() || `exit ${result.exitCode}`);
    await log("INFO", `sysctl: applied ${system.sysctlConfig}`);
  });

  await attempt("logrotate_config", async () => {
    const content = logrotateContent(
      config.logrotate_config,
      await readIfExists(system.logrotateConfig),
    );
    if (content !== undefined && (await writeIfChanged(system.logrotateConfig, content, 0o644))) {
      await log("INFO", `logrotate: wrote ${system.logrotateConfig}`);
    }
  });

  const selection = packageSelection(config.package_status);
  await attempt("package_status", async () => {
    const changed = await applyPackageSelection(host, selection);
    if (changed.length > 0)
      await log("INFO", `package_status: ${changed.join(", ")} set to ${selection}`);
  });

  await attempt("source", async () => {
    const result = await applyAptSource(
      host,
      { apt: system.apt, stateFile: context.aptStateFile },
      parseAptSource(config.source, config.key),
      selection === "hold",
    );
    if (result.changed) {
      await log(
        "INFO",
        `apt source updated${result.upgraded ? "; haproxy installed from it" : ""}`,
      );
    }
  });
}
