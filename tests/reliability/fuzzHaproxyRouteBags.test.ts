// Hostile data on the haproxy-route relation, generated: whatever the
// requirers' bags say, the reader never throws, every word of an accepted
// request that is written into haproxy.cfg is one safe word, no backend is
// loopback, no two accepted requests share a backend name, a route or a gRPC
// port, every application is either read or left out with the field named,
// and the well-behaved application is always served, wherever Juju lists it.
import { isIP } from "node:net";

import fc from "fast-check";
import { describe, expect, it } from "vitest";

import type { RemoteApp, RemoteUnit } from "../../src/juju/hookInputs.js";
import { RelationPolicy, refusedAddressKind } from "../../src/model/relationPolicy.js";
import type { HaproxyRouteRequest } from "../../src/relations/haproxyRoute/haproxyRouteRequest.js";
import {
  type HaproxyRouteReadContext,
  readHaproxyRouteRequests,
} from "../../src/relations/haproxyRoute/haproxyRouteRequirers.js";
import {
  goodOrBad,
  type HostileApp,
  hostileBagGenerators,
  INJECTIONS,
  relatedApps,
  some,
  someKeys,
  UNIT_ADDRESSES,
} from "../helpers/hostileBags.js";
import { surelyAtLeast, surelySumAtLeast } from "../helpers/fuzzThresholds.js";

const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
const HOSTILE_APPS_PER_RUN = 6;
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
/**
 * What a run reaches at least, whatever the seed: conservative readings of
 * 50,000 runs (5.55 hostile applications left out per run; a hostile
 * application read in 38.4 % of runs); see surelyAtLeast for the margin.
 */
const RATES = { appsLeftOut: 5.4, runsWithHostileRequest: 0.37 };

// ---- Generators ---------------------------------------------------------------

const {
  value,
  bagValue,
  strayBag: strayBagOf,
} = hostileBagGenerators({
  injections: [
    ...INJECTIONS,
    "\t",
    "$",
    ";",
    "\u00a0",
    "%[env(HOME)]",
    "..",
    "/",
    "*.",
    "[",
    ")",
    ":",
    "%",
    "{",
  ],
  words: ["shop", "api", "10.4.0.9", "::1", "a.example", "/health", "set-path"],
  stringMaxLength: 10,
  jsonExtras: [null, true, 0, -1, 1.5, 1e300, 65536, 8080, [], {}, "80", "true"],
  plausibleWeight: 24,
  rawDraws: [1, 20],
});
const hostnames = goodOrBad(
  ["shop.example.com", "API.example.com", "*.example.com", "xn--bcher-kva.de", "a.b.c.example"],
  [
    "*.com",
    "localhost",
    "a b.example.com",
    "bücher.de",
    "x.example.com#",
    "10.0.0.1",
    "a__b.example.com",
    "shop.example.com:443",
  ],
);
const paths = goodOrBad(
  ["/", "/api", "/api/v1", "/%20", "/a?b=c", "/x-y_z.html"],
  ["api", "/a b", "/#", "/$x", "/a;b", "/\\", "/'", "/\nbackend x"],
);
const addresses = goodOrBad(UNIT_ADDRESSES.good, UNIT_ADDRESSES.bad);
const expressions = goodOrBad(
  ["/x", "%[path,regsub(^/api/,/)]", "a=1&b=2", "%[src]"],
  [
    "a b",
    "%[env(HOME)]",
    "%[src,map(/etc/passwd)]",
    "%[lua.evil]",
    "${HOME}",
    "if",
    "%[path",
    "x\ny",
    "a;b",
  ],
);
const seconds = goodOrBad([1, 3, 10, 60], [0, -1, 3_000_000, 1.5, "10"]);
const counts = goodOrBad([0, 1, 3, 100], [-1, 1.5, "3", true]);

const rewrite = fc.record({
  method: value(goodOrBad(["set-path", "set-query", "set-header"], ["replace-path", "SET-PATH"])),
  expression: value(expressions),
  header: value(goodOrBad(["X-Forwarded-Prefix", "Host"], ["X A", "a)", "X;Y", ""])),
});

