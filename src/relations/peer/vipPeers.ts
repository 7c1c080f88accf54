// The VIP's key on the peer relation: `vip-peers`, the addresses whose
// keepalived adverts this unit accepts. A new unit competes for the VIP only
// once every peer lists it (src/vip/vipReadiness.ts).
import type { HookTools, RelationSettings } from "../../juju/hookTools.js";

const VIP_PEERS_KEY = "vip-peers";

/** The addresses a peer's keepalived listens to; empty when it publishes none. */
export function vipPeersOf(settings: RelationSettings): string[] {
  return (settings[VIP_PEERS_KEY] ?? "").split(" ");
}

/** `published` is the space-separated addresses; "" deletes the key. */
export async function publishVipPeers(
  tools: HookTools,
  relationId: string,
  published: string,
): Promise<void> {
  await tools.relationSet(relationId, { [VIP_PEERS_KEY]: published });
}
