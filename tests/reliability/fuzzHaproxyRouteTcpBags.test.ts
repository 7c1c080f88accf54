// Hostile data on the haproxy-route-tcp relation, generated: whatever the
// requirers' bags say, the reader never throws, every string of an accepted
// request that is written into haproxy.cfg is safe, no backend is loopback,
// no accepted request listens on a port the HTTP side holds, two accepted
// requests share listen ports only as one port routed by distinct SNIs,
// every application is either read or left out with the field named, and
// the well-behaved application is always served, wherever Juju lists it.
import { isIP } from "node:net";

import fc from "fast-check";
import { describe, expect, it } from "vitest";

import type { RemoteApp, RemoteUnit } from "../../src/juju/hookInputs.js";
import { RelationPolicy, refusedAddressKind } from "../../src/model/relationPolicy.js";
import type { HaproxyRouteTcpRequest } from "../../src/relations/haproxyRouteTcp/haproxyRouteTcpRequest.js";
import {
  type HaproxyRouteTcpReadContext,
  readHaproxyRouteTcpRequests,
} from "../../src/relations/haproxyRouteTcp/haproxyRouteTcpRequirers.js";
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
 * 20,000 runs (5.47 hostile applications left out per run; a hostile
 * application read in 43.9 % of runs; two applications sharing a port by
 * SNI in 1.34 %; a check's send or expect read in 2.57 %); see
 * surelyAtLeast for the margin.
 */
const RATES = {
  appsLeftOut: 5.4,
  runsWithHostileRequest: 0.425,
  runsWithSharedPort: 0.011,
  runsWithCheckWord: 0.022,
};

// ---- Generators ---------------------------------------------------------------

const {
  value,
  bagValue,
  strayBag: strayBagOf,
} = hostileBagGenerators({
  injections: [...INJECTIONS, "\t", "$", ";", "\u00a0", "*.", ":", "-"],
  words: ["db", "10.4.0.9", "::1", "a.example", "PING", "5432", "8000-8010"],
  stringMaxLength: 10,
  jsonExtras: [null, true, 0, -1, 1.5, 1e300, 65536, 5432, [], {}, "80", "true"],
  plausibleWeight: 24,
  rawDraws: [1, 20],
});
// Few ports, so that applications often ask for the same one; none near
// the good application's.
const ports = goodOrBad(
  [5432, 6379, 8005, 9000, 443, 7000, 7001, 7002],
  [0, 70000, -1, 1.5, "5432"],
);
const portMappings = goodOrBad(
  ["8000-8010:9000-9010", "8005:9005", "5432:6432", "8010-8020:18010-18020", "6379-6380:6379-6380"],
  ["8080", "1-2:3-5", "a:b", "8090-8080:1-11", " 80:80", "0:1", "5432:6432:1", "8000-8010"],
);
const snis = goodOrBad(
  ["db.example.com", "cache.example.com", "*.example.com", "DB.example.com", "xn--bcher-kva.de"],
  ["*.com", "a b.example.com", "bücher.de", "x.example.com#", "10.0.0.1", "db.example.com;"],
);
const addresses = goodOrBad(UNIT_ADDRESSES.good, UNIT_ADDRESSES.bad);
const checkWords = goodOrBad(
  ["PING\r\n", "ping\n", "PONG", "+OK", "HELO", "SSH-2.0"],
  ["a b", "${HOME}", "x\ny", "\r\n", "'", "a#b", "a\\r\\n", "é", "a;b", "\0", ""],
);
const users = goodOrBad(["haproxy", "hap_check", "u.1"], ["a b", "a%b", "1x", "'", "$USER"]);
const seconds = goodOrBad([1, 3, 10, 60, null], [0, -1, 3_000_000, 1.5, "10"]);
const counts = goodOrBad([0, 1, 3, 100], [-1, 1.5, "3", true]);

const portKeys = fc.oneof(
  { weight: 6, arbitrary: someKeys({ port: bagValue(ports), backend_port: bagValue(ports) }, 8) },
  { weight: 3, arbitrary: someKeys({ port_mapping: bagValue(portMappings) }, 9) },
  {
    weight: 1,
    arbitrary: someKeys(
      {
        port: bagValue(ports),
        backend_port: bagValue(ports),
        port_mapping: bagValue(portMappings),
      },
      6,
    ),
  },
);

const positive = goodOrBad([1, 3, 10, 60], [0, -1, 3_000_000, 1.5, "10", null]);
/** A health check: mostly one of the library's shapes, so that its words are often read. */
const check = fc
  .tuple(
    someKeys({ interval: value(positive), rise: value(positive), fall: value(positive) }, 9),
    fc.oneof(
      someKeys(
        {
          check_type: value(goodOrBad(["generic"], [null])),
          send: value(checkWords),
          expect: value(checkWords),
        },
        8,
      ),
      someKeys(
        { check_type: value(goodOrBad(["mysql", "postgres"], ["redis"])), db_user: value(users) },
        8,
      ),
      someKeys({ check_type: value(goodOrBad(["redis", "smtp", null], ["http"])) }, 8),
      someKeys(
        {
          check_type: value(
            goodOrBad(["generic", "mysql", "postgres", "redis", "smtp", null], ["http"]),
          ),
          send: value(checkWords),
          expect: value(checkWords),
          db_user: value(users),
        },
        5,
      ),
    ),
  )
  .map(([numbers, rest]) => ({ ...numbers, ...rest }));

const appBag: fc.Arbitrary<Record<string, string>> = fc
  .tuple(
    portKeys,
    someKeys({ sni: bagValue(snis), check: bagValue(check) }, 7),
    someKeys(
      {
        hosts: bagValue(some(addresses, 2)),
        load_balancing: bagValue(
          someKeys(
            {
              algorithm: value(goodOrBad(["leastconn", "roundrobin", "source"], ["cookie"])),
              consistent_hashing: value(fc.boolean()),
            },
            6,
          ),
        ),
        rate_limit: bagValue(
          someKeys(
            {
              connections_per_minute: value(counts),
              policy: value(goodOrBad(["reject", "silent-drop"], ["deny"])),
            },
            7,
          ),
        ),
        bandwidth_limit: bagValue(someKeys({ upload: value(counts), download: value(counts) }, 5)),
        retry: bagValue(someKeys({ count: value(counts), redispatch: value(fc.boolean()) }, 7)),
        timeout: bagValue(
          someKeys({ server: value(seconds), connect: value(seconds), queue: value(seconds) }, 8),
        ),
        server_maxconn: bagValue(counts),
        ip_deny_list: bagValue(some(addresses, 2)),
        enforce_tls: bagValue(fc.boolean()),
        tls_terminate: bagValue(fc.boolean()),
        proxy_protocol: bagValue(fc.boolean()),
      },
      2,
    ),
  )
  .map(
    ([portPart, sniPart, optional]) =>
      ({ ...portPart, ...sniPart, ...optional }) as Record<string, string>,
  );
/** Applications meaning to share a port by SNI, where the grouping rules are tested hardest. */
const sharingBag: fc.Arbitrary<Record<string, string>> = fc
  .tuple(
    fc.oneof(
      { weight: 4, arbitrary: fc.record({ port: bagValue(goodOrBad([5432], [8005, 6379])) }) },
      {
        weight: 1,
        arbitrary: fc.record({
          port_mapping: bagValue(goodOrBad(["5432:6432"], ["5430-5439:6430-6439"])),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({ port: bagValue(ports), port_mapping: bagValue(portMappings) }),
      },
    ),
    someKeys(
      {
        sni: bagValue(snis),
        enforce_tls: bagValue(goodOrBad([true], [false])),
        tls_terminate: bagValue(fc.boolean()),
      },
      8,
    ),
    someKeys({ check: bagValue(check) }, 5),
  )
  .map(([portPart, rest, checkPart]) => ({ ...portPart, ...rest, ...checkPart }));
const strayBag = strayBagOf(["port", "sni", "x"]);

const unitBag: fc.Arbitrary<Record<string, string>> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ address: bagValue(addresses) }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: strayBag },
);

