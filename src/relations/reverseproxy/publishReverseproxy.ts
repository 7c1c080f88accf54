// Writes haproxy's public address and certificate on `reverseproxy`. The hook
// tools leave out a relation-set of the values a bag already holds.
import type { CharmConfig } from "../../config/charmConfig.js";
import { advertisedVip } from "../../config/vipOption.js";
import type { HookInputs } from "../../juju/hookInputs.js";
import type { HookTools } from "../../juju/hookTools.js";
import type { ReconcilePublication } from "../publication.js";
import { reverseproxySettings } from "./reverseproxySettings.js";

export async function publishToReverseproxy(
  tools: HookTools,
  config: CharmConfig,
  inputs: HookInputs,
  relationIds: readonly string[],
): Promise<void> {
  const settings = reverseproxySettings(
    config,
    advertisedVip(config) ?? inputs.publicAddress,
    inputs.selfSignedPem,
  );
  for (const relationId of relationIds) await tools.relationSet(relationId, settings);
}

export async function publishReverseproxy(publication: ReconcilePublication): Promise<void> {
  const { tools, relations, inputs, plan } = publication;
  if (plan === undefined) return;
  await publishToReverseproxy(
    tools,
    plan.charmConfig,
    inputs,
    await relations.relationIds("reverseproxy"),
  );
}
