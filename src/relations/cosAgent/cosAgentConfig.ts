// The one key a unit writes in its cos-agent unit bag, `config`: the JSON
// document of the library's CosAgentProviderUnitData, fields in its order.
import { type RuleFile, withTopology } from "./ruleFile.js";
import { exporterScrapeJob } from "./scrapeJob.js";
import type { JujuTopology } from "./topology.js";

export const COS_AGENT_CONFIG_KEY = "config";

/** The rule files and dashboards published (see bundledAssets for the charm's own). */
export interface CosAgentAssets {
  readonly metricsAlertRules: RuleFile;
  readonly logAlertRules: RuleFile;
  /** Each one base64 of an xz-compressed Grafana dashboard. */
  readonly dashboards: readonly string[];
}

export interface CosAgentConfigInput {
  readonly topology: JujuTopology;
  /** The loopback port of the exporter listener. */
  readonly scrapePort: number;
  readonly assets: CosAgentAssets;
}

export function cosAgentConfig(input: CosAgentConfigInput): string {
  const { topology, scrapePort, assets } = input;
  return JSON.stringify({
    metrics_alert_rules: published(assets.metricsAlertRules, topology),
    log_alert_rules: published(assets.logAlertRules, topology),
    dashboards: assets.dashboards,
    subordinate: null,
    metrics_scrape_jobs: [exporterScrapeJob(topology.application, scrapePort)],
    log_slots: [],
    tracing_protocols: null,
  });
}

/** The library sends `{}` rather than a file without groups. */
function published(file: RuleFile, topology: JujuTopology): RuleFile | Record<string, never> {
  return file.groups.length === 0 ? {} : withTopology(file, topology);
}
