// Reading the haproxy-route-tcp requirers' bags: what Canonical's library
// writes becomes the typed request; every field the library (v1) refuses is
// refused too, named in the reason, and so is what would break haproxy.cfg;
// applications share a listen port only when each is routed by its own SNI;
// a port the HTTP side holds is never taken; `hosts` replace the units.
import { describe, expect, it } from "vitest";

import { RelationPolicy } from "../../../src/model/relationPolicy.js";
import type { HaproxyRouteTcpRequest } from "../../../src/relations/haproxyRouteTcp/haproxyRouteTcpRequest.js";
import {
  type HaproxyRouteTcpReadContext,
  readHaproxyRouteTcpRequests,
} from "../../../src/relations/haproxyRouteTcp/haproxyRouteTcpRequirers.js";
import { Raw, type Related, relatedBags } from "../../helpers/relatedApps.js";

const untrusted = new RelationPolicy({ trusted: false });
const NOTHING_RESERVED: HaproxyRouteTcpReadContext = { reservedPorts: new Set() };
const HTTP_ROUTES: HaproxyRouteTcpReadContext = { reservedPorts: new Set([80, 443, 8404]) };

function read(
  related: readonly Related[],
  context: HaproxyRouteTcpReadContext = NOTHING_RESERVED,
  policy: RelationPolicy = untrusted,
) {
  const { apps, units } = relatedBags("haproxy-route-tcp", related);
  return readHaproxyRouteTcpRequests(apps, units, policy, context);
}

function readOne(
  values: Record<string, unknown>,
  addresses?: readonly unknown[],
  context: HaproxyRouteTcpReadContext = NOTHING_RESERVED,
): HaproxyRouteTcpRequest {
  const { requests, skipped } = read(
    [{ relation: 1, app: "db", values, ...(addresses !== undefined && { addresses }) }],
    context,
  );
  expect(skipped).toEqual([]);
  return requests[0] as HaproxyRouteTcpRequest;
}

function reasonFor(
  values: Record<string, unknown>,
  addresses?: readonly unknown[],
  context: HaproxyRouteTcpReadContext = NOTHING_RESERVED,
): string {
  const { requests, skipped } = read(
    [{ relation: 1, app: "db", values, ...(addresses !== undefined && { addresses }) }],
    context,
  );
  expect(requests).toEqual([]);
  expect(skipped).toHaveLength(1);
  expect(skipped[0]?.invalid).toBe(true);
  return skipped[0]?.reason ?? "";
}

/** The parts of a request every test below leaves at the library's defaults. */
const DEFAULTS = {
  loadBalancing: { algorithm: "roundrobin", consistentHashing: false },
  timeout: { server: 50, connect: 5, queue: 20 },
  ipDenyList: [],
  enforceTls: true,
  tlsTerminate: true,
  proxyProtocol: false,
} as const;

