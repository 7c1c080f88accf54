// This unit's cos-agent document, from what the hook read: the charm's own
// dashboard and rules, labelled with the unit's Juju topology.
import type { HookInputs } from "../../juju/hookInputs.js";
import { appOfUnit } from "../../model/unitNames.js";
import { bundledAssets } from "./bundledAssets.js";
import { cosAgentConfig } from "./cosAgentConfig.js";
import { COS_AGENT_EXPORTER_PORT } from "./exporterListener.js";

export function cosAgentDocument(inputs: HookInputs): string {
  return cosAgentConfig({
    topology: {
      model: inputs.modelName ?? "",
      modelUuid: inputs.modelUuid ?? "",
      application: appOfUnit(inputs.unitName),
      charm: "haproxy",
    },
    scrapePort: COS_AGENT_EXPORTER_PORT,
    assets: bundledAssets(),
  });
}
