// The statistics listener of `enable_monitoring`: haproxy's stats page (and
// its Prometheus exporter) on monitoring_port, for the allowed networks only.
import type { CharmConfig } from "../config/charmConfig.js";
import type { HookInputs } from "../juju/hookInputs.js";
import { ConfigError } from "../lib/errors.js";
import { InvalidField, checkLine } from "../model/fieldChecks.js";
import { completeService } from "../model/placeServices.js";
import {
  type MonitoringCredentials,
  prometheusExporterOptions,
} from "../model/prometheusExporter.js";
import type { PlacedService } from "../model/types.js";

export const MONITORING_SERVICE = "haproxy_monitoring";

export function monitoringCredentials(
  config: CharmConfig,
  inputs: HookInputs,
): MonitoringCredentials {
  const word = (option: "monitoring_username" | "monitoring_password", value: string) => {
    if (!/^[^\s#:"'\\]+$/.test(value)) {
      throw new ConfigError(option, "must be one word without spaces, quotes, '#', ':' or '\\'");
    }
    return value;
  };
  const username = word("monitoring_username", config.monitoring_username);
  const password = word(
    "monitoring_password",
    config.monitoring_password === "changeme"
      ? (inputs.generatedMonitoringPassword ?? config.monitoring_password)
      : config.monitoring_password,
  );
  return { username, password };
}

export function monitoringService(
  config: CharmConfig,
  inputs: HookInputs,
): PlacedService | undefined {
  if (!config.enable_monitoring) return undefined;
  const { username, password } = monitoringCredentials(config, inputs);
  let cidrs: string;
  try {
    cidrs = checkLine(config.monitoring_allowed_cidr, "monitoring_allowed_cidr");
  } catch (error) {
    if (error instanceof InvalidField) throw new ConfigError(error.field, error.problem);
    throw error;
  }
  return {
    ...completeService({ name: MONITORING_SERVICE }),
    host: "0.0.0.0",
    port: config.monitoring_port,
    serviceOptions: [
      "mode http",
      `acl allowed_cidr src ${cidrs}`,
      "http-request deny unless allowed_cidr",
      ...(config.monitoring_prometheus ? prometheusExporterOptions() : []),
      "stats enable",
      "stats uri /",
      "stats realm Haproxy\\ Statistics",
      `stats auth ${username}:${password}`,
      `stats refresh ${config.monitoring_stats_refresh}`,
    ],
  };
}
