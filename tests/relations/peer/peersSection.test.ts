// The peers section from the peer relation: every unit, this one included,
// in unit order; a peer whose address is not a plain IP address, or one the
// relation policy refuses, is left out with a warning naming it.
import { describe, expect, it } from "vitest";

import type { RemoteUnit } from "../../../src/juju/hookInputs.js";
import { ConfigError } from "../../../src/lib/errors.js";
import { InvalidField } from "../../../src/model/fieldChecks.js";
import { RelationPolicy } from "../../../src/model/relationPolicy.js";
import { peersSection } from "../../../src/relations/peer/peersSection.js";

const peer = (unit: string, address?: string): RemoteUnit => ({
  relationId: "peer:1",
  unit,
  settings: address === undefined ? {} : { "private-address": address },
});

describe("peersSection", () => {
  it("names every unit, this one included, in unit order, each on the peers port", () => {
    const { section, warnings } = peersSection(
      "haproxy/2",
      "10.0.0.2",
      [
        peer("haproxy/10", "10.0.0.10"),
        peer("haproxy/0", "10.0.0.1"),
        peer("haproxy/9", "fd00::9"),
      ],
      10000,
    );
    expect(warnings).toEqual([]);
    expect(section).toEqual({
      name: "haproxy_peers",
      localPeer: "haproxy-2",
      peers: [
        { name: "haproxy-0", address: "10.0.0.1", port: 10000 },
        { name: "haproxy-2", address: "10.0.0.2", port: 10000 },
        { name: "haproxy-9", address: "fd00::9", port: 10000 },
        { name: "haproxy-10", address: "10.0.0.10", port: 10000 },
      ],
    });
  });

  it("gives every unit the same peers, each its own local peer", () => {
    const units = [
      { unit: "haproxy/0", address: "10.0.0.1" },
      { unit: "haproxy/1", address: "10.0.0.2" },
      { unit: "haproxy/3", address: "10.0.0.4" },
    ];
    const sections = units.map(
      ({ unit, address }) =>
        peersSection(
          unit,
          address,
          units
            .filter((other) => other.unit !== unit)
            .map((other) => peer(other.unit, other.address)),
          10001,
        ).section,
    );
    expect(sections.map((section) => section.localPeer)).toEqual([
      "haproxy-0",
      "haproxy-1",
      "haproxy-3",
    ]);
    expect(new Set(sections.map((section) => JSON.stringify(section.peers))).size).toBe(1);
  });

  it("still gives a unit alone a section with its own peer", () => {
    expect(peersSection("haproxy/0", "10.0.0.1", [], 10000)).toEqual({
      section: {
        name: "haproxy_peers",
        localPeer: "haproxy-0",
        peers: [{ name: "haproxy-0", address: "10.0.0.1", port: 10000 }],
      },
      warnings: [],
    });
  });

  it.each([
    ["a host name", "peer.example.com", "is not a plain IPv4 or IPv6 address"],
    ["no address yet", undefined, "is not a plain IPv4 or IPv6 address"],
    ["a second word", "10.0.0.5 backup", "is not a plain IPv4 or IPv6 address"],
    ["a line break", "10.0.0.5\n    peer x 1.2.3.4:1", "is not a plain IPv4 or IPv6 address"],
    ["a port", "10.0.0.5:22", "is not a plain IPv4 or IPv6 address"],
    ["brackets", "[fd00::5]", "is not a plain IPv4 or IPv6 address"],
    ["a zone", "fe80::1%eth0", "is not a plain IPv4 or IPv6 address"],
    ["an environment variable", "${HOME}", "is not a plain IPv4 or IPv6 address"],
    ["an octet out of range", "10.0.0.256", "is not a plain IPv4 or IPv6 address"],
    ["loopback", "127.0.0.1", "is a loopback address"],
    ["IPv6 loopback", "::1", "is a loopback address"],
    ["link-local", "169.254.1.1", "is a link-local address"],
    ["unspecified", "0.0.0.0", "is an unspecified address"],
    ["multicast", "ff02::1", "is a multicast address"],
    ["this unit's own address", "10.0.0.1", "is this unit's own address"],
  ])("leaves out a peer whose private-address is %s, with a warning", (_, address, problem) => {
    const { section, warnings } = peersSection(
      "haproxy/0",
      "10.0.0.1",
      [peer("haproxy/1", "10.0.0.2"), peer("haproxy/2", address)],
      10000,
    );
    expect(section.peers.map((line) => line.name)).toEqual(["haproxy-0", "haproxy-1"]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^peer unit haproxy\/2 \(peer:1\) left out of the peers section: private-address: /,
    );
    expect(warnings[0]).toContain(problem);
  });

  it("takes a loopback peer only where the operator trusts relation data", () => {
    const peers = [peer("haproxy/1", "127.0.0.2")];
    const trusted = new RelationPolicy({ trusted: true });
    expect(peersSection("haproxy/0", "127.0.0.1", peers, 10000, trusted).section.peers).toEqual([
      { name: "haproxy-0", address: "127.0.0.1", port: 10000 },
      { name: "haproxy-1", address: "127.0.0.2", port: 10000 },
    ]);
    // Trust lifts the address ranges, never the plain-address rule.
    const named = peersSection(
      "haproxy/0",
      "10.0.0.1",
      [peer("haproxy/1", "peer.local")],
      10000,
      trusted,
    );
    expect(named.section.peers).toHaveLength(1);
    expect(named.warnings).toHaveLength(1);
  });

  it("ignores this unit should the relation list it", () => {
    const { section } = peersSection(
      "haproxy/0",
      "10.0.0.1",
      [peer("haproxy/0", "10.9.9.9"), peer("haproxy/1", "10.0.0.2")],
      10000,
    );
    expect(section.peers).toEqual([
      { name: "haproxy-0", address: "10.0.0.1", port: 10000 },
      { name: "haproxy-1", address: "10.0.0.2", port: 10000 },
    ]);
  });

  it("refuses an address of its own that cannot be printed, naming the field", () => {
    expect(() => peersSection("haproxy/0", "unit-0.lxd", [], 10000)).toThrow(InvalidField);
    expect(() => peersSection("haproxy/0", "unit-0.lxd", [], 10000)).toThrow(/^private-address: /);
  });

  it.each([0, 65536, 1.5])("refuses peers_port %s as the operator's error", (port) => {
    expect(() => peersSection("haproxy/0", "10.0.0.1", [], port)).toThrow(ConfigError);
    expect(() => peersSection("haproxy/0", "10.0.0.1", [], port)).toThrow(/peers_port/);
  });
});