const appBag: fc.Arbitrary<Record<string, string>> = fc
  .tuple(
    someKeys(
      {
        service: bagValue(
          goodOrBad(
            ["shop", "api", "web"],
            ["a b", "a;b", "x/y", "évil", "..", "a$b", "", "good-fuzz-service "],
          ).chain((name) => fc.nat({ max: 99 }).map((n) => (n < 80 ? `${name}-${n}` : name))),
        ),
        ports: bagValue(
          fc.oneof(
            {
              weight: 6,
              arbitrary: fc.array(fc.integer({ min: 1, max: 65535 }), {
                minLength: 1,
                maxLength: 3,
              }),
            },
            { weight: 1, arbitrary: some(fc.constantFrom(80, 0, 70000, -1, 1.5, "80")) },
          ),
        ),
        hostname: bagValue(hostnames),
      },
      9,
    ),
    someKeys(
      {
        protocol: bagValue(goodOrBad(["http", "https"], ["h2c", "HTTP"])),
        hosts: bagValue(some(addresses, 2)),
        paths: bagValue(some(paths)),
        additional_hostnames: bagValue(some(hostnames, 2)),
        rewrites: bagValue(some(value(rewrite), 2)),
        check: bagValue(
          someKeys(
            {
              interval: value(seconds),
              rise: value(counts),
              fall: value(counts),
              path: value(paths),
              port: value(goodOrBad([8080, 9000], [0, 70000])),
            },
            8,
          ),
        ),
        load_balancing: bagValue(
          someKeys(
            {
              algorithm: value(
                goodOrBad(["leastconn", "roundrobin", "source", "cookie"], ["random"]),
              ),
              cookie: value(goodOrBad(["session", "sid"], ["a)", "a b", "sid;x"])),
              consistent_hashing: value(fc.boolean()),
            },
            5,
          ),
        ),
        rate_limit: bagValue(
          someKeys(
            {
              connections_per_minute: value(counts),
              policy: value(goodOrBad(["deny", "reject", "silent-drop"], ["tarpit"])),
            },
            7,
          ),
        ),
        bandwidth_limit: bagValue(someKeys({ upload: value(counts), download: value(counts) }, 5)),
        retry: bagValue(someKeys({ count: value(counts), redispatch: value(fc.boolean()) }, 7)),
        deny_paths: bagValue(some(paths)),
        timeout: bagValue(
          someKeys({ server: value(seconds), connect: value(seconds), queue: value(seconds) }, 5),
        ),
        server_maxconn: bagValue(counts),
        http_server_close: bagValue(fc.boolean()),
        allow_http: bagValue(fc.boolean()),
        external_grpc_port: bagValue(goodOrBad([50051, 50052, 9090], [80, 443, 0, 70000])),
      },
      2,
    ),
  )
  .map(([required, optional]) => ({ ...required, ...optional }) as Record<string, string>);
const strayBag = strayBagOf(["service", "ports", "x"]);

const unitBag: fc.Arbitrary<Record<string, string>> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ address: bagValue(addresses) }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: strayBag },
);

const hostileApp: fc.Arbitrary<HostileApp> = fc.record({
  relation: fc.integer({ min: 2, max: 9 }),
  app: fc.constantFrom("shop", "api", "evil", "x"),
  bag: fc.oneof({ weight: 8, arbitrary: appBag }, { weight: 1, arbitrary: strayBag }),
  units: some(unitBag),
});

interface FuzzCase {
  readonly apps: readonly HostileApp[];
  readonly context: HaproxyRouteReadContext;
  /** Where the good application and its unit stand in what Juju lists. */
  readonly goodAppAt: number;
  readonly goodUnitAt: number;
}

const fuzzCase: fc.Arbitrary<FuzzCase> = fc.record({
  apps: fc.array(hostileApp, { minLength: HOSTILE_APPS_PER_RUN, maxLength: HOSTILE_APPS_PER_RUN }),
  context: fc.record({
    externalHostname: fc.constantFrom("", "haproxy.example.com"),
    backendCasAvailable: fc.boolean(),
  }),
  goodAppAt: fc.nat({ max: HOSTILE_APPS_PER_RUN }),
  goodUnitAt: fc.nat({ max: HOSTILE_APPS_PER_RUN * 3 }),
});

// ---- The well-behaved part of every run --------------------------------------

// A service name, hostname and port no generator above writes.
const GOOD_APP: RemoteApp = {
  relationId: "haproxy-route:1",
  app: "good",
  settings: {
    service: '"good-fuzz-service"',
    ports: "[8080]",
    hostname: '"good.fuzz.example"',
    paths: '["/good"]',
  },
};
const GOOD_UNIT: RemoteUnit = {
  relationId: "haproxy-route:1",
  unit: "good/0",
  settings: { address: '"10.4.0.1"' },
};