describe("a request as Canonical's library writes it", () => {
  it("reads the library's own example (its unit tests' relation data)", () => {
    const request = readOne({
      port: 8080,
      backend_port: 9090,
      hosts: ["10.0.0.1", "10.0.0.2"],
      sni: "api.haproxy.internal",
      load_balancing: { algorithm: "leastconn" },
      check: { interval: 60, rise: 2, fall: 3, check_type: "generic" },
      enforce_tls: true,
      tls_terminate: true,
    });
    expect(request).toEqual({
      ...DEFAULTS,
      relationId: "haproxy-route-tcp:1",
      app: "db",
      ports: { listen: [8080, 8080], backend: [9090, 9090] },
      sni: "api.haproxy.internal",
      targets: [
        { name: "host-0", address: "10.0.0.1" },
        { name: "host-1", address: "10.0.0.2" },
      ],
      check: { interval: 60, rise: 2, fall: 3, type: "generic" },
      loadBalancing: { algorithm: "leastconn", consistentHashing: false },
      ready: true,
    });
  });

  it("reads the charm's integration requirer (ping/pong check, port range)", () => {
    expect(
      readOne({
        port: 4444,
        sni: "tcp.example.com",
        check: {
          interval: 5,
          rise: 2,
          fall: 3,
          check_type: "generic",
          send: "ping\r\n",
          expect: "pong",
        },
      }).check,
    ).toEqual({ interval: 5, rise: 2, fall: 3, type: "generic", send: "ping\r\n", expect: "pong" });
    expect(readOne({ port_mapping: "8080-8090:9080-9090" }).ports).toEqual({
      listen: [8080, 8090],
      backend: [9080, 9090],
    });
  });

  it("takes any text a check sends or expects, as the library does: it is written in hexadecimal", () => {
    for (const text of ["GET / HTTP/1.0\r\n\r\n", 'a"b', "${HOME}", "a#b;c\\", "héllo", "\u0000"]) {
      const check = { interval: 1, rise: 1, fall: 1, check_type: "generic" };
      expect(readOne({ port: 4444, check: { ...check, send: text, expect: text } }).check).toEqual({
        interval: 1,
        rise: 1,
        fall: 1,
        type: "generic",
        send: text,
        expect: text,
      });
    }
  });

  it("reads every field the library writes, each unit a target in unit order", () => {
    const request = readOne(
      {
        port: 5432,
        backend_port: 6432,
        sni: "*.DB.example.com",
        check: { interval: 10, rise: 2, fall: 5, check_type: "postgres", db_user: "haproxy" },
        load_balancing: { algorithm: "source", consistent_hashing: true },
        rate_limit: { connections_per_minute: 600, policy: "silent-drop" },
        bandwidth_limit: { upload: 1000000, download: null },
        retry: { count: 3, redispatch: true },
        timeout: { server: 30, connect: null, queue: 7 },
        server_maxconn: 100,
        ip_deny_list: ["192.0.2.1", "2001:db8::1", "192.0.2.1"],
        enforce_tls: true,
        tls_terminate: false,
        proxy_protocol: true,
        // Keys the library does not know are not read at all.
        future_option: new Raw("not { json"),
      },
      ["10.0.0.7", "fd00::2"],
    );
    expect(request).toEqual({
      relationId: "haproxy-route-tcp:1",
      app: "db",
      ports: { listen: [5432, 5432], backend: [6432, 6432] },
      sni: "*.db.example.com",
      targets: [
        { name: "db/0", address: "10.0.0.7" },
        { name: "db/1", address: "fd00::2" },
      ],
      check: { interval: 10, rise: 2, fall: 5, type: "postgres", dbUser: "haproxy" },
      loadBalancing: { algorithm: "source", consistentHashing: true },
      rateLimit: { connectionsPerMinute: 600, policy: "silent-drop" },
      bandwidthLimit: { upload: 1000000 },
      retry: { count: 3, redispatch: true },
      timeout: { server: 30, connect: 5, queue: 7 },
      serverMaxconn: 100,
      ipDenyList: ["192.0.2.1", "2001:db8::1"],
      enforceTls: true,
      tlsTerminate: false,
      proxyProtocol: true,
      ready: true,
    });
  });

  it("gives a bare port the library's defaults", () => {
    expect(readOne({ port: 9000 })).toEqual({
      ...DEFAULTS,
      relationId: "haproxy-route-tcp:1",
      app: "db",
      ports: { listen: [9000, 9000], backend: [9000, 9000] },
      targets: [{ name: "db/0", address: "10.0.0.5" }],
      ready: true,
    });
  });

  it.each<[string, Record<string, unknown>, Partial<HaproxyRouteTcpRequest>]>([
    ["null optional objects are none", { check: null, rate_limit: null, retry: null }, {}],
    [
      "null load_balancing and timeout are the defaults",
      { load_balancing: null, timeout: null },
      {},
    ],
    ["a null sni is none", { sni: null }, {}],
    [
      "a check without a type is a connection check",
      { check: { interval: 2, rise: 1, fall: 1 } },
      { check: { interval: 2, rise: 1, fall: 1, type: "generic" } },
    ],
    [
      "a null check_type too",
      { check: { interval: 2, rise: 1, fall: 1, check_type: null } },
      { check: { interval: 2, rise: 1, fall: 1, type: "generic" } },
    ],
    [
      "mysql with its user",
      { check: { interval: 2, rise: 1, fall: 1, check_type: "mysql", db_user: "hap_check" } },
      { check: { interval: 2, rise: 1, fall: 1, type: "mysql", dbUser: "hap_check" } },
    ],
    [
      "redis",
      { check: { interval: 2, rise: 1, fall: 1, check_type: "redis" } },
      { check: { interval: 2, rise: 1, fall: 1, type: "redis" } },
    ],
    [
      "smtp",
      { check: { interval: 2, rise: 1, fall: 1, check_type: "smtp" } },
      { check: { interval: 2, rise: 1, fall: 1, type: "smtp" } },
    ],
    [
      "a send ending in a bare line feed",
      { check: { interval: 2, rise: 1, fall: 1, check_type: "generic", send: "PING\n" } },
      { check: { interval: 2, rise: 1, fall: 1, type: "generic", send: "PING\n" } },
    ],
    [
      "rate limit policy defaults to reject",
      { rate_limit: { connections_per_minute: 10 } },
      { rateLimit: { connectionsPerMinute: 10, policy: "reject" } },
    ],
    ["a bandwidth limit of 0 is none", { bandwidth_limit: { upload: 0, download: 0 } }, {}],
    ["server_maxconn 0 is no limit", { server_maxconn: 0 }, {}],
    [
      "retry redispatch defaults to false",
      { retry: { count: 0 } },
      { retry: { count: 0, redispatch: false } },
    ],
    [
      "load balancing without consistent hashing",
      { load_balancing: { algorithm: "leastconn" } },
      { loadBalancing: { algorithm: "leastconn", consistentHashing: false } },
    ],
    [
      "TLS allowed off without an sni",
      { enforce_tls: false, tls_terminate: false },
      { enforceTls: false, tlsTerminate: false },
    ],
    [
      "the highest port",
      { port: 65535, backend_port: 65525 },
      { ports: { listen: [65535, 65535], backend: [65525, 65525] } },
    ],
    [
      "an empty hosts list is the units",
      { hosts: [] },
      { targets: [{ name: "db/0", address: "10.0.0.5" }] },
    ],
  ])("%s", (_name, values, expected) => {
    expect(readOne({ port: 9000, ...values })).toEqual({
      ...DEFAULTS,
      relationId: "haproxy-route-tcp:1",
      app: "db",
      ports: { listen: [9000, 9000], backend: [9000, 9000] },
      targets: [{ name: "db/0", address: "10.0.0.5" }],
      ready: true,
      ...expected,
    });
  });
});

