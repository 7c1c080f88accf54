// What the scheduled `metrics push` needs, decided by a hook and kept in the
// charm's state directory: the job runs outside any hook, where config-get
// and the unit's name are not available.
import { readFile } from "node:fs/promises";

import type { MetricsTarget } from "./metricsTarget.js";
import { stateFilePath } from "../stateFiles.js";
import { describeError } from "../lib/describeError.js";

export interface MetricsSettings {
  readonly target: MetricsTarget;
  /** `metrics_prefix` with `$UNIT` already expanded. */
  readonly prefix: string;
  readonly intervalMinutes: number;
  /** haproxy's admin socket, where the statistics are read. */
  readonly adminSocket: string;
}

export class MetricsSettingsError extends Error {
  constructor(file: string, problem: string) {
    super(`metrics settings ${file}: ${problem}`);
    this.name = "MetricsSettingsError";
  }
}

export function metricsSettingsFile(charmState: string): string {
  return stateFilePath(charmState, "metricsSettings");
}

export function metricsSettingsJson(settings: MetricsSettings): string {
  return `${JSON.stringify(settings, null, 2)}\n`;
}

/** The settings, or undefined when the file is gone (metrics were turned off). */
export async function readMetricsSettings(file: string): Promise<MetricsSettings | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new MetricsSettingsError(file, describeError(error));
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new MetricsSettingsError(file, "not JSON");
  }
  return checkSettings(file, parsed);
}

function checkSettings(file: string, value: unknown): MetricsSettings {
  const record = (candidate: unknown, what: string): Record<string, unknown> => {
    if (typeof candidate !== "object" || candidate === null || Array.isArray(candidate)) {
      throw new MetricsSettingsError(file, `${what} is not an object`);
    }
    return candidate as Record<string, unknown>;
  };
  const top = record(value, "the document");
  const target = record(top.target, "target");
  const text = (field: unknown, what: string): string => {
    if (typeof field !== "string" || field === "") {
      throw new MetricsSettingsError(file, `${what} is not a non-empty string`);
    }
    return field;
  };
  const whole = (field: unknown, what: string, min: number, max: number): number => {
    if (typeof field !== "number" || !Number.isInteger(field) || field < min || field > max) {
      throw new MetricsSettingsError(file, `${what} is not an integer from ${min} to ${max}`);
    }
    return field;
  };
  if (typeof top.prefix !== "string") throw new MetricsSettingsError(file, "prefix is missing");
  return {
    target: {
      host: text(target.host, "target.host"),
      port: whole(target.port, "target.port", 1, 65535),
    },
    prefix: top.prefix,
    intervalMinutes: whole(top.intervalMinutes, "intervalMinutes", 1, 1440),
    adminSocket: text(top.adminSocket, "adminSocket"),
  };
}
