// Reading the haproxy-route requirers' bags: what Canonical's library writes
// becomes the typed request; every field the library (v2) refuses is refused
// too, named in the reason, and so is what would break haproxy.cfg; two
// applications never share a backend name, a route or a gRPC port; the
// hostname falls back to external_hostname; `hosts` replace the units.
import { describe, expect, it } from "vitest";

import type { RemoteApp, RemoteUnit } from "../../../src/juju/hookInputs.js";
import { RelationPolicy } from "../../../src/model/relationPolicy.js";
import type { HaproxyRouteRequest } from "../../../src/relations/haproxyRoute/haproxyRouteRequest.js";
import {
  type HaproxyRouteReadContext,
  readHaproxyRouteRequests,
} from "../../../src/relations/haproxyRoute/haproxyRouteRequirers.js";
import { Raw, type Related, bag, relatedBags } from "../../helpers/relatedApps.js";

const untrusted = new RelationPolicy({ trusted: false });
const NO_CONFIG: HaproxyRouteReadContext = { externalHostname: "", backendCasAvailable: false };
const WITH_CAS: HaproxyRouteReadContext = { externalHostname: "", backendCasAvailable: true };

function read(
  related: readonly Related[],
  context: HaproxyRouteReadContext = NO_CONFIG,
  policy: RelationPolicy = untrusted,
) {
  const { apps, units } = relatedBags("haproxy-route", related);
  return readHaproxyRouteRequests(apps, units, policy, context);
}

function readOne(
  values: Record<string, unknown>,
  context: HaproxyRouteReadContext = NO_CONFIG,
  addresses?: readonly unknown[],
): HaproxyRouteRequest {
  const { requests, skipped } = read(
    [{ relation: 1, app: "shop", values, ...(addresses !== undefined && { addresses }) }],
    context,
  );
  expect(skipped).toEqual([]);
  return requests[0] as HaproxyRouteRequest;
}

function reasonFor(
  values: Record<string, unknown>,
  context: HaproxyRouteReadContext = NO_CONFIG,
  addresses?: readonly unknown[],
): string {
  const { requests, skipped } = read(
    [{ relation: 1, app: "shop", values, ...(addresses !== undefined && { addresses }) }],
    context,
  );
  expect(requests).toEqual([]);
  expect(skipped).toHaveLength(1);
  expect(skipped[0]?.invalid).toBe(true);
  return skipped[0]?.reason ?? "";
}

const BASE = { service: "shop", ports: [8080], hostname: "shop.example.com" };

