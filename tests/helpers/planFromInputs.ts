// Tests describe a hook's whole input state as HookInputs, as a `render --from`
// snapshot does; this is their edge: the options are parsed once, then planned.
import { parseCharmConfig } from "../../src/config/charmConfig.js";
import type { HookInputs } from "../../src/juju/hookInputs.js";
import { type Plan, type PlanPaths, planConfiguration } from "../../src/plan/planConfiguration.js";

export function planFromInputs(inputs: HookInputs, paths: PlanPaths, liveConfig?: string): Plan {
  return planConfiguration(parseCharmConfig(inputs.config), inputs, paths, liveConfig);
}
