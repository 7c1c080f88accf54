// What the charm publishes on cos-agent besides its scrape job, kept beside
// this file in the form people edit and embedded in the form it is published
// (scripts/embedAsset.mjs): the dashboard xz-compressed and base64-encoded,
// the rule files parsed from YAML at build time.
import dashboard from "./haproxy-dashboard.json?xz-base64";
import metricsAlertRules from "./alert-rules.yaml?data";
import logAlertRules from "./log-alert-rules.yaml?data";
import type { CosAgentAssets } from "./cosAgentConfig.js";
import { parseRuleFile } from "./ruleFile.js";

export function bundledAssets(): CosAgentAssets {
  return {
    metricsAlertRules: parseRuleFile(metricsAlertRules, "alert-rules.yaml"),
    logAlertRules: parseRuleFile(logAlertRules, "log-alert-rules.yaml"),
    dashboards: [dashboard],
  };
}
