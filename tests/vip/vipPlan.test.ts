// What keepalived gets on a unit: interface, peers, priority, router id and
// the addresses, and the network checks that block the unit.
import { describe, expect, it } from "vitest";

import { ConfigError } from "../../src/lib/errors.js";
import { heldAddresses, parseInterfaceAddresses } from "../../src/vip/interfaceAddresses.js";
import { type VipContext, planVip, priorityOf, routerIdOf } from "../../src/vip/vipPlan.js";

const IP_OUTPUT = [
  "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever",
  "2: eth0    inet 10.86.0.11/16 brd 10.86.255.255 scope global eth0\\       valid_lft forever preferred_lft forever",
  "2: eth0    inet 10.86.0.100/16 scope global secondary eth0\\       valid_lft forever preferred_lft forever",
  "3: ens5@if7    inet 192.168.5.4/24 brd 192.168.5.255 scope global ens5\\       valid_lft 3000sec preferred_lft 3000sec",
  "",
].join("\n");

const context: VipContext = {
  unitName: "haproxy/1",
  unitAddress: "10.86.0.11",
  interfaces: parseInterfaceAddresses(IP_OUTPUT),
  peers: [
    { unit: "haproxy/2", address: "10.86.0.12" },
    { unit: "haproxy/0", address: "10.86.0.10" },
  ],
};

describe("parseInterfaceAddresses", () => {
  it("reads device, address, prefix and secondary addresses", () => {
    expect(parseInterfaceAddresses(IP_OUTPUT)).toEqual([
      { device: "lo", address: "127.0.0.1", prefix: 8, secondary: false },
      { device: "eth0", address: "10.86.0.11", prefix: 16, secondary: false },
      { device: "eth0", address: "10.86.0.100", prefix: 16, secondary: true },
      { device: "ens5", address: "192.168.5.4", prefix: 24, secondary: false },
    ]);
  });

  it("tells which VIPs the unit holds", () => {
    const interfaces = parseInterfaceAddresses(IP_OUTPUT);
    expect(heldAddresses(interfaces, ["10.86.0.100", "10.86.0.101"])).toEqual(["10.86.0.100"]);
    expect(heldAddresses(interfaces, ["10.86.0.101"])).toEqual([]);
  });
});

describe("planVip", () => {
  it("speaks from the unit's address on its interface, unicast to the sorted peers", () => {
    expect(planVip({ addresses: [{ address: "10.86.0.100" }] }, context)).toEqual({
      device: "eth0",
      sourceAddress: "10.86.0.11",
      peerAddresses: ["10.86.0.10", "10.86.0.12"],
      priority: 230,
      routerId: 9,
      addresses: ["10.86.0.100/16"],
      bareAddresses: ["10.86.0.100"],
      ignoredPeers: [],
    });
  });

  it("leaves out a peer whose address is not plain IPv4, and names it", () => {
    const hostile = [
      {
        unit: "haproxy/3",
        address: "10.86.0.13\n  }\n  notify_master /tmp/evil\n  unicast_peer {",
      },
      { unit: "haproxy/4", address: "fd00::14" },
      { unit: "haproxy/5", address: "10.86.0.015" },
      { unit: "haproxy/6", address: "10.86.0.16 10.86.0.17" },
    ];
    const plan = planVip(
      { addresses: [{ address: "10.86.0.100" }] },
      { ...context, peers: [...context.peers, ...hostile] },
    );
    expect(plan.peerAddresses).toEqual(["10.86.0.10", "10.86.0.12"]);
    expect(plan.ignoredPeers).toEqual(hostile);
    // The priorities rank the units keepalived knows of.
    expect(plan.priority).toBe(230);
  });

  it("keeps the operator's prefix and router id", () => {
    const plan = planVip(
      { addresses: [{ address: "10.86.0.100", prefix: 32 }], routerId: 7 },
      context,
    );
    expect(plan.addresses).toEqual(["10.86.0.100/32"]);
    expect(plan.routerId).toBe(7);
  });

  it.each([
    ["10.87.0.100", /10.87.0.100 is not in this unit's subnet 10.86.0.0\/16 \(eth0\)/],
    ["10.86.0.10", /10.86.0.10 is the address of unit haproxy\/0/],
    ["10.86.0.11", /10.86.0.11 is the address of unit haproxy\/1/],
    ["10.86.255.255", /network or broadcast address/],
    ["10.86.0.0", /network or broadcast address/],
  ])("blocks on %s, naming the option", (address, problem) => {
    const plan = () => planVip({ addresses: [{ address }] }, context);
    expect(plan).toThrow(ConfigError);
    expect(plan).toThrow(/^config option vip: /);
    expect(plan).toThrow(problem);
  });

  it("says so when no interface carries the unit's address", () => {
    expect(() =>
      planVip({ addresses: [{ address: "10.86.0.100" }] }, { ...context, unitAddress: "10.9.9.9" }),
    ).toThrow(/config option vip: no interface of this unit carries its address 10.9.9.9/);
  });
});

describe("priorities and router ids", () => {
  it("ranks units by number, 20 apart, and never below 1", () => {
    const units = ["haproxy/10", "haproxy/2", "haproxy/0"];
    expect(units.map((unit) => priorityOf(unit, units))).toEqual([210, 230, 250]);
    const many = Array.from({ length: 80 }, (_, n) => `haproxy/${n}`);
    const priorities = many.map((unit) => priorityOf(unit, many));
    expect(priorities.slice(0, 11)).toEqual([250, 230, 210, 190, 170, 150, 130, 110, 90, 70, 50]);
    expect(Math.min(...priorities)).toBe(1);
    expect(new Set(priorities.slice(0, 60)).size).toBe(60);
  });

  it("derives a stable id of 1-255 from the application name", () => {
    // Pinned: units of one application upgraded one by one must keep agreeing on the id,
    // or VRRP splits into two groups that both hold the address.
    const ids = ["haproxy", "haproxy-internal", "lb", "x".repeat(50)].map(routerIdOf);
    expect(ids).toEqual([9, 106, 141, 134]);
  });
});
