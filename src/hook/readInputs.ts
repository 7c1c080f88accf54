// Gathers a hook's inputs: the only place that reads Juju state for the model.
import type { HookInputs } from "../inputs.js";
import type { HookTools } from "../juju/hookTools.js";
import { readRemoteUnits } from "../juju/remoteUnits.js";
import type { HookContext } from "./hookContext.js";

export async function readInputs(tools: HookTools, context: HookContext): Promise<HookInputs> {
  const endingRelation = context.hookName.endsWith("-relation-broken")
    ? context.relationId
    : undefined;
  const readOptions = {
    ...(endingRelation !== undefined && { brokenRelationId: endingRelation }),
    ...(context.departingUnit !== undefined && { departingUnit: context.departingUnit }),
  };
  const [config, reverseproxy, peers, privateAddress, publicAddress] = await Promise.all([
    tools.configGet(),
    readRemoteUnits(tools, "reverseproxy", readOptions),
    readRemoteUnits(tools, "peer", readOptions),
    tools.unitGet("private-address"),
    tools.unitGet("public-address"),
  ]);
  return { unitName: context.unitName, privateAddress, publicAddress, config, reverseproxy, peers };
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
