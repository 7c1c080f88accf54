// Reading the ingress-per-unit requirers' unit bags: the plain strings
// Canonical's library writes become typed requests; a unit whose bag breaks
// a rule (or would break haproxy.cfg) is left out, named with the field, and
// the others are served; the URLs the leader publishes list the served units
// in unit order, as YAML.
import yaml from "js-yaml";
import { describe, expect, it } from "vitest";

import type { RemoteUnit } from "../../../src/juju/hookInputs.js";
import { RelationPolicy } from "../../../src/model/relationPolicy.js";
import { placeUnits } from "../../../src/relations/ingressPerUnit/unitPlacement.js";
import { readUnitRequests } from "../../../src/relations/ingressPerUnit/unitRequirers.js";
import { unitUrlPublications } from "../../../src/relations/ingressPerUnit/unitUrls.js";
import { planFromInputs } from "../../helpers/planFromInputs.js";

const untrusted = new RelationPolicy({ trusted: false });

/** A unit's bag as the library writes it: plain strings; `undefined` leaves the key out. */
function unit(
  name: string,
  values: Record<string, string | undefined> = {},
  relationId = "ingress-per-unit:1",
): RemoteUnit {
  const settings = Object.fromEntries(
    Object.entries({ model: "m", name, host: "10.0.0.5", port: "8080", ...values }).filter(
      (entry): entry is [string, string] => entry[1] !== undefined,
    ),
  );
  return { relationId, unit: name, settings };
}

describe("reading ingress-per-unit unit bags", () => {
  it("reads what the library writes, with its defaults", () => {
    const read = readUnitRequests([unit("app/0")], untrusted);
    expect(read.skipped).toEqual([]);
    expect(read.requests).toEqual([
      {
        relationId: "ingress-per-unit:1",
        unit: "app/0",
        model: "m",
        name: "app/0",
        address: "10.0.0.5",
        port: 8080,
        mode: "http",
        stripPrefix: false,
        redirectHttps: false,
        scheme: "http",
      },
    ]);
  });

  it("reads the optional fields", () => {
    const read = readUnitRequests(
      [
        unit("app/0", {
          mode: "tcp",
          "strip-prefix": "true",
          "redirect-https": "true",
          scheme: "https",
          host: "fd00::5",
        }),
      ],
      untrusted,
    );
    expect(read.requests[0]).toMatchObject({
      mode: "tcp",
      stripPrefix: true,
      redirectHttps: true,
      scheme: "https",
      address: "[fd00::5]",
    });
  });

  it("orders units by relation, then unit number: app/2 before app/10", () => {
    const read = readUnitRequests(
      [unit("app/10"), unit("app/2"), unit("b/0", {}, "ingress-per-unit:0")],
      untrusted,
    );
    expect(read.requests.map((request) => request.unit)).toEqual(["b/0", "app/2", "app/10"]);
  });

  it("waits, without a warning, for a unit that has written nothing yet", () => {
    const read = readUnitRequests([
      { relationId: "ingress-per-unit:1", unit: "app/0", settings: {} },
    ]);
    expect(read.requests).toEqual([]);
    expect(read.skipped).toEqual([expect.objectContaining({ unit: "app/0", invalid: false })]);
  });

  it.each([
    ["a missing port", { port: undefined }, "port: missing"],
    ["a missing host", { host: undefined }, "host: missing"],
    ["a port that is JSON", { port: '"8080"' }, "port: "],
    ["a port outside 1-65535", { port: "70000" }, 'port: "70000" is not a port number'],
    ["port 0", { port: "0" }, 'port: "0" is not a port number'],
    ["a model with upper case", { model: "Prod" }, 'model: "Prod" is not 1-63 of [a-z0-9-]'],
    ["a name that is no unit name", { name: "app" }, 'name: "app" is not a unit name'],
    ["a name with a space", { name: "app/0 x" }, "name: "],
    ["a mode it does not know", { mode: "udp" }, 'mode: "udp" is not http or tcp'],
    ["strip-prefix that is not true or false", { "strip-prefix": "yes" }, "strip-prefix: "],
    ["redirect-https that is JSON", { "redirect-https": "True" }, "redirect-https: "],
    ["a scheme it cannot speak", { scheme: "h2c" }, 'scheme: "h2c" is not http or https'],
    ["a host with a line break", { host: "10.0.0.1\n  server x 1.2.3.4:80" }, "host: "],
    ["a host with a quote", { host: 'a"b' }, "host: "],
    ["a loopback host", { host: "127.0.0.1" }, 'host: "127.0.0.1" is a loopback address'],
    ["localhost", { host: "localhost" }, 'host: "localhost" names this machine'],
  ])(
    "leaves out a unit with %s, names it and the field, and serves the rest",
    (_, values, reason) => {
      const read = readUnitRequests([unit("app/0"), unit("app/1", values)], untrusted);
      expect(read.requests.map((request) => request.unit)).toEqual(["app/0"]);
      expect(read.skipped).toEqual([
        {
          relationId: "ingress-per-unit:1",
          unit: "app/1",
          reason: expect.any(String),
          invalid: true,
        },
      ]);
      expect(read.skipped[0]?.reason.startsWith(reason)).toBe(true);
    },
  );

  it("serves loopback only when relation data is trusted", () => {
    const read = readUnitRequests(
      [unit("app/0", { host: "127.0.0.1" })],
      new RelationPolicy({ trusted: true }),
    );
    expect(read.requests.map((request) => request.address)).toEqual(["127.0.0.1"]);
  });

  it("gives a route to one unit only: a second unit claiming the same path is left out", () => {
    const read = readUnitRequests(
      [unit("app/0"), unit("other/0", { name: "app/0" }, "ingress-per-unit:2")],
      untrusted,
    );
    expect(read.requests.map((request) => request.unit)).toEqual(["app/0"]);
    expect(read.skipped[0]).toMatchObject({
      unit: "other/0",
      reason: "name: the route /m-app-0 is already taken by app/0",
    });
  });
});