describe("port_mapping", () => {
  it.each<[string, { listen: [number, number]; backend: [number, number] }]>([
    ["8080-8090:9080-9090", { listen: [8080, 8090], backend: [9080, 9090] }],
    ["8080:9090", { listen: [8080, 8080], backend: [9090, 9090] }],
    ["8080-8080:9090-9090", { listen: [8080, 8080], backend: [9090, 9090] }],
    ["9000-9002:7000-7002", { listen: [9000, 9002], backend: [7000, 7002] }],
    ["1-65535:1-65535", { listen: [1, 65535], backend: [1, 65535] }],
  ])("%s", (mapping, ports) => {
    expect(readOne({ port_mapping: mapping }).ports).toEqual(ports);
  });

  it.each([
    // The library's own refusals.
    ["8080", /port_mapping: "8080" is not/],
    ["8080:9090:1010", /port_mapping: .* is not/],
    ["8080-8090:9080-9095", /port_mapping: .*differ in length/],
    ["8080-:9090", /port_mapping: .*is not a port/],
    ["abc:9090", /port_mapping: .*is not a port/],
    ["0:9090", /port_mapping: .*0 is outside 1-65535/],
    ["70000:9090", /port_mapping: .*70000 is outside 1-65535/],
    ["8090-8080:9090-9100", /port_mapping: .*runs backwards/],
    // What Python's int() would take, refused here.
    [" 8080:9090", /port_mapping: .*is not a port/],
    ["+8080:9090", /port_mapping: .*is not a port/],
    ["8_080:9090", /port_mapping: .*is not a port/],
    ["8080:9090\n", /port_mapping: .*is not a port/],
    ["", /port_mapping: "" is not/],
  ])("refuses %j", (mapping, reason) => {
    const { requests, skipped } = read([
      { relation: 1, app: "db", values: { port_mapping: mapping } },
    ]);
    expect(requests).toEqual([]);
    expect(skipped[0]?.reason).toMatch(reason);
  });

  it("refuses a mapping that is not text", () => {
    expect(reasonFor({ port_mapping: 8080 })).toMatch(/^port_mapping: expected text/);
  });

  it("is not given with port or backend_port", () => {
    expect(reasonFor({ port: 8080, port_mapping: "8080:9090" })).toMatch(
      /^port_mapping: cannot be given with port/,
    );
    expect(reasonFor({ backend_port: 9090, port_mapping: "8080:9090" })).toMatch(
      /^port_mapping: cannot be given with backend_port/,
    );
    // null is not given, for the library as here.
    expect(readOne({ port: null, port_mapping: "8080:9090" }).ports.listen).toEqual([8080, 8080]);
  });
});

