// Gathers a hook's inputs: the only place that reads Juju state for the model.
import type { HookInputs } from "../juju/hookInputs.js";
import type { HookTools } from "../juju/hookTools.js";
import type { RelationData } from "../juju/relationData.js";
import { ENDPOINTS, type RelationInputs } from "../relations/registry.js";
import type { HookContext } from "./hookContext.js";

export async function readInputs(
  tools: HookTools,
  relations: RelationData,
  context: HookContext,
): Promise<HookInputs> {
  const [config, relationInputs, privateAddress, publicAddress] = await Promise.all([
    tools.configGet(),
    Promise.all(ENDPOINTS.map((endpoint) => endpoint.read?.(relations) ?? {})),
    tools.unitGet("private-address"),
    tools.unitGet("public-address"),
  ]);
  return {
    unitName: context.unitName,
    privateAddress,
    publicAddress,
    config,
    reverseproxy: [],
    peers: [],
    ...(Object.assign({}, ...relationInputs) as Partial<RelationInputs>),
    ...(context.modelName !== undefined && { modelName: context.modelName }),
    ...(context.modelUuid !== undefined && { modelUuid: context.modelUuid }),
  };
}

/** Config and addresses only, for hooks that do not need relation data. */
export async function readUnitInputs(tools: HookTools, context: HookContext): Promise<HookInputs> {
  const [config, privateAddress, publicAddress] = await Promise.all([
    tools.configGet(),
    tools.unitGet("private-address"),
    tools.unitGet("public-address"),
  ]);
  return {
    unitName: context.unitName,
    privateAddress,
    publicAddress,
    config,
    reverseproxy: [],
    peers: [],
  };
}