describe("a request as Canonical's library writes it", () => {
  it("reads the documented example into the typed request", () => {
    const { requests, skipped } = readHaproxyRouteRequests(
      [
        {
          relationId: "haproxy-route:4",
          app: "my-app",
          settings: {
            service: '"my-app"',
            ports: "[8080]",
            hostname: '"app.example.com"',
            paths: '["/api"]',
            check: '{"interval":10,"rise":3,"fall":3,"path":"/health"}',
          },
        },
      ],
      [{ relationId: "haproxy-route:4", unit: "my-app/0", settings: { address: '"10.0.0.5"' } }],
      untrusted,
      NO_CONFIG,
    );
    expect(skipped).toEqual([]);
    expect(requests).toEqual([
      {
        relationId: "haproxy-route:4",
        app: "my-app",
        service: "my-app",
        ports: [8080],
        protocol: "http",
        targets: [{ name: "my-app/0", address: "10.0.0.5" }],
        paths: ["/api"],
        hostnames: ["app.example.com"],
        hostnameFromConfig: false,
        rewrites: [],
        check: { interval: 10, rise: 3, fall: 3, path: "/health" },
        loadBalancing: { algorithm: "leastconn", consistentHashing: false },
        denyPaths: [],
        timeout: { server: 60, connect: 60, queue: 60 },
        httpServerClose: false,
        allowHttp: false,
        ready: true,
      },
    ]);
  });

  it("reads every field the library writes", () => {
    const request = readOne(
      {
        service: "grpc-api",
        ports: [8443, 9443],
        protocol: "https",
        paths: ["/v1", "/v2/items?x=1"],
        hostname: "API.Example.com",
        additional_hostnames: ["*.api.example.com", "api.example.com", "xn--bcher-kva.de"],
        rewrites: [
          { method: "set-path", expression: "%[path,regsub(^/v1/,/)]" },
          { method: "set-query", expression: "a=1&b=2" },
          { method: "set-header", header: "X-Forwarded-Prefix", expression: "/v1" },
        ],
        check: { interval: 5, rise: 2, fall: 4, path: "/healthz", port: 9000 },
        load_balancing: { algorithm: "cookie", cookie: "session_id", consistent_hashing: true },
        rate_limit: { connections_per_minute: 600, policy: "silent-drop" },
        bandwidth_limit: { upload: 1000000, download: 0 },
        retry: { count: 3, redispatch: true },
        deny_paths: ["/admin", "/metrics"],
        timeout: { server: 30, connect: 5 },
        server_maxconn: 100,
        http_server_close: true,
        allow_http: true,
        external_grpc_port: 50051,
        // Keys the library does not know are not read at all.
        future_option: new Raw("not { json"),
      },
      WITH_CAS,
      ["fd00::1"],
    );
    expect(request).toEqual({
      relationId: "haproxy-route:1",
      app: "shop",
      service: "grpc-api",
      ports: [8443, 9443],
      protocol: "https",
      targets: [{ name: "shop/0", address: "fd00::1" }],
      paths: ["/v1", "/v2/items?x=1"],
      hostnames: ["api.example.com", "*.api.example.com", "xn--bcher-kva.de"],
      hostnameFromConfig: false,
      rewrites: [
        { method: "set-path", expression: "%[path,regsub(^/v1/,/)]" },
        { method: "set-query", expression: "a=1&b=2" },
        { method: "set-header", header: "X-Forwarded-Prefix", expression: "/v1" },
      ],
      check: { interval: 5, rise: 2, fall: 4, path: "/healthz", port: 9000 },
      loadBalancing: { algorithm: "cookie", cookie: "session_id", consistentHashing: true },
      rateLimit: { connectionsPerMinute: 600, policy: "silent-drop" },
      bandwidthLimit: { upload: 1000000 },
      retry: { count: 3, redispatch: true },
      denyPaths: ["/admin", "/metrics"],
      timeout: { server: 30, connect: 5, queue: 60 },
      serverMaxconn: 100,
      httpServerClose: true,
      allowHttp: true,
      externalGrpcPort: 50051,
      ready: true,
    });
  });

  it.each<[string, Record<string, unknown>, Partial<HaproxyRouteRequest>]>([
    ["null optional objects are none", { check: null, rate_limit: null, retry: null }, {}],
    ["a check of zeros is no check", { check: { interval: 0, rise: 0, fall: 0 } }, {}],
    ["a check without interval, rise and fall is no check", { check: { path: "/h" } }, {}],
    ["empty objects take the defaults", { load_balancing: {}, timeout: {} }, {}],
    [
      "unknown keys of an object are ignored",
      { timeout: { server: 9, client: "x" } },
      {
        timeout: { server: 9, connect: 60, queue: 60 },
      },
    ],
    ["an integral number written with a fraction", { ports: new Raw("[8080.0]") }, {}],
    [
      "source with consistent hashing",
      { load_balancing: { algorithm: "source", consistent_hashing: true } },
      {
        loadBalancing: { algorithm: "source", consistentHashing: true },
      },
    ],
    ["server_maxconn 0: no limit", { server_maxconn: 0 }, {}],
    ["an empty value is the default", { protocol: new Raw(""), paths: new Raw("") }, {}],
    [
      "duplicate hostnames once",
      { additional_hostnames: ["SHOP.example.com", "www.example.com"] },
      {
        hostnames: ["shop.example.com", "www.example.com"],
      },
    ],
  ])("accepts %s", (_name, values, expected) => {
    const request = readOne({ ...BASE, ...values });
    expect(request).toMatchObject({
      ports: [8080],
      hostnames: ["shop.example.com"],
      loadBalancing: { algorithm: "leastconn", consistentHashing: false },
      timeout: { server: 60, connect: 60, queue: 60 },
      ...expected,
    });
    expect(request.check).toBeUndefined();
    expect(request.serverMaxconn).toBeUndefined();
  });
});