describe("placing units and publishing their URLs", () => {
  const context = {
    externalHostname: "",
    tls: false,
    defaultMode: "http",
    tcpBasePort: 30000,
    reservedPorts: new Map<number, string>(),
  };
  const urls = { externalHostname: "", publicAddress: "203.0.113.10", tls: false };

  it("gives the i-th TCP unit the base port + 2i, HTTP units taking no port", () => {
    const read = readUnitRequests(
      [unit("db/0", { mode: "tcp" }), unit("web/0"), unit("db/1", { mode: "tcp" })],
      untrusted,
    );
    const placed = placeUnits([], read.requests, context);
    expect(placed.served.map((served) => [served.request.unit, served.tcpPort])).toEqual([
      ["db/0", 30000],
      ["db/1", 30002],
      ["web/0", undefined],
    ]);
    expect(placed.services.map((service) => [service.name, service.port]).sort()).toEqual([
      ["ingress_http", 80],
      ["m-db-0_tcp", 30000],
      ["m-db-1_tcp", 30002],
    ]);
  });

  it("leaves out a TCP unit whose port another listener holds, naming the port and holder", () => {
    const read = readUnitRequests([unit("db/0", { mode: "tcp" })], untrusted);
    const placed = placeUnits([], read.requests, {
      ...context,
      reservedPorts: new Map([[30001, "monitoring"]]),
    });
    expect(placed.served).toEqual([]);
    expect(placed.skipped).toEqual([
      expect.objectContaining({
        unit: "db/0",
        reason: "mode: its TCP port 30000 or 30001 is already served by monitoring",
        invalid: true,
      }),
    ]);
  });

  it("publishes the served units' URLs as YAML in unit order, and clears an empty relation", () => {
    const read = readUnitRequests(
      [
        unit("app/10"),
        unit("app/2", { mode: "tcp" }),
        unit("app/1"),
        unit("bad/0", { port: "x" }, "ingress-per-unit:2"),
      ],
      untrusted,
    );
    const placed = placeUnits([], read.requests, context);
    const published = unitUrlPublications(
      ["ingress-per-unit:1", "ingress-per-unit:2"],
      placed.served,
      urls,
    );
    const text = published.get("ingress-per-unit:1")?.ingress ?? "";
    expect(yaml.load(text)).toEqual({
      "app/1": { url: "http://203.0.113.10/m-app-1" },
      "app/2": { url: "203.0.113.10:30000" },
      "app/10": { url: "http://203.0.113.10/m-app-10" },
    });
    expect(text.indexOf("app/1:")).toBeLessThan(text.indexOf("app/2:"));
    expect(text.indexOf("app/2:")).toBeLessThan(text.indexOf("app/10:"));
    expect(published.get("ingress-per-unit:2")).toEqual({ ingress: "" });
  });

  it("uses external_hostname, and https once its certificate is served; TCP URLs stay scheme-less", () => {
    const read = readUnitRequests([unit("app/0"), unit("db/0", { mode: "tcp" })], untrusted);
    const placed = placeUnits([], read.requests, context);
    const published = unitUrlPublications(["ingress-per-unit:1"], placed.served, {
      externalHostname: "shop.example.com",
      publicAddress: "203.0.113.10",
      tls: true,
    });
    expect(yaml.load(published.get("ingress-per-unit:1")?.ingress ?? "")).toEqual({
      "app/0": { url: "https://shop.example.com/m-app-0" },
      "db/0": { url: "shop.example.com:30000" },
    });
  });
});

describe("TCP units beside active-passive peering", () => {
  it("leaves each listener's port + 1 free for the balancer peering moves there", () => {
    const units = [unit("db/0", { mode: "tcp" }), unit("db/1", { mode: "tcp" })];
    const inputs = {
      unitName: "haproxy/0",
      privateAddress: "10.0.0.1",
      publicAddress: "10.0.0.1",
      config: { services: "" },
      reverseproxy: [],
      peers: [] as RemoteUnit[],
      ingressPerUnitUnits: units,
    };
    const paths = { haproxyLib: "/var/lib/haproxy", haproxyRun: "/run/haproxy" };
    const alone = planFromInputs(inputs, paths);
    // A second haproxy unit serving the same listeners.
    const peer: RemoteUnit = {
      relationId: "peer:0",
      unit: "haproxy/1",
      settings: {
        "private-address": "10.0.0.2",
        all_services: yaml.dump(
          alone.ownServices.map((service) => ({
            service_name: service.name,
            service_port: service.port,
          })),
        ),
      },
    };
    const peered = planFromInputs({ ...inputs, peers: [peer] }, paths);
    expect(peered.ports).toEqual([30000, 30001, 30002, 30003]);
    expect(peered.services.map((service) => [service.name, service.port])).toEqual([
      ["m-db-0_tcp", 30000],
      ["m-db-0_tcp_be", 30001],
      ["m-db-1_tcp", 30002],
      ["m-db-1_tcp_be", 30003],
    ]);
  });
});