function inputsOf(fuzz: FuzzCase): { apps: RemoteApp[]; units: RemoteUnit[] } {
  const { apps, units } = relatedApps("haproxy-route", fuzz.apps, {
    app: GOOD_APP,
    unit: GOOD_UNIT,
    appAt: fuzz.goodAppAt,
    unitAt: fuzz.goodUnitAt,
  });
  return { apps, units };
}

// What may never be in a word of haproxy.cfg: whitespace of any kind, quotes,
// a comment, an escape, an environment variable, an admin socket separator,
// control characters.
const UNSAFE = /[\s"'#\\$;\p{Cc}]/u;

/** Every string of a request that is written into haproxy.cfg. */
function configWords(request: HaproxyRouteRequest): string[] {
  return [
    request.service,
    ...request.paths,
    ...request.hostnames,
    ...request.denyPaths,
    ...request.rewrites.flatMap((rewrite) => [
      rewrite.expression,
      ...(rewrite.header === undefined ? [] : [rewrite.header]),
    ]),
    ...(request.loadBalancing.cookie === undefined ? [] : [request.loadBalancing.cookie]),
    ...(request.check?.path === undefined ? [] : [request.check.path]),
    ...request.targets.map((target) => target.address),
  ];
}

describe("hostile data on the haproxy-route relation", () => {
  it(`never throws, accepts only safe words, keeps the good application (seed ${SEED})`, () => {
    const policy = new RelationPolicy({ trusted: false });
    let appsLeftOut = 0;
    let runsWithHostileRequest = 0;
    fc.assert(
      fc.property(fuzzCase, (fuzz) => {
        const { apps, units } = inputsOf(fuzz);
        const { requests, skipped } = readHaproxyRouteRequests(apps, units, policy, fuzz.context);

        // The good application is served, from its one unit.
        const good = requests.find((request) => request.app === "good");
        expect(good).toMatchObject({
          service: "good-fuzz-service",
          targets: [{ name: "good/0", address: "10.4.0.1" }],
          hostnames: ["good.fuzz.example"],
          paths: ["/good"],
          ready: true,
        });
        if (requests.length > 1) runsWithHostileRequest += 1;
        appsLeftOut += skipped.length;

        // Every application once: read, or left out with the field named.
        expect([...requests, ...skipped].map((entry) => entry.relationId).sort()).toEqual(
          apps.map((app) => app.relationId).sort(),
        );
        for (const skip of skipped) {
          expect(skip.reason).toMatch(/^[\w./[\]-]+: \S/);
        }

        for (const request of requests) {
          for (const word of configWords(request)) {
            expect(word).not.toBe("");
            expect(word, JSON.stringify(word)).not.toMatch(UNSAFE);
          }
          for (const target of request.targets) {
            expect(isIP(target.address)).not.toBe(0);
            expect(refusedAddressKind(target.address)).toBeUndefined();
          }
          for (const port of [...request.ports, request.externalGrpcPort ?? 1]) {
            expect(Number.isInteger(port) && port >= 1 && port <= 65535).toBe(true);
          }
          if (request.protocol === "https") expect(fuzz.context.backendCasAvailable).toBe(true);
        }
        // Nothing two accepted requests may share.
        const services = requests.map((request) => request.service);
        expect(new Set(services).size).toBe(services.length);
        const routes = requests.flatMap((request) =>
          [...new Set(request.hostnames)].flatMap((host) =>
            (request.paths.length > 0 ? [...new Set(request.paths)] : ["/"]).map(
              (path) => `${host} ${path}`,
            ),
          ),
        );
        expect(new Set(routes).size).toBe(routes.length);
        const grpcPorts = requests.flatMap((request) =>
          request.externalGrpcPort === undefined ? [] : [request.externalGrpcPort],
        );
        expect(new Set(grpcPorts).size).toBe(grpcPorts.length);
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: false },
    );
    // Not vacuous, whatever the seed: bad applications were left out, and hostile ones were read.
    expect(appsLeftOut).toBeGreaterThanOrEqual(
      surelySumAtLeast(RATES.appsLeftOut, RUNS, HOSTILE_APPS_PER_RUN),
    );
    expect(runsWithHostileRequest).toBeGreaterThanOrEqual(
      surelyAtLeast(RATES.runsWithHostileRequest, RUNS),
    );
    console.info(
      `haproxy-route fuzz (seed ${SEED}): ${RUNS} runs, ${appsLeftOut} applications left out, ` +
        `${runsWithHostileRequest} runs with a hostile application read`,
    );
  });
});
