// When a unit may start competing for the VIP (pure). Unicast VRRP only hears
// the peers that list it: a unit that joins knows the others before they know
// it, and the holder's adverts do not reach it until the holder's own hook has
// added it. If it competed meanwhile it would take the address too. So each
// unit publishes its unicast peers on the peer relation (`vip-peers`), and a
// new unit's check fails until every peer it knows lists it. Once it has been
// ready it stays so: a later join must not take the address from a holder.
import type { RemoteUnit } from "../juju/hookInputs.js";
import { vipPeersOf } from "../relations/peer/vipPeers.js";
import { usablePeerAddress } from "./vipPlan.js";

export interface ReadinessContext {
  /** It was ready in an earlier hook. */
  readonly settled: boolean;
  /** Only the leader may start alone (a single unit). */
  readonly leader: () => Promise<boolean>;
  readonly unitAddress: string;
  readonly peers: readonly RemoteUnit[];
}

export async function readyToHold(context: ReadinessContext): Promise<boolean> {
  if (context.settled) return true;
  // A peer keepalived is not told about (no usable address) is no competitor.
  const known = context.peers.filter((peer) =>
    usablePeerAddress(peer.settings["private-address"] ?? ""),
  );
  if (known.length === 0) return context.leader();
  return known.every((peer) => vipPeersOf(peer.settings).includes(context.unitAddress));
}