const hostileApp: fc.Arbitrary<HostileApp> = fc.record({
  relation: fc.integer({ min: 2, max: 9 }),
  app: fc.constantFrom("pg", "redis", "evil", "x"),
  bag: fc.oneof(
    { weight: 5, arbitrary: appBag },
    { weight: 3, arbitrary: sharingBag },
    { weight: 1, arbitrary: strayBag },
  ),
  units: some(unitBag),
});

interface FuzzCase {
  readonly apps: readonly HostileApp[];
  readonly context: HaproxyRouteTcpReadContext;
  /** Where the good application and its unit stand in what Juju lists. */
  readonly goodAppAt: number;
  readonly goodUnitAt: number;
}

const fuzzCase: fc.Arbitrary<FuzzCase> = fc.record({
  apps: fc.array(hostileApp, { minLength: HOSTILE_APPS_PER_RUN, maxLength: HOSTILE_APPS_PER_RUN }),
  context: fc.record({
    reservedPorts: fc.constantFrom(
      new Set<number>(),
      new Set([80, 443]),
      new Set([80, 443, 5432, 8404]),
      new Set([8010]),
    ),
  }),
  goodAppAt: fc.nat({ max: HOSTILE_APPS_PER_RUN }),
  goodUnitAt: fc.nat({ max: HOSTILE_APPS_PER_RUN * 3 }),
});

