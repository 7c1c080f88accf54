// The leader tells each haproxy-route-tcp application where it is served.
// Unchanged endpoints cost nothing (the hook tools skip the relation-set);
// is-leader is asked only while a haproxy-route-tcp relation exists.
import { advertisedVip } from "../../config/vipOption.js";
import type { ReconcilePublication } from "../publication.js";
import { tcpEndpointPublications } from "./tcpEndpoints.js";

export async function publishTcpEndpoints(publication: ReconcilePublication): Promise<void> {
  const { tools, relations, inputs, plan } = publication;
  if (plan === undefined) return;
  const relationIds = await relations.relationIds("haproxy-route-tcp");
  if (relationIds.length === 0 || !(await tools.isLeader())) return;
  const vip = advertisedVip(plan.charmConfig);
  const peerAddresses = inputs.peers.flatMap((peer) => {
    const address = peer.settings["private-address"];
    return address === undefined || address === "" ? [] : [address];
  });
  const publications = tcpEndpointPublications(relationIds, plan.tcpRoutes, {
    ...(vip !== undefined && { vip }),
    unitAddresses: [inputs.privateAddress, ...peerAddresses],
  });
  for (const [relationId, settings] of publications) {
    await tools.relationSetApp(relationId, settings);
  }
}