describe("every field refused as the library refuses it, and what would break haproxy.cfg", () => {
  it.each<[string, Record<string, unknown>, RegExp]>([
    ["port 0", { port: 0 }, /^port: 0 is outside 1-65535/],
    ["port 65536", { port: 65536 }, /^port: 65536 is outside/],
    ["port as text", { port: "8080" }, /^port: "8080" is not an integer/],
    ["port 1.5", { port: 1.5 }, /^port: 1.5 is not an integer/],
    ["port null and no mapping", { port: null }, /^port: missing/],
    ["port not JSON", { port: new Raw("80 80") }, /^port: "80 80" is not JSON text/],
    ["backend_port 0", { backend_port: 0 }, /^backend_port: 0 is outside 1-65525/],
    [
      "backend_port above the library's 65525",
      { backend_port: 65530 },
      /^backend_port: 65530 is outside 1-65525/,
    ],
    ["sni not a domain", { sni: "not a domain" }, /^sni: "not a domain" is not printable ASCII/],
    ["sni with a wildcard TLD", { sni: "*.com" }, /^sni: "\*\.com" is not a domain name/],
    ["sni with a misplaced asterisk", { sni: "*invalid.com" }, /^sni: .* is not a domain name/],
    ["sni with a wildcard inside", { sni: "test.*.com" }, /^sni: .* is not a domain name/],
    ["sni with a quote", { sni: "a'.example.com" }, /^sni: /],
    [
      "sni without TLS",
      { sni: "db.example.com", enforce_tls: false },
      /^sni: routing by TLS server name needs enforce_tls/,
    ],
    ["sni a number", { sni: 5 }, /^sni: expected text/],
    ["hosts not a list", { hosts: "10.0.0.1" }, /^hosts: expected a list/],
    ["hosts null", { hosts: null }, /^hosts: expected a list/],
    [
      "a host name in hosts",
      { hosts: ["db.example.com"] },
      /^hosts\[0\]: "db.example.com" is not an IP address/,
    ],
    [
      "a zoned address in hosts",
      { hosts: ["fe80::1%eth0"] },
      /^hosts\[0\]: .* is not an IP address/,
    ],
    [
      "loopback in hosts",
      { hosts: ["10.0.0.9", "127.0.0.1"] },
      /^hosts\[1\]: "127.0.0.1" is a loopback address/,
    ],
    ["check not an object", { check: [1] }, /^check: expected an object/],
    ["check without interval", { check: { rise: 1, fall: 1 } }, /^check.interval: missing/],
    [
      "check interval 0",
      { check: { interval: 0, rise: 1, fall: 1 } },
      /^check.interval: 0 is outside/,
    ],
    ["check rise 0", { check: { interval: 1, rise: 0, fall: 1 } }, /^check.rise: 0 is outside/],
    ["check fall missing", { check: { interval: 1, rise: 1 } }, /^check.fall: missing/],
    [
      "check interval beyond haproxy",
      { check: { interval: 3_000_000, rise: 1, fall: 1 } },
      /^check.interval: 3000000 is outside/,
    ],
    [
      "an unknown check type",
      { check: { interval: 1, rise: 1, fall: 1, check_type: "http" } },
      /^check.check_type: "http" is not one of generic, mysql, postgres, redis, smtp/,
    ],
    [
      "send with mysql",
      { check: { interval: 1, rise: 1, fall: 1, check_type: "mysql", send: "x" } },
      /^check.send: applies only to check_type generic/,
    ],
    [
      "expect without a type",
      { check: { interval: 1, rise: 1, fall: 1, expect: "x" } },
      /^check.expect: applies only to check_type generic/,
    ],
    [
      "db_user with redis",
      { check: { interval: 1, rise: 1, fall: 1, check_type: "redis", db_user: "u" } },
      /^check.db_user: applies only to check_type mysql and postgres/,
    ],
    [
      "db_user with generic",
      { check: { interval: 1, rise: 1, fall: 1, check_type: "generic", db_user: "u" } },
      /^check.db_user: applies only/,
    ],
    [
      "db_user with a space",
      { check: { interval: 1, rise: 1, fall: 1, check_type: "mysql", db_user: "a b" } },
      /^check.db_user: "a b" is not printable ASCII/,
    ],
    [
      "db_user not an identifier",
      { check: { interval: 1, rise: 1, fall: 1, check_type: "mysql", db_user: "a%b" } },
      /^check.db_user: "a%b" is not a user name/,
    ],
    [
      "db_user starting with a digit",
      { check: { interval: 1, rise: 1, fall: 1, check_type: "postgres", db_user: "1x" } },
      /^check.db_user: .* is not a user name/,
    ],
    [
      "send empty",
      { check: { interval: 1, rise: 1, fall: 1, check_type: "generic", send: "" } },
      /^check.send: is empty/,
    ],
    [
      "send a number",
      { check: { interval: 1, rise: 1, fall: 1, check_type: "generic", send: 5 } },
      /^check.send: expected text/,
    ],
    [
      "send longer than a line of haproxy.cfg holds",
      { check: { interval: 1, rise: 1, fall: 1, check_type: "generic", send: "x".repeat(513) } },
      /^check.send: is 513 bytes, more than 512/,
    ],
    [
      "expect empty",
      { check: { interval: 1, rise: 1, fall: 1, check_type: "generic", expect: "" } },
      /^check.expect: is empty/,
    ],
    [
      "load_balancing without an algorithm",
      { load_balancing: {} },
      /^load_balancing.algorithm: missing/,
    ],
    [
      "an HTTP-only algorithm",
      { load_balancing: { algorithm: "cookie" } },
      /^load_balancing.algorithm: "cookie" is not one of leastconn, roundrobin, source/,
    ],
    [
      "consistent hashing with roundrobin",
      { load_balancing: { algorithm: "roundrobin", consistent_hashing: true } },
      /^load_balancing.consistent_hashing: applies only to the source algorithm/,
    ],
    [
      "consistent hashing as text",
      { load_balancing: { algorithm: "source", consistent_hashing: "yes" } },
      /^load_balancing.consistent_hashing: "yes" is not true or false/,
    ],
    [
      "rate limit without connections",
      { rate_limit: { policy: "reject" } },
      /^rate_limit.connections_per_minute: missing/,
    ],
    [
      "rate limit of 0",
      { rate_limit: { connections_per_minute: 0 } },
      /^rate_limit.connections_per_minute: 0 is outside/,
    ],
    [
      "the HTTP-only deny policy",
      { rate_limit: { connections_per_minute: 5, policy: "deny" } },
      /^rate_limit.policy: "deny" is not one of reject, silent-drop/,
    ],
    [
      "a negative upload limit",
      { bandwidth_limit: { upload: -1 } },
      /^bandwidth_limit.upload: -1 is outside/,
    ],
    [
      "a download limit as text",
      { bandwidth_limit: { download: "1M" } },
      /^bandwidth_limit.download: "1M" is not an integer/,
    ],
    ["bandwidth_limit a list", { bandwidth_limit: [] }, /^bandwidth_limit: expected an object/],
    ["retry without count", { retry: { redispatch: true } }, /^retry.count: missing/],
    ["a negative retry count", { retry: { count: -1 } }, /^retry.count: -1 is outside/],
    [
      "retry redispatch null",
      { retry: { count: 1, redispatch: null } },
      /^retry.redispatch: null is not true or false/,
    ],
    [
      "a timeout of 0",
      { timeout: { server: 0, connect: null, queue: null } },
      /^timeout.server: 0 is outside/,
    ],
    [
      "a timeout key left out",
      { timeout: { server: 10, connect: 5 } },
      /^timeout.queue: missing \(null for the default\)/,
    ],
    [
      "a timeout beyond haproxy",
      { timeout: { server: 1, connect: 3_000_000, queue: 1 } },
      /^timeout.connect: 3000000 is outside/,
    ],
    ["a negative server_maxconn", { server_maxconn: -5 }, /^server_maxconn: -5 is outside/],
    ["ip_deny_list null", { ip_deny_list: null }, /^ip_deny_list: expected a list/],
    [
      "a network in ip_deny_list",
      { ip_deny_list: ["10.0.0.0/8"] },
      /^ip_deny_list\[0\]: "10.0.0.0\/8" is not an IP address/,
    ],
    [
      "a host name in ip_deny_list",
      { ip_deny_list: ["1.2.3.4", "evil.example"] },
      /^ip_deny_list\[1\]: "evil.example" is not an IP address/,
    ],
    ["enforce_tls as text", { enforce_tls: "false" }, /^enforce_tls: "false" is not true or false/],
    ["enforce_tls null", { enforce_tls: null }, /^enforce_tls: null is not true or false/],
    ["tls_terminate as a number", { tls_terminate: 0 }, /^tls_terminate: 0 is not true or false/],
    [
      "proxy_protocol as text",
      { proxy_protocol: "true" },
      /^proxy_protocol: "true" is not true or false/,
    ],
  ])("%s", (_name, values, reason) => {
    expect(reasonFor({ port: 9000, ...values })).toMatch(reason);
  });

  it("refuses a unit address that is not an IP address, or is loopback", () => {
    expect(reasonFor({ port: 9000 }, ["db.example.com"])).toMatch(
      /^db\/0.address: "db.example.com" is not an IP address/,
    );
    expect(reasonFor({ port: 9000 }, ["10.0.0.5", "127.0.0.1"])).toMatch(
      /^db\/1.address: "127.0.0.1" is a loopback address/,
    );
    expect(reasonFor({ port: 9000 }, ["::1"])).toMatch(/^db\/0.address: "::1" is a loopback/);
  });

  it("takes loopback backends when the policy trusts the relation", () => {
    const { requests } = read(
      [{ relation: 1, app: "db", values: { port: 9000 }, addresses: ["127.0.0.1"] }],
      NOTHING_RESERVED,
      new RelationPolicy({ trusted: true }),
    );
    expect(requests[0]?.targets).toEqual([{ name: "db/0", address: "127.0.0.1" }]);
  });
});

