// active-passive peering with a service bound to the VIP: the forwarders reach
// each unit's port+1 at its own address, so the balancer listens there rather
// than on the VIP, which only the holder has.
import { describe, expect, it } from "vitest";

import { applyActivePassive } from "../../../src/relations/peer/peering.js";
import { completeService } from "../../../src/model/placeServices.js";
import type { PlacedService } from "../../../src/model/types.js";

const service = (host: string): PlacedService => ({
  ...completeService({ name: "shop" }),
  host,
  port: 80,
});
const context = {
  unitName: "haproxy/0",
  privateAddress: "10.86.0.10",
  peers: [
    {
      relationId: "peer:1",
      unit: "haproxy/1",
      settings: {
        "private-address": "10.86.0.11",
        all_services: "- {service_name: shop, service_port: 80}",
      },
    },
  ],
  floatingAddresses: ["10.86.200.100"],
};

describe("applyActivePassive with a VIP", () => {
  it("binds the forwarder on the VIP and the balancer on the unit's address", () => {
    const [forwarder, balancer] = applyActivePassive([service("10.86.200.100")], context);
    expect(forwarder).toMatchObject({ name: "shop", host: "10.86.200.100", port: 80 });
    expect(balancer).toMatchObject({ name: "shop_be", host: "10.86.0.10", port: 81 });
    expect(forwarder?.servers.map((server) => `${server.address}:${server.port}`)).toEqual([
      "10.86.0.10:81",
      "10.86.0.11:81",
    ]);
  });

  it("leaves other hosts as they were", () => {
    const [, balancer] = applyActivePassive([service("0.0.0.0")], context);
    expect(balancer).toMatchObject({ name: "shop_be", host: "0.0.0.0", port: 81 });
  });
});