// ---- The well-behaved part of every run --------------------------------------

// A port no generator above writes, no range covers, and nothing reserves.
const GOOD_APP: RemoteApp = {
  relationId: "haproxy-route-tcp:1",
  app: "good",
  settings: { port: "39999", backend_port: "5432" },
};
const GOOD_UNIT: RemoteUnit = {
  relationId: "haproxy-route-tcp:1",
  unit: "good/0",
  settings: { address: '"10.4.0.1"' },
};

function inputsOf(fuzz: FuzzCase): { apps: RemoteApp[]; units: RemoteUnit[] } {
  const { apps, units } = relatedApps("haproxy-route-tcp", fuzz.apps, {
    app: GOOD_APP,
    unit: GOOD_UNIT,
    appAt: fuzz.goodAppAt,
    unitAt: fuzz.goodUnitAt,
  });
  return { apps, units };
}

// What may never be in a word of haproxy.cfg: whitespace of any kind, quotes,
// a comment, an escape, an environment variable, an admin socket separator,
// control characters, anything beyond ASCII.
const UNSAFE = /[\s"'#\\$;\p{Cc}]|[^\x21-\x7e]/u;

/** Every string of a request that is written into haproxy.cfg as it is (a check's send and expect go in hexadecimal). */
function configWords(request: HaproxyRouteTcpRequest): string[] {
  const check = request.check;
  return [
    ...(request.sni === undefined ? [] : [request.sni]),
    ...(check?.dbUser === undefined ? [] : [check.dbUser]),
    ...request.ipDenyList,
    ...request.targets.map((target) => target.address),
  ];
}

function overlap(a: HaproxyRouteTcpRequest, b: HaproxyRouteTcpRequest): boolean {
  return a.ports.listen[0] <= b.ports.listen[1] && b.ports.listen[0] <= a.ports.listen[1];
}

describe("hostile data on the haproxy-route-tcp relation", () => {
  it(`never throws, accepts only safe words and shares ports only by SNI (seed ${SEED})`, () => {
    const policy = new RelationPolicy({ trusted: false });
    let appsLeftOut = 0;
    let runsWithHostileRequest = 0;
    let runsWithSharedPort = 0;
    let runsWithCheckWord = 0;
    fc.assert(
      fc.property(fuzzCase, (fuzz) => {
        const { apps, units } = inputsOf(fuzz);
        const { requests, skipped } = readHaproxyRouteTcpRequests(
          apps,
          units,
          policy,
          fuzz.context,
        );

        // The good application is served, from its one unit.
        const good = requests.find((request) => request.app === "good");
        expect(good).toMatchObject({
          ports: { listen: [39999, 39999], backend: [5432, 5432] },
          targets: [{ name: "good/0", address: "10.4.0.1" }],
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

        let checkWordRead = false;
        for (const request of requests) {
          for (const word of configWords(request)) {
            expect(word).not.toBe("");
            expect(word, JSON.stringify(word)).not.toMatch(UNSAFE);
          }
          const { send, expect: expected } = request.check ?? {};
          if (request.app !== "good" && (send !== undefined || expected !== undefined)) {
            checkWordRead = true;
          }
          if (request.check?.dbUser !== undefined) {
            expect(request.check.dbUser).toMatch(/^[A-Za-z_][\w.-]{0,62}$/);
          }
          for (const data of [send, expected]) {
            if (data === undefined) continue;
            expect(data).not.toBe("");
            expect(Buffer.byteLength(data)).toBeLessThanOrEqual(512);
          }
          for (const target of request.targets) {
            expect(isIP(target.address)).not.toBe(0);
            expect(refusedAddressKind(target.address)).toBeUndefined();
          }
          for (const address of request.ipDenyList) expect(isIP(address)).not.toBe(0);
          const { listen, backend } = request.ports;
          for (const port of [...listen, ...backend]) {
            expect(Number.isInteger(port) && port >= 1 && port <= 65535).toBe(true);
          }
          expect(listen[0]).toBeLessThanOrEqual(listen[1]);
          expect(listen[1] - listen[0]).toBe(backend[1] - backend[0]);
          for (const reserved of fuzz.context.reservedPorts) {
            expect(reserved >= listen[0] && reserved <= listen[1]).toBe(false);
          }
          if (request.sni !== undefined) expect(request.enforceTls).toBe(true);
        }

        // Listen ports shared only as one port, each routed by its own SNI.
        let shared = false;
        requests.forEach((a, i) => {
          for (const b of requests.slice(i + 1)) {
            if (!overlap(a, b)) continue;
            shared = true;
            expect(a.ports.listen[0]).toBe(a.ports.listen[1]);
            expect(b.ports.listen).toEqual(a.ports.listen);
            expect(a.sni).toBeDefined();
            expect(b.sni).toBeDefined();
            expect(a.sni).not.toBe(b.sni);
            expect(a.enforceTls && b.enforceTls).toBe(true);
            expect(a.tlsTerminate).toBe(b.tlsTerminate);
          }
        });
        if (shared) runsWithSharedPort += 1;
        if (checkWordRead) runsWithCheckWord += 1;
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: false },
    );
    // Not vacuous, whatever the seed: bad applications were left out, hostile
    // ones were read, and some shared a port by SNI.
    expect(appsLeftOut).toBeGreaterThanOrEqual(
      surelySumAtLeast(RATES.appsLeftOut, RUNS, HOSTILE_APPS_PER_RUN),
    );
    expect(runsWithHostileRequest).toBeGreaterThanOrEqual(
      surelyAtLeast(RATES.runsWithHostileRequest, RUNS),
    );
    expect(runsWithSharedPort).toBeGreaterThanOrEqual(
      surelyAtLeast(RATES.runsWithSharedPort, RUNS),
    );
    expect(runsWithCheckWord).toBeGreaterThanOrEqual(surelyAtLeast(RATES.runsWithCheckWord, RUNS));
    console.info(
      `haproxy-route-tcp fuzz (seed ${SEED}): ${RUNS} runs, ${appsLeftOut} applications left out, ` +
        `${runsWithHostileRequest} runs with a hostile application read, ` +
        `${runsWithSharedPort} with a port shared by SNI, ${runsWithCheckWord} with a check's send or expect read`,
    );
  });
});