describe("not written yet, and ready", () => {
  it("skips an application that has written no port yet, as information", () => {
    const { requests, skipped } = read([
      { relation: 1, app: "db", values: {} },
      { relation: 2, app: "cache", values: { sni: "cache.example.com" } },
    ]);
    expect(requests).toEqual([]);
    expect(skipped).toEqual([
      {
        relationId: "haproxy-route-tcp:1",
        app: "db",
        reason: "port: not written yet",
        invalid: false,
      },
      {
        relationId: "haproxy-route-tcp:2",
        app: "cache",
        reason: "port: not written yet",
        invalid: false,
      },
    ]);
  });

  it("is ready only when every unit wrote its address, or hosts are given", () => {
    expect(readOne({ port: 9000 }, ["10.0.0.5", undefined]).ready).toBe(false);
    expect(readOne({ port: 9000 }, ["10.0.0.5", undefined]).targets).toEqual([
      { name: "db/0", address: "10.0.0.5" },
    ]);
    expect(readOne({ port: 9000 }, []).ready).toBe(false);
    expect(readOne({ port: 9000 }, ["10.0.0.5", "10.0.0.6"]).ready).toBe(true);
    expect(readOne({ port: 9000, hosts: ["10.0.0.9"] }, [undefined]).ready).toBe(true);
  });

  it("lists units in unit order, db/2 before db/10", () => {
    const addresses = Array.from({ length: 11 }, (_, i) => `10.0.1.${i}`);
    const names = readOne({ port: 9000 }, addresses).targets.map((target) => target.name);
    expect(names.slice(0, 3)).toEqual(["db/0", "db/1", "db/2"]);
    expect(names.at(-1)).toBe("db/10");
  });
});

