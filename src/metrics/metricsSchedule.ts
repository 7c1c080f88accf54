// The metrics schedule: a cron file that runs `metrics push` every
// metrics_sample_interval minutes, and the settings file that job reads.
// Installed when monitoring is on and metrics_target is valid; removed
// otherwise, together with the old charm's cron job.
import { mkdir } from "node:fs/promises";
import path from "node:path";

import type { CharmConfig } from "../config/charmConfig.js";
import { expandMetricsPrefix } from "./metricNames.js";
import {
  type MetricsSettings,
  metricsSettingsFile,
  metricsSettingsJson,
} from "./metricsSettings.js";
import { parseMetricsTarget } from "./metricsTarget.js";
import { removeIfPresent, writeIfChanged } from "../lib/managedFiles.js";

/** How cron starts the bundled CLI: absolute paths, as cron's PATH is minimal. */
export interface CliEntry {
  readonly node: string;
  readonly script: string;
}

export type MetricsDecision =
  | { readonly enabled: true; readonly settings: MetricsSettings }
  | { readonly enabled: false; readonly reason: string; readonly warn: boolean };

/** Whether metrics are on, and with what settings (pure). */
export function decideMetrics(
  config: CharmConfig,
  unitName: string,
  adminSocket: string,
): MetricsDecision {
  if (config.metrics_target.trim() === "") {
    return { enabled: false, reason: "metrics_target is empty", warn: false };
  }
  if (!config.enable_monitoring) {
    return { enabled: false, reason: "metrics need enable_monitoring=true", warn: true };
  }
  const target = parseMetricsTarget(config.metrics_target);
  if (!target.ok) return { enabled: false, reason: target.problem, warn: true };
  const interval = config.metrics_sample_interval;
  if (cronTimes(interval) === undefined) {
    return {
      enabled: false,
      reason:
        `metrics_sample_interval ${interval} is not 1-59 minutes or a whole number of hours ` +
        "dividing a day",
      warn: true,
    };
  }
  return {
    enabled: true,
    settings: {
      target: target.target,
      prefix: expandMetricsPrefix(config.metrics_prefix, unitName),
      intervalMinutes: interval,
      adminSocket,
    },
  };
}

/** cron's five time fields for "every `minutes` minutes", if cron can say it. */
export function cronTimes(minutes: number): string | undefined {
  if (!Number.isInteger(minutes) || minutes < 1) return undefined;
  if (minutes < 60) return minutes === 1 ? "* * * * *" : `*/${minutes} * * * *`;
  const hours = minutes / 60;
  if (!Number.isInteger(hours) || 24 % hours !== 0) return undefined;
  return hours === 24 ? "0 0 * * *" : hours === 1 ? "0 * * * *" : `0 */${hours} * * *`;
}

export function metricsCronFile(
  intervalMinutes: number,
  cli: CliEntry,
  settingsFile: string,
): string {
  const times = cronTimes(intervalMinutes);
  if (times === undefined) throw new Error(`no cron schedule for ${intervalMinutes} minutes`);
  // `timeout`: a run never outlives its interval, so runs cannot pile up.
  const limitSeconds = Math.min(intervalMinutes * 60 - 5, 300);
  const command = [
    "timeout",
    String(limitSeconds),
    cronQuote(cli.node),
    cronQuote(cli.script),
    "metrics push --settings",
    cronQuote(settingsFile),
  ].join(" ");
  return [
    "# Written by the haproxy charm: sends haproxy's statistics to metrics_target.",
    "# Changed by `juju config haproxy metrics_*`; edits here are overwritten.",
    "SHELL=/bin/sh",
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    `${times} root ${command} 2>&1 | logger -t haproxy-charm-metrics`,
    "",
  ].join("\n");
}

/** Single-quoted for cron's /bin/sh; `%` is cron's newline unless escaped. */
export function cronQuote(text: string): string {
  const quoted = /^[\w@+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
  return quoted.replaceAll("%", "\\%");
}

// The old charm's job: curl and awk every interval, sending the same names.
const LEGACY_CRON_FILE = "haproxy_metrics";

export interface ScheduleChange {
  readonly changed: boolean;
}

export async function installMetricsSchedule(
  scheduleFile: string,
  charmState: string,
  settings: MetricsSettings,
  cli: CliEntry,
): Promise<ScheduleChange> {
  const settingsFile = metricsSettingsFile(charmState);
  const cron = metricsCronFile(settings.intervalMinutes, cli, settingsFile);
  await mkdir(charmState, { recursive: true, mode: 0o700 });
  const settingsChanged = await writeIfChanged(settingsFile, metricsSettingsJson(settings), 0o600);
  const cronChanged = await writeIfChanged(scheduleFile, cron, 0o644);
  const legacyRemoved = await removeIfPresent(legacyCronFile(scheduleFile));
  return { changed: settingsChanged || cronChanged || legacyRemoved };
}

export async function removeMetricsSchedule(
  scheduleFile: string,
  charmState: string,
): Promise<ScheduleChange> {
  const removed = await Promise.all([
    removeIfPresent(scheduleFile),
    removeIfPresent(legacyCronFile(scheduleFile)),
    removeIfPresent(metricsSettingsFile(charmState)),
  ]);
  return { changed: removed.includes(true) };
}

function legacyCronFile(scheduleFile: string): string {
  return path.join(path.dirname(scheduleFile), LEGACY_CRON_FILE);
}
