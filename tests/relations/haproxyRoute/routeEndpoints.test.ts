// What a haproxy-route requirer is told, exactly as the library reads it: a
// JSON list of URLs, one per hostname and path; [] when it is not served.
import { describe, expect, it } from "vitest";

import type { HaproxyRouteRequest } from "../../../src/relations/haproxyRoute/haproxyRouteRequest.js";
import {
  endpointPublications,
  endpointsByBackend,
  proxiedEndpoints,
} from "../../../src/relations/haproxyRoute/routeEndpoints.js";

const request = (fields: Partial<HaproxyRouteRequest> = {}): HaproxyRouteRequest => ({
  relationId: "haproxy-route:3",
  app: "shop",
  service: "shop",
  ports: [8080],
  protocol: "http",
  targets: [{ name: "shop/0", address: "10.0.0.5" }],
  paths: [],
  hostnames: ["shop.example.com"],
  hostnameFromConfig: false,
  rewrites: [],
  loadBalancing: { algorithm: "leastconn", consistentHashing: false },
  denyPaths: [],
  timeout: { server: 60, connect: 60, queue: 60 },
  httpServerClose: false,
  allowHttp: false,
  ready: true,
  ...fields,
});

describe("haproxy-route endpoints", () => {
  it("is https://<hostname> without paths, and every hostname with every path with them", () => {
    expect(proxiedEndpoints(request())).toEqual(["https://shop.example.com"]);
    expect(
      proxiedEndpoints(
        request({ hostnames: ["a.example.com", "*.b.example.com"], paths: ["/api", "/v2"] }),
      ),
    ).toEqual([
      "https://a.example.com/api",
      "https://a.example.com/v2",
      "https://*.b.example.com/api",
      "https://*.b.example.com/v2",
    ]);
  });

  it("publishes a JSON list on every relation: [] when left out or not ready", () => {
    const published = endpointPublications(
      ["haproxy-route:3", "haproxy-route:4", "haproxy-route:5"],
      [request(), request({ relationId: "haproxy-route:4", service: "b", ready: false })],
    );
    expect(Object.fromEntries(published)).toEqual({
      "haproxy-route:3": { endpoints: '["https://shop.example.com"]' },
      "haproxy-route:4": { endpoints: "[]" },
      "haproxy-route:5": { endpoints: "[]" },
    });
    expect(JSON.parse(published.get("haproxy-route:3")?.endpoints ?? "")).toEqual([
      "https://shop.example.com",
    ]);
  });

  it("gives the action every served backend's endpoints by its name", () => {
    expect(endpointsByBackend([request(), request({ service: "api", paths: ["/x"] })])).toEqual({
      shop: ["https://shop.example.com"],
      api: ["https://shop.example.com/x"],
    });
  });
});