describe("ports the HTTP side holds", () => {
  it.each<[Record<string, unknown>, RegExp]>([
    [{ port: 443, sni: "db.example.com" }, /^port: 443 is already haproxy's/],
    [{ port: 80 }, /^port: 80 is already haproxy's/],
    [{ port: 8404, backend_port: 9000 }, /^port: 8404 is already haproxy's/],
    [{ port_mapping: "8400-8410:9400-9410" }, /^port_mapping: 8404 is already haproxy's/],
    [{ port_mapping: "1-1000:2001-3000" }, /^port_mapping: 80, 443 are already haproxy's/],
  ])("refuses %j", (values, reason) => {
    expect(reasonFor(values, undefined, HTTP_ROUTES)).toMatch(reason);
  });

  it("takes a port the HTTP side does not hold, and 443 when nothing holds it", () => {
    expect(readOne({ port: 8443 }, undefined, HTTP_ROUTES).ports.listen).toEqual([8443, 8443]);
    expect(
      readOne({ port_mapping: "444-500:444-500" }, undefined, HTTP_ROUTES).ports.listen,
    ).toEqual([444, 500]);
    expect(readOne({ port: 443 }).ports.listen).toEqual([443, 443]);
  });

  it("a reserved backend port is no matter: only the listen port is haproxy's", () => {
    expect(
      readOne({ port: 9000, backend_port: 443 }, undefined, HTTP_ROUTES).ports.backend,
    ).toEqual([443, 443]);
  });
});

describe("applications held to each other", () => {
  const apps = (...entries: [string, Record<string, unknown>][]): Related[] =>
    entries.map(([app, values], i) => ({ relation: i + 1, app, values }));
  const served = (result: ReturnType<typeof read>) => result.requests.map((r) => r.app);
  const reasons = (result: ReturnType<typeof read>) =>
    Object.fromEntries(result.skipped.map((s) => [s.app, s.reason]));

  it("routes one port by distinct SNIs", () => {
    const result = read(
      apps(
        ["pg", { port: 5432, sni: "pg.example.com" }],
        ["pg-replica", { port: 5432, sni: "replica.example.com" }],
        ["wild", { port: 5432, sni: "*.other.example.com" }],
      ),
    );
    expect(result.skipped).toEqual([]);
    expect(served(result)).toEqual(["pg", "pg-replica", "wild"]);
  });

  it("leaves out every application on a shared port when one gives no sni", () => {
    const result = read(
      apps(
        ["pg", { port: 5432, sni: "pg.example.com" }],
        ["plain", { port: 5432 }],
        ["other", { port: 6000 }],
      ),
    );
    expect(served(result)).toEqual(["other"]);
    expect(reasons(result)).toEqual({
      pg: "port: 5432 is also asked for by plain, which gives no sni to route by",
      plain:
        "port: 5432 is also asked for by pg; applications sharing a port must each give an sni",
    });
    expect(result.skipped.every((skip) => skip.invalid)).toBe(true);
  });

  it("leaves out two applications without sni on one port, both", () => {
    const result = read(apps(["a", { port: 7000 }], ["b", { port: 7000, enforce_tls: false }]));
    expect(served(result)).toEqual([]);
    expect(reasons(result)).toEqual({
      a: "port: 7000 is also asked for by b; applications sharing a port must each give an sni",
      b: "port: 7000 is also asked for by a; applications sharing a port must each give an sni",
    });
  });

  it("leaves out both applications that ask for one SNI on one port, and keeps a third", () => {
    const result = read(
      apps(
        ["a", { port: 5432, sni: "DB.example.com" }],
        ["b", { port: 5432, sni: "db.example.com" }],
        ["c", { port: 5432, sni: "c.example.com" }],
      ),
    );
    expect(served(result)).toEqual(["c"]);
    expect(reasons(result)).toEqual({
      a: "sni: db.example.com on port 5432 is also asked for by b",
      b: "sni: db.example.com on port 5432 is also asked for by a",
    });
  });

  it("lets one SNI be used on two different ports", () => {
    const result = read(
      apps(
        ["a", { port: 5432, sni: "db.example.com" }],
        ["b", { port: 5433, sni: "db.example.com" }],
      ),
    );
    expect(served(result)).toEqual(["a", "b"]);
  });

  it("does not mix TLS termination and passthrough on one port", () => {
    const result = read(
      apps(
        ["a", { port: 5432, sni: "a.example.com" }],
        ["b", { port: 5432, sni: "b.example.com", tls_terminate: false }],
      ),
    );
    expect(served(result)).toEqual([]);
    expect(reasons(result)).toEqual({
      a: "tls_terminate: b on port 5432 passes TLS through; one port does one or the other",
      b: "tls_terminate: a on port 5432 terminates TLS; one port does one or the other",
    });
  });

  it.each<[string, Record<string, unknown>, Record<string, unknown>, string, string]>([
    [
      "two ranges that overlap",
      { port_mapping: "8000-8010:9000-9010" },
      { port_mapping: "8010-8020:9010-9020" },
      "port_mapping: 8000-8010 overlaps the ports of b (only one port may be shared, by SNI)",
      "port_mapping: 8010-8020 overlaps the ports of a (only one port may be shared, by SNI)",
    ],
    [
      "the same range twice, even with SNIs",
      { port_mapping: "8000-8010:9000-9010", sni: "a.example.com" },
      { port_mapping: "8000-8010:9000-9010", sni: "b.example.com" },
      "port_mapping: 8000-8010 overlaps the ports of b (only one port may be shared, by SNI)",
      "port_mapping: 8000-8010 overlaps the ports of a (only one port may be shared, by SNI)",
    ],
    [
      "a single port inside a range, even with SNIs",
      { port_mapping: "8000-8010:9000-9010", sni: "a.example.com" },
      { port: 8005, sni: "b.example.com" },
      "port_mapping: 8000-8010 overlaps the ports of b (only one port may be shared, by SNI)",
      "port: 8005 overlaps the ports of a (only one port may be shared, by SNI)",
    ],
  ])("refuses %s, both", (_name, first, second, firstReason, secondReason) => {
    const result = read(apps(["a", first], ["b", second], ["c", { port: 8030 }]));
    expect(served(result)).toEqual(["c"]);
    expect(reasons(result)).toEqual({ a: firstReason, b: secondReason });
  });

  it("takes ranges that touch but do not overlap", () => {
    const result = read(
      apps(
        ["a", { port_mapping: "8000-8009:9000-9009" }],
        ["b", { port_mapping: "8010-8019:9010-9019" }],
        ["c", { port: 8020 }],
      ),
    );
    expect(result.skipped).toEqual([]);
    expect(served(result)).toEqual(["a", "b", "c"]);
  });

  it("leaves an application out for its own bad data before it can clash", () => {
    const result = read(
      apps(["a", { port: 5432 }], ["b", { port: 5432, check: { interval: 0, rise: 1, fall: 1 } }]),
    );
    expect(served(result)).toEqual(["a"]);
    expect(reasons(result)).toEqual({ b: "check.interval: 0 is outside 1-2147483" });
  });

  it("names each application once in what it returns, in relation order", () => {
    const result = read(
      apps(
        ["a", { port: 5432 }],
        ["b", { port: 5432 }],
        ["c", {}],
        ["d", { port: 70000 }],
        ["e", { port: 1234 }],
      ),
    );
    expect([...result.requests, ...result.skipped].map((e) => e.app).sort()).toEqual([
      "a",
      "b",
      "c",
      "d",
      "e",
    ]);
    expect(served(result)).toEqual(["e"]);
  });
});
