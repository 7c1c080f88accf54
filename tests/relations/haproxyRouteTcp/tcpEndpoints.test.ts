// What a haproxy-route-tcp requirer is told: where clients reach it, in the
// form the library reads (`host:port` strings).
import { describe, expect, it } from "vitest";

import type { HaproxyRouteTcpRequest } from "../../../src/relations/haproxyRouteTcp/haproxyRouteTcpRequest.js";
import {
  tcpEndpointPublications,
  tcpEndpoints,
} from "../../../src/relations/haproxyRouteTcp/tcpEndpoints.js";

const request = (fields: Partial<HaproxyRouteTcpRequest> = {}): HaproxyRouteTcpRequest => ({
  relationId: "haproxy-route-tcp:4",
  app: "db",
  ports: { listen: [5432, 5432], backend: [5432, 5432] },
  targets: [{ name: "db/0", address: "10.0.0.5" }],
  loadBalancing: { algorithm: "leastconn", consistentHashing: false },
  timeout: { server: 60, connect: 60, queue: 60 },
  ipDenyList: [],
  enforceTls: false,
  tlsTerminate: false,
  proxyProtocol: false,
  ready: true,
  ...fields,
});

const units = { unitAddresses: ["10.0.0.2", "10.0.0.1", "fd00::3", "10.0.0.1"] };

describe("haproxy-route-tcp endpoints", () => {
  it("names every haproxy unit's address, each once and sorted, when there is neither SNI nor VIP", () => {
    expect(tcpEndpoints(request(), units)).toEqual([
      "10.0.0.1:5432",
      "10.0.0.2:5432",
      "[fd00::3]:5432",
    ]);
  });

  it("names the VIP alone when there is one", () => {
    expect(tcpEndpoints(request(), { ...units, vip: "10.0.0.100" })).toEqual(["10.0.0.100:5432"]);
  });

  it("names the SNI when the route is reached by one, VIP or not", () => {
    const routed = request({ sni: "db.example.com", enforceTls: true });
    expect(tcpEndpoints(routed, { ...units, vip: "10.0.0.100" })).toEqual(["db.example.com:5432"]);
  });

  it("lists every port of a port mapping", () => {
    const mapped = request({ ports: { listen: [7000, 7002], backend: [8000, 8002] } });
    expect(tcpEndpoints(mapped, { unitAddresses: ["10.0.0.1"] })).toEqual([
      "10.0.0.1:7000",
      "10.0.0.1:7001",
      "10.0.0.1:7002",
    ]);
  });

  it("publishes [] on a relation left out or not ready, and the endpoints on a served one", () => {
    const served = [request(), request({ relationId: "haproxy-route-tcp:5", ready: false })];
    const published = tcpEndpointPublications(
      ["haproxy-route-tcp:4", "haproxy-route-tcp:5", "haproxy-route-tcp:6"],
      served,
      { unitAddresses: ["10.0.0.1"] },
    );
    expect(Object.fromEntries(published)).toEqual({
      "haproxy-route-tcp:4": { endpoints: '["10.0.0.1:5432"]' },
      "haproxy-route-tcp:5": { endpoints: "[]" },
      "haproxy-route-tcp:6": { endpoints: "[]" },
    });
  });
});