describe("bags that do not validate", () => {
  // [what, fields over BASE (undefined removes one), the field the reason names, context]
  const cases: [string, Record<string, unknown>, string, HaproxyRouteReadContext?][] = [
    ["service not JSON", { service: new Raw("shop") }, "service"],
    ["service a number", { service: 5 }, "service"],
    ["service empty text", { service: "" }, "service"],
    ["service with a space", { service: "a b" }, "service"],
    ["service with a quote", { service: 'a"b' }, "service"],
    ["service with a #", { service: "a#b" }, "service"],
    ["service with a \\", { service: "a\\b" }, "service"],
    ["service with a $", { service: "a$b" }, "service"],
    ["service with a ;", { service: "a;b" }, "service"],
    ["service with a /", { service: "a/b" }, "service"],
    ["service beyond ASCII", { service: "café" }, "service"],
    ["ports missing", { ports: undefined }, "ports"],
    ["ports null", { ports: null }, "ports"],
    ["ports empty", { ports: [] }, "ports"],
    ["ports not a list", { ports: 8080 }, "ports"],
    ["port 0", { ports: [0] }, "ports[0]"],
    ["port 65536", { ports: [80, 65536] }, "ports[1]"],
    ["port as text", { ports: ["8080"] }, "ports[0]"],
    ["port a fraction", { ports: [80.5] }, "ports[0]"],
    ["port twice", { ports: [8080, 8080] }, "ports"],
    ["protocol upper case", { protocol: "HTTP" }, "protocol"],
    ["protocol h2c", { protocol: "h2c" }, "protocol"],
    ["protocol null", { protocol: null }, "protocol"],
    ["protocol https without CAs", { protocol: "https" }, "protocol"],
    ["hosts not a list", { hosts: "10.0.0.1" }, "hosts"],
    ["a host that is a name", { hosts: ["backend.example.com"] }, "hosts[0]"],
    ["a host in brackets", { hosts: ["10.1.1.1", "[fd00::1]"] }, "hosts[1]"],
    ["a host with a zone", { hosts: ["fd00::1%eth0"] }, "hosts[0]"],
    ["a host with leading zeros", { hosts: ["010.0.0.1"] }, "hosts[0]"],
    ["a loopback host", { hosts: ["127.0.0.1"] }, "hosts[0]"],
    ["a link-local host", { hosts: ["169.254.1.1"] }, "hosts[0]"],
    ["a path without /", { paths: ["api"] }, "paths[0]"],
    ["a path with a space", { paths: ["/a b"] }, "paths[0]"],
    ["a path with a tab", { paths: ["/a\tb"] }, "paths[0]"],
    ["a path with a quote", { paths: ["/a'b"] }, "paths[0]"],
    ["a path with a #", { paths: ["/", "/a#b"] }, "paths[1]"],
    ["a path with a \\", { paths: ["/a\\b"] }, "paths[0]"],
    ["a path with a $", { paths: ["/a$b"] }, "paths[0]"],
    ["a path with a ;", { paths: ["/a;b"] }, "paths[0]"],
    ["a path with a line break", { paths: ["/a\nbackend x"] }, "paths[0]"],
    ["a path a number", { paths: [5] }, "paths[0]"],
    ["paths an object", { paths: { a: "/" } }, "paths"],
    ["a wildcard over a TLD", { hostname: "*.com" }, "hostname"],
    ["a hostname without a dot", { hostname: "localhost" }, "hostname"],
    ["a hostname ending in a dot", { hostname: "shop.example.com." }, "hostname"],
    ["a hostname with an empty label", { hostname: "a..example.com" }, "hostname"],
    ["a hostname label starting with -", { hostname: "-a.example.com" }, "hostname"],
    ["a hostname with __", { hostname: "a__b.example.com" }, "hostname"],
    ["a wildcard inside", { hostname: "a.*.example.com" }, "hostname"],
    ["two wildcards", { hostname: "*.*.example.com" }, "hostname"],
    ["an IP as hostname", { hostname: "10.0.0.1" }, "hostname"],
    ["a hostname with a space", { hostname: "a b.example.com" }, "hostname"],
    ["a hostname with a port", { hostname: "shop.example.com:443" }, "hostname"],
    ["a Unicode hostname", { hostname: "bücher.de" }, "hostname"],
    ["a hostname a number", { hostname: 5 }, "hostname"],
    [
      "a bad additional hostname",
      { additional_hostnames: ["a.com", "*.com"] },
      "additional_hostnames[1]",
    ],
    ["additional_hostnames text", { additional_hostnames: "a.com" }, "additional_hostnames"],
    ["a rewrite not an object", { rewrites: ["set-path /"] }, "rewrites[0]"],
    ["a rewrite without method", { rewrites: [{ expression: "/" }] }, "rewrites[0].method"],
    [
      "an unknown rewrite method",
      { rewrites: [{ method: "replace-path", expression: "/" }] },
      "rewrites[0].method",
    ],
    [
      "a rewrite without expression",
      { rewrites: [{ method: "set-path" }] },
      "rewrites[0].expression",
    ],
    [
      "set-header without header",
      { rewrites: [{ method: "set-header", expression: "x" }] },
      "rewrites[0].header",
    ],
    [
      "a header with a space",
      { rewrites: [{ method: "set-header", header: "X A", expression: "x" }] },
      "rewrites[0].header",
    ],
    [
      "a header with a colon",
      { rewrites: [{ method: "set-header", header: "X:", expression: "x" }] },
      "rewrites[0].header",
    ],
    [
      "an expression with a space",
      { rewrites: [{ method: "set-path", expression: "/a if TRUE" }] },
      "rewrites[0].expression",
    ],
    [
      "an expression with a quote",
      { rewrites: [{ method: "set-path", expression: '/"a' }] },
      "rewrites[0].expression",
    ],
    [
      "an expression with a $",
      { rewrites: [{ method: "set-query", expression: "${HOME}" }] },
      "rewrites[0].expression",
    ],
    [
      "an expression reading a file",
      { rewrites: [{ method: "set-path", expression: "%[path,map(/etc/passwd)]" }] },
      "rewrites[0].expression",
    ],
    [
      "an expression running Lua",
      { rewrites: [{ method: "set-path", expression: "%[lua.f]" }] },
      "rewrites[0].expression",
    ],
    [
      "an expression reading the environment",
      { rewrites: [{ method: "set-header", header: "X", expression: "%[env(HOME)]" }] },
      "rewrites[0].expression",
    ],
    [
      "an expression with unbalanced brackets",
      { rewrites: [{ method: "set-path", expression: "%[path" }] },
      "rewrites[0].expression",
    ],
    [
      "an expression that is a condition",
      { rewrites: [{ method: "set-path", expression: "unless" }] },
      "rewrites[0].expression",
    ],
    ["check not an object", { check: [10, 3, 3] }, "check"],
    ["check interval alone", { check: { interval: 10 } }, "check"],
    ["check fall 0", { check: { interval: 10, rise: 3, fall: 0 } }, "check"],
    ["check interval negative", { check: { interval: -1, rise: 3, fall: 3 } }, "check.interval"],
    ["check interval as text", { check: { interval: "10", rise: 3, fall: 3 } }, "check.interval"],
    [
      "check interval past haproxy's timer",
      { check: { interval: 3000000, rise: 3, fall: 3 } },
      "check.interval",
    ],
    [
      "check path without /",
      { check: { interval: 10, rise: 3, fall: 3, path: "health" } },
      "check.path",
    ],
    [
      "check path with a space",
      { check: { interval: 10, rise: 3, fall: 3, path: "/ HTTP/1.0" } },
      "check.path",
    ],
    ["check port 0", { check: { interval: 10, rise: 3, fall: 3, port: 0 } }, "check.port"],
    ["load_balancing null", { load_balancing: null }, "load_balancing"],
    [
      "an unknown algorithm",
      { load_balancing: { algorithm: "random" } },
      "load_balancing.algorithm",
    ],
    [
      "cookie algorithm without cookie",
      { load_balancing: { algorithm: "cookie" } },
      "load_balancing.cookie",
    ],
    [
      "a cookie without cookie algorithm",
      { load_balancing: { cookie: "sid" } },
      "load_balancing.cookie",
    ],
    [
      "a cookie closing req.cook(",
      { load_balancing: { algorithm: "cookie", cookie: "a)" } },
      "load_balancing.cookie",
    ],
    [
      "a cookie with a ;",
      { load_balancing: { algorithm: "cookie", cookie: "a;b" } },
      "load_balancing.cookie",
    ],
    [
      "consistent hashing with roundrobin",
      { load_balancing: { algorithm: "roundrobin", consistent_hashing: true } },
      "load_balancing.consistent_hashing",
    ],
    [
      "consistent hashing as text",
      { load_balancing: { algorithm: "source", consistent_hashing: "true" } },
      "load_balancing.consistent_hashing",
    ],
    [
      "rate_limit without a rate",
      { rate_limit: { policy: "deny" } },
      "rate_limit.connections_per_minute",
    ],
    [
      "rate_limit of 0",
      { rate_limit: { connections_per_minute: 0 } },
      "rate_limit.connections_per_minute",
    ],
    [
      "an unknown rate_limit policy",
      { rate_limit: { connections_per_minute: 10, policy: "tarpit" } },
      "rate_limit.policy",
    ],
    ["a negative upload limit", { bandwidth_limit: { upload: -1 } }, "bandwidth_limit.upload"],
    [
      "a download limit as text",
      { bandwidth_limit: { download: "1M" } },
      "bandwidth_limit.download",
    ],
    ["bandwidth_limit null", { bandwidth_limit: null }, "bandwidth_limit"],
    ["retry without count", { retry: { redispatch: true } }, "retry.count"],
    ["a negative retry count", { retry: { count: -1 } }, "retry.count"],
    ["redispatch as text", { retry: { count: 3, redispatch: "yes" } }, "retry.redispatch"],
    ["a deny path without /", { deny_paths: ["admin"] }, "deny_paths[0]"],
    ["a deny path with a space", { deny_paths: ["/a b"] }, "deny_paths[0]"],
    ["timeout null", { timeout: null }, "timeout"],
    ["a server timeout of 0", { timeout: { server: 0 } }, "timeout.server"],
    ["a connect timeout null", { timeout: { connect: null } }, "timeout.connect"],
    ["a queue timeout with a fraction", { timeout: { queue: 1.5 } }, "timeout.queue"],
    ["a timeout past haproxy's timer", { timeout: { server: 3000000 } }, "timeout.server"],
    ["a negative server_maxconn", { server_maxconn: -1 }, "server_maxconn"],
    ["server_maxconn as text", { server_maxconn: "10" }, "server_maxconn"],
    ["http_server_close as text", { http_server_close: "true" }, "http_server_close"],
    ["http_server_close as 1", { http_server_close: 1 }, "http_server_close"],
    ["allow_http null", { allow_http: null }, "allow_http"],
    ["a gRPC port with http", { external_grpc_port: 50051 }, "external_grpc_port"],
    [
      "a gRPC port 443",
      { protocol: "https", external_grpc_port: 443 },
      "external_grpc_port",
      WITH_CAS,
    ],
    [
      "a gRPC port 80",
      { protocol: "https", external_grpc_port: 80 },
      "external_grpc_port",
      WITH_CAS,
    ],
    [
      "a gRPC port 70000",
      { protocol: "https", external_grpc_port: 70000 },
      "external_grpc_port",
      WITH_CAS,
    ],
    ["a gRPC port 0", { protocol: "https", external_grpc_port: 0 }, "external_grpc_port", WITH_CAS],
    ["no hostname and no external_hostname", { hostname: undefined }, "hostname"],
  ];

  it.each(cases)("refuses %s", (_name, values, field, context = NO_CONFIG) => {
    expect(reasonFor({ ...BASE, ...values }, context)).toMatch(new RegExp(`^${escape(field)}: `));
  });

  it("says why https needs a receive-ca-certs relation", () => {
    expect(reasonFor({ ...BASE, protocol: "https" })).toMatch(/receive-ca-certs/);
    expect(readOne({ ...BASE, protocol: "https" }, WITH_CAS).protocol).toBe("https");
  });

  it("says why a request without hostname has none", () => {
    expect(reasonFor({ service: "shop", ports: [80] })).toBe(
      "hostname: the application names no hostname and the charm's external_hostname is unset",
    );
  });

  it.each<[string, unknown, string]>([
    ["a name", "shop-0.example.com", "shop/0.address"],
    ["a loopback address", "127.0.0.1", "shop/0.address"],
    ["IPv6 loopback", "::1", "shop/0.address"],
    ["a number", 10, "shop/0.address"],
    ["text that is not JSON", new Raw("10.0.0.5"), "shop/0.address"],
  ])("refuses a unit's address that is %s", (_name, address, field) => {
    expect(reasonFor(BASE, NO_CONFIG, [address])).toMatch(new RegExp(`^${escape(field)}: `));
  });

  it("refuses a loopback address as loopback, and takes it when relation data is trusted", () => {
    expect(reasonFor(BASE, NO_CONFIG, ["127.0.0.1"])).toBe(
      'shop/0.address: "127.0.0.1" is a loopback address',
    );
    const trusted = read(
      [{ relation: 1, app: "shop", values: BASE, addresses: ["127.0.0.1"] }],
      NO_CONFIG,
      new RelationPolicy({ trusted: true }),
    );
    expect(trusted.requests[0]?.targets).toEqual([{ name: "shop/0", address: "127.0.0.1" }]);
  });

  it("still refuses a unit's address that is no IP address when hosts replace the units", () => {
    expect(reasonFor({ ...BASE, hosts: ["10.1.0.1"] }, NO_CONFIG, ["shop-0.internal"])).toMatch(
      /^shop\/0\.address: /,
    );
  });
});

