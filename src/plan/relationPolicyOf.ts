// The one relation-data policy of a hook: what the operator said about trust,
// this unit's own addresses (co-located applications stay allowed), and the
// addresses the hook looked relation data's names up to.
import type { CharmConfig } from "../config/charmConfig.js";
import type { HookInputs } from "../juju/hookInputs.js";
import { RelationPolicy } from "../model/relationPolicy.js";

export function relationPolicyOf(config: CharmConfig, inputs: HookInputs): RelationPolicy {
  return new RelationPolicy({
    trusted: config.trust_relation_data,
    ownAddresses: [inputs.privateAddress, inputs.publicAddress],
    ...(inputs.resolvedHosts !== undefined && { resolvedHosts: inputs.resolvedHosts }),
  });
}
