// The statistics relation (interface `statistics`): where a subordinate finds
// the statistics page. The keys and values are the old charm's; the address is
// loopback because the subordinate runs on the same machine.
import type { CharmConfig } from "../../config/charmConfig.js";

export function statisticsSettings(
  config: CharmConfig,
  password: string | undefined,
): Record<string, string> {
  // The old charm wrote Python's str() of the boolean.
  if (!config.enable_monitoring || password === undefined) {
    return { enabled: "False", "listener-address": "", port: "", user: "", password: "" };
  }
  return {
    enabled: "True",
    "listener-address": "127.0.0.1",
    port: String(config.monitoring_port),
    user: config.monitoring_username,
    password,
  };
}