describe("what is not written yet", () => {
  it.each<[string, Record<string, string>]>([
    ["an empty bag", {}],
    ["a bag without service", bag({ ports: [80], hostname: "a.example.com" })],
    ["a service set to the empty value", { service: "" }],
  ])("leaves %s out as not written yet, not as invalid", (_name, settings) => {
    const { requests, skipped } = readHaproxyRouteRequests(
      [{ relationId: "haproxy-route:1", app: "shop", settings }],
      [],
      untrusted,
      NO_CONFIG,
    );
    expect(requests).toEqual([]);
    expect(skipped).toEqual([
      {
        relationId: "haproxy-route:1",
        app: "shop",
        reason: "service: not written yet",
        invalid: false,
      },
    ]);
  });
});

describe("two applications claiming the same thing", () => {
  const clash = (a: Record<string, unknown>, b: Record<string, unknown>) =>
    read([
      { relation: 3, app: "alpha", values: a },
      { relation: 5, app: "beta", values: b },
      {
        relation: 7,
        app: "gamma",
        values: { service: "gamma", ports: [80], hostname: "g.example.com" },
      },
    ]);

  function expectBothOut(result: ReturnType<typeof read>, field: string) {
    expect(result.requests.map((request) => request.app)).toEqual(["gamma"]);
    expect(result.skipped).toEqual([
      expect.objectContaining({ app: "alpha", invalid: true }),
      expect.objectContaining({ app: "beta", invalid: true }),
    ]);
    const [alpha, beta] = result.skipped;
    expect(alpha?.reason).toMatch(new RegExp(`^${escape(field)}: .*\\bbeta\\b`));
    expect(beta?.reason).toMatch(new RegExp(`^${escape(field)}: .*\\balpha\\b`));
  }

  it("leaves both out when they name the same service", () => {
    expectBothOut(
      clash(
        { service: "web", ports: [80], hostname: "a.example.com" },
        { service: "web", ports: [81], hostname: "b.example.com" },
      ),
      "service",
    );
  });

  it("leaves both out when they ask for the same hostname and path", () => {
    const result = clash(
      { service: "a", ports: [80], hostname: "shop.example.com", paths: ["/api"] },
      {
        service: "b",
        ports: [80],
        hostname: "x.example.com",
        additional_hostnames: ["SHOP.example.com"],
        paths: ["/web", "/api"],
      },
    );
    expectBothOut(result, "paths");
    expect(result.skipped[0]?.reason).toContain("shop.example.com/api");
  });

  it("leaves both out when neither names a path on the same hostname", () => {
    expectBothOut(
      clash(
        { service: "a", ports: [80], hostname: "shop.example.com" },
        { service: "b", ports: [80], hostname: "shop.example.com" },
      ),
      "hostname",
    );
  });

  it("names additional_hostnames when the hostname claimed is one of them", () => {
    const result = read([
      {
        relation: 3,
        app: "alpha",
        values: { service: "a", ports: [80], hostname: "a.example.com" },
      },
      {
        relation: 5,
        app: "beta",
        values: {
          service: "b",
          ports: [80],
          hostname: "b.example.com",
          additional_hostnames: ["a.example.com"],
        },
      },
    ]);
    expect(result.requests).toEqual([]);
    expect(result.skipped.map((skip) => skip.reason)).toEqual([
      "hostname: a.example.com/ is also asked for by beta",
      "additional_hostnames: a.example.com/ is also asked for by alpha",
    ]);
  });

  it("leaves both out when both fall back to external_hostname without a path", () => {
    const result = read(
      [
        { relation: 3, app: "alpha", values: { service: "a", ports: [80] } },
        { relation: 5, app: "beta", values: { service: "b", ports: [80] } },
        { relation: 7, app: "gamma", values: { service: "c", ports: [80], paths: ["/c"] } },
      ],
      { externalHostname: "haproxy.example.com", backendCasAvailable: false },
    );
    expect(result.requests.map((request) => request.app)).toEqual(["gamma"]);
    expect(result.skipped.map((skip) => skip.reason)).toEqual([
      "hostname: haproxy.example.com/ is also asked for by beta",
      "hostname: haproxy.example.com/ is also asked for by alpha",
    ]);
  });

  it("leaves both out when they ask for the same gRPC port", () => {
    const grpc = { protocol: "https", external_grpc_port: 50051, ports: [443] };
    const result = read(
      [
        { relation: 3, app: "alpha", values: { ...grpc, service: "a", hostname: "a.example.com" } },
        { relation: 5, app: "beta", values: { ...grpc, service: "b", hostname: "b.example.com" } },
        {
          relation: 7,
          app: "gamma",
          values: { service: "gamma", ports: [80], hostname: "g.example.com" },
        },
      ],
      WITH_CAS,
    );
    expectBothOut(result, "external_grpc_port");
  });

  it("serves both when they differ in path, hostname or wildcard", () => {
    const result = read([
      {
        relation: 1,
        app: "a",
        values: { service: "a", ports: [80], hostname: "x.example.com", paths: ["/a"] },
      },
      {
        relation: 2,
        app: "b",
        values: { service: "b", ports: [80], hostname: "x.example.com", paths: ["/b"] },
      },
      {
        relation: 3,
        app: "c",
        values: { service: "c", ports: [80], hostname: "*.x.example.com", paths: ["/a"] },
      },
      { relation: 4, app: "d", values: { service: "d", ports: [80], hostname: "x.example.com" } },
    ]);
    expect(result.skipped).toEqual([]);
    expect(result.requests.map((request) => request.app)).toEqual(["a", "b", "c", "d"]);
  });

  it("lets an application that does not validate take nothing from one that does", () => {
    const result = read([
      {
        relation: 1,
        app: "bad",
        values: { service: "web", ports: [0], hostname: "a.example.com" },
      },
      {
        relation: 2,
        app: "good",
        values: { service: "web", ports: [80], hostname: "a.example.com" },
      },
    ]);
    expect(result.requests.map((request) => request.app)).toEqual(["good"]);
    expect(result.skipped).toEqual([
      expect.objectContaining({ app: "bad", reason: expect.stringMatching(/^ports\[0\]: /) }),
    ]);
  });
});

describe("the hostname", () => {
  it("is the charm's external_hostname when the application names none", () => {
    const request = readOne(
      { service: "shop", ports: [80], additional_hostnames: ["www.example.com"] },
      { externalHostname: "Haproxy.Example.com", backendCasAvailable: false },
    );
    expect(request.hostnames).toEqual(["haproxy.example.com", "www.example.com"]);
    expect(request.hostnameFromConfig).toBe(true);
  });

  it("is the application's own, lower-cased, when it names one", () => {
    const request = readOne(
      { ...BASE, hostname: "*.Shop.example.com" },
      { externalHostname: "haproxy.example.com", backendCasAvailable: false },
    );
    expect(request.hostnames).toEqual(["*.shop.example.com"]);
    expect(request.hostnameFromConfig).toBe(false);
  });

  it("falls back on a null hostname as on an absent one", () => {
    const request = readOne(
      { ...BASE, hostname: null },
      { externalHostname: "haproxy.example.com", backendCasAvailable: false },
    );
    expect(request.hostnames).toEqual(["haproxy.example.com"]);
  });
});

describe("the servers", () => {
  it("are the hosts when given, in their order, instead of the units", () => {
    const request = readOne({ ...BASE, hosts: ["10.1.0.1", "fd00::2"] }, NO_CONFIG, [
      "10.0.0.5",
      undefined,
    ]);
    expect(request.targets).toEqual([
      { name: "host-0", address: "10.1.0.1" },
      { name: "host-1", address: "fd00::2" },
    ]);
    expect(request.ready).toBe(true);
  });

  it("are the units that wrote an address, in unit order, when hosts are empty", () => {
    const apps: RemoteApp[] = [
      { relationId: "haproxy-route:1", app: "shop", settings: bag({ ...BASE, hosts: [] }) },
    ];
    const units: RemoteUnit[] = [
      { relationId: "haproxy-route:1", unit: "shop/10", settings: bag({ address: "10.0.0.10" }) },
      { relationId: "haproxy-route:2", unit: "other/0", settings: bag({ address: "10.9.9.9" }) },
      { relationId: "haproxy-route:1", unit: "shop/2", settings: bag({ address: "fd00::2" }) },
    ];
    const { requests } = readHaproxyRouteRequests(apps, units, untrusted, NO_CONFIG);
    expect(requests[0]?.targets).toEqual([
      { name: "shop/2", address: "fd00::2" },
      { name: "shop/10", address: "10.0.0.10" },
    ]);
  });

  it("make the request ready once every unit has written its address", () => {
    const partly = readOne(BASE, NO_CONFIG, ["10.0.0.5", undefined]);
    expect(partly.targets).toEqual([{ name: "shop/0", address: "10.0.0.5" }]);
    expect(partly.ready).toBe(false);
    expect(readOne(BASE, NO_CONFIG, ["10.0.0.5", "10.0.0.6"]).ready).toBe(true);
    const none = readOne(BASE, NO_CONFIG, []);
    expect(none.targets).toEqual([]);
    expect(none.ready).toBe(false);
  });
});

describe("the order of what is read", () => {
  it("is relation order, whatever order Juju lists the applications in", () => {
    const result = read([
      {
        relation: 10,
        app: "ten",
        values: { service: "ten", ports: [80], hostname: "ten.example.com" },
      },
      {
        relation: 9,
        app: "nine",
        values: { service: "nine", ports: [0], hostname: "nine.example.com" },
      },
      {
        relation: 2,
        app: "two",
        values: { service: "two", ports: [80], hostname: "two.example.com" },
      },
      { relation: 1, app: "one", values: {} },
    ]);
    expect(result.requests.map((request) => request.relationId)).toEqual([
      "haproxy-route:2",
      "haproxy-route:10",
    ]);
    expect(result.skipped.map((skip) => skip.relationId)).toEqual([
      "haproxy-route:1",
      "haproxy-route:9",
    ]);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
