// Hostile data on the haproxy-route relation, through the whole planner:
// several applications write random and hostile bags (every string field
// given spaces, quotes, "#", "\", "$VAR", ";", line breaks, sample
// expressions, file words, very long and non-ASCII values) beside a
// well-behaved haproxy-route application and a well-behaved ingress
// application. Whatever they write, the planner never throws, both good
// applications are served, every route that is served has a backend of its
// own, and every configuration is accepted by every haproxy version the tests
// have: no requirer can get haproxy to refuse a configuration, so none can
// block the others.
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { HookInputs, RemoteApp, RemoteUnit } from "../../src/juju/hookInputs.js";
import type { Plan } from "../../src/plan/planConfiguration.js";
import {
  REWRITE_CONVERTERS,
  REWRITE_FETCHES,
} from "../../src/relations/haproxyRoute/rewriteExpression.js";
import { renderHaproxyConfig } from "../../src/render/renderHaproxyConfig.js";
import { surelyAtLeast, surelySumAtLeast } from "../helpers/fuzzThresholds.js";
import { checkHaproxyConfig } from "../helpers/haproxyCheck.js";
import { haproxyVersions } from "../helpers/haproxyVersions.js";
import { planFromInputs } from "../helpers/planFromInputs.js";
import { TestCa, makeCsrWithKey } from "../helpers/testCa.js";
import {
  goodOrBad as chooseGoodOrBad,
  type HostileApp,
  hostileBagGenerators,
  INJECTIONS,
  relatedApps,
  some,
  someKeys,
} from "../helpers/hostileBags.js";

const RUNS = Number(process.env.FUZZ_RUNS ?? 200);
const HOSTILE_APPS_PER_RUN = 5;
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
/**
 * What a run reaches at least, whatever the seed: conservative readings of
 * 4,000 runs (4.31 applications left out per run; a hostile route served in
 * 48 % of runs, one with a sample expression in its rewrites in 32 %); see
 * surelyAtLeast for the margin.
 */
const RATES = {
  appsLeftOut: 4.1,
  runsWithHostileRoute: 0.45,
  runsWithSampleRewrite: 0.29,
};

const ca = TestCa.create("Route fuzz CA");
const request = makeCsrWithKey("fuzz.example");
const issued = ca.entry(request.csr);

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "fuzz-route-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  ca.cleanup();
});

// ---- Generators ---------------------------------------------------------------

const { piece, hostileText, value, bagValue } = hostileBagGenerators({
  injections: [
    ...INJECTIONS,
    "\t",
    "$HOME",
    ";",
    "\u00a0",
    "é",
    "😀",
    "\n/evil evil",
    "%[env(HOME)]",
    "%[lf-file]",
    " lf-file /etc/passwd",
    " file /etc/passwd",
    " -f /etc/passwd",
    "%",
    "%%",
    "%2e%2e",
    "..",
    "/",
    "*.",
    "[",
    "]",
    "(",
    ")",
    ",",
    ":",
    "{",
    "a".repeat(1100),
    "/x".repeat(600),
  ],
  words: ["shop", "api", "10.4.0.9", "::1", "a.example", "/health", "set-path"],
  stringMaxLength: 8,
  jsonExtras: [null, true, 0, -1, 1.5, 1e300, 65536, 8080, [], {}, "80", "true"],
  plausibleWeight: 40,
  rawDraws: [1, 20],
});

/** Mostly values the library takes, often ones it (or haproxy) would not, or hostile text. */
const goodOrBad = <T>(good: readonly T[], bad: readonly T[]): fc.Arbitrary<T | string> =>
  fc.oneof(
    { weight: 32, arbitrary: chooseGoodOrBad(good, bad, [30, 2]) },
    { weight: 1, arbitrary: hostileText },
  );

const hostnames = goodOrBad(
  ["shop.example.com", "API.example.com", "*.example.com", "xn--bcher-kva.de", "fuzz.example"],
  [
    "bücher.de",
    "a b.example.com",
    "x.example.com#",
    "x.example.com\n/evil evil",
    "10.0.0.1",
    "*.com",
    "localhost",
    `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(60)}.com`,
  ],
);
const paths = goodOrBad(
  ["/", "/api", "/api/v1", "/%20", "/%2e%2e/x", "/a?b=c", "/x-y_z.html", "/%", "/%zz", "/%%"],
  [
    "api",
    "/a b",
    "/#",
    "/$x",
    "/a;b",
    "/\\",
    "/'",
    "/\nbackend x",
    "/a\n/b evil",
    "/é",
    `/${"p".repeat(1100)}`,
  ],
);
const addresses = goodOrBad(
  ["10.5.0.1", "10.5.0.2", "fd00::5", "192.0.2.7", "10.0.0.1"],
  ["127.0.0.1", "::1", "::ffff:127.0.0.1", "169.254.169.254", "0.0.0.0", "fe80::1%eth0"],
);

// Sample expressions: the names a rewrite may use, with arguments of any shape, beside names
// that read files, the environment, other proxies or tables, or that haproxy does not know.
const fetchNames = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...REWRITE_FETCHES) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "env",
      "nosuch",
      "nbsrv",
      "be_conn",
      "srv_conn",
      "table_cnt",
      "lua.f",
      "lf-file",
      "file",
      "-f",
      "var",
    ),
  },
);
const converterNames = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...REWRITE_CONVERTERS) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "map",
      "map_str",
      "map_beg",
      "jwt_verify",
      "table_http_req_rate",
      "in_table",
      "ipmask",
      "json_query",
      "lua.x",
      "nosuchconv",
      "env",
    ),
  },
);
const argument = fc.constantFrom(
  "",
  "x-a",
  "Host",
  "sid",
  "txn.x",
  "proc.a",
  "res.x",
  "HOME",
  "/etc/passwd",
  "^/api/",
  "^/a.*b+",
  "a**",
  "^",
  ".*",
  "1",
  "0",
  "-1",
  "99",
  "100",
  "/",
  "g",
  "gi",
  "x",
  "RS256",
  "lf-file",
  "-f",
  "%[src]",
  "a b",
);
const step = (name: fc.Arbitrary<string>) =>
  fc
    .tuple(name, fc.option(some(argument), { nil: undefined, freq: 2 }))
    .map(([n, args]) => (args === undefined ? n : `${n}(${args.join(",")})`));
// Steps haproxy loads, so that whole expressions of several steps are accepted too.
const wellFormedFetch = fc.constantFrom(
  "path",
  "src",
  "hdr(x-a)",
  "req.cook(sid)",
  "var(txn.x)",
  "str(abc)",
  "str()",
  "int(-3)",
  "url_param(a)",
);
const wellFormedConverter = fc.constantFrom(
  "lower",
  "base64",
  "url_dec",
  "regsub(^/api/,/)",
  "regsub(.,x,g)",
  "regsub(^/a.*b+,)",
  "field(2,/)",
  "word(-1,/,2)",
);
const sample = fc
  .tuple(
    fc.oneof(step(fetchNames), wellFormedFetch),
    some(fc.oneof(step(converterNames), wellFormedConverter), 2),
  )
  .map(([fetch, converters]) => `%[${[fetch, ...converters].join(",")}]`);
const expressions = fc
  .array(
    fc.oneof(
      { weight: 3, arbitrary: sample },
      { weight: 2, arbitrary: fc.constantFrom("/x", "/v2", "a=1&b=2", "shop-", "%%", "%", "%H") },
      { weight: 1, arbitrary: piece },
    ),
    { minLength: 1, maxLength: 3 },
  )
  .map((parts) => parts.join(""));

const seconds = goodOrBad([1, 3, 10, 60], [0, -1, 3_000_000, 1.5, "10"]);
const counts = goodOrBad([0, 1, 3, 100], [-1, 1.5, "3", true]);

const rewrite = someKeys(
  {
    method: value(goodOrBad(["set-path", "set-query", "set-header"], ["replace-path"])),
    expression: value(expressions),
    header: value(
      goodOrBad(["X-Forwarded-Prefix", "X-Route", "Host", "a!%&*+.^_`|~-"], ["X A", "a)", "if"]),
    ),
  },
  9,
);

/** A rewrite as the library writes it; its expression often one haproxy loads. */
const plausibleRewrite = fc.record({
  method: fc.constantFrom("set-path", "set-query", "set-header"),
  header: fc.constantFrom("X-Route", "X-Forwarded-Prefix"),
  expression: fc.oneof(
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          fc.constantFrom("", "/v2", "a=1&"),
          wellFormedFetch,
          some(wellFormedConverter, 2),
          fc.constantFrom("", "/x", "%%"),
        )
        .map(
          ([before, fetch, converters, after]) =>
            `${before}%[${[fetch, ...converters].join(",")}]${after}`,
        ),
    },
    { weight: 1, arbitrary: expressions },
  ),
});

/** The fields a requirer may leave out, each plausible or hostile. */
const optionalFields: Record<string, fc.Arbitrary<string>> = {
  protocol: bagValue(goodOrBad(["http", "https"], ["h2c", "HTTP"])),
  hosts: bagValue(some(addresses, 2)),
  paths: bagValue(some(paths)),
  additional_hostnames: bagValue(some(hostnames, 2)),
  rewrites: bagValue(some(rewrite, 2)),
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
        algorithm: value(goodOrBad(["leastconn", "roundrobin", "source", "cookie"], ["random"])),
        cookie: value(
          goodOrBad(["session", "sid", "a!%&*+.^_`|~-"], ["a)", "a b", "sid;x", "%[src]"]),
        ),
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
  // Sometimes more than haproxy's 64 words a line hold.
  deny_paths: bagValue(
    fc.oneof(
      { weight: 6, arbitrary: some(paths) },
      {
        weight: 1,
        arbitrary: fc.array(
          fc.nat({ max: 999 }).map((n) => `/d${n}`),
          { minLength: 60, maxLength: 120 },
        ),
      },
    ),
  ),
  timeout: bagValue(
    someKeys({ server: value(seconds), connect: value(seconds), queue: value(seconds) }, 5),
  ),
  server_maxconn: bagValue(counts),
  http_server_close: bagValue(fc.boolean()),
  allow_http: bagValue(fc.boolean()),
  external_grpc_port: bagValue(goodOrBad([50051, 50052], [80, 443, 8080, 0, 70000])),
};

/** A bag any of whose fields may be junk. */
const junkBag: fc.Arbitrary<Record<string, string>> = fc
  .tuple(
    someKeys(
      {
        service: bagValue(
          goodOrBad(
            ["shop", "api", "blog"],
            [
              // Names haproxy already uses: the monitoring listener's backend, a classic
              // service, the good ingress route, the shared front doors' frontends.
              "haproxy_monitoring",
              "web",
              "fuzz-good",
              "ingress_http",
              "haproxy-0-80",
              "a b",
              "a;b",
              "évil",
              "x".repeat(200),
            ],
          ).chain((name) => fc.nat({ max: 99 }).map((n) => (n < 60 ? `${name}-${n}` : name))),
        ),
        ports: bagValue(
          fc.oneof(
            {
              weight: 15,
              arbitrary: fc.array(fc.integer({ min: 1, max: 65535 }), {
                minLength: 1,
                maxLength: 2,
              }),
            },
            { weight: 1, arbitrary: some(fc.constantFrom(80, 0, 70000, -1, 1.5, "80")) },
          ),
        ),
        hostname: bagValue(
          fc
            .tuple(hostnames, fc.nat({ max: 99 }))
            .map(([name, n]) => (n < 80 && !name.startsWith("*") ? `app${n}.${name}` : name)),
        ),
      },
      10,
    ),
    someKeys(optionalFields, 4),
  )
  .map(([required, optional]) => ({ ...required, ...optional }) as Record<string, string>);

/** A bag the library would write, with a few fields that may be hostile: most get served. */
const plausibleBag: fc.Arbitrary<Record<string, string>> = fc
  .tuple(
    // Unbiased: small values would often give several applications one name, and none a route.
    fc.noBias(fc.nat({ max: 9999 })),
    fc.noBias(fc.integer({ min: 1, max: 65535 })),
    fc.option(fc.array(plausibleRewrite, { minLength: 1, maxLength: 2 }), { nil: undefined }),
    someKeys(optionalFields, 2),
  )
  .map(([n, port, rewrites, optional]) => ({
    service: JSON.stringify(`svc-${n}`),
    ports: JSON.stringify([port]),
    hostname: JSON.stringify(`app${n}.example.com`),
    ...(rewrites !== undefined && { rewrites: JSON.stringify(rewrites) }),
    ...(optional as Record<string, string>),
  }));

const appBag = fc.oneof({ weight: 2, arbitrary: plausibleBag }, { weight: 1, arbitrary: junkBag });

const unitBag: fc.Arbitrary<Record<string, string>> = fc.record(
  { address: bagValue(addresses) },
  { requiredKeys: [] },
);

const hostileApp: fc.Arbitrary<HostileApp> = fc.record({
  relation: fc.integer({ min: 2, max: 9 }),
  app: fc.constantFrom("shop", "api", "evil", "x"),
  bag: appBag,
  units: fc.array(unitBag, { minLength: 1, maxLength: 2 }),
});

interface FuzzCase {
  readonly apps: readonly HostileApp[];
  readonly externalHostname: string;
  readonly tls: boolean;
  readonly monitoring: boolean;
  readonly backendCas: boolean;
  /** Where the good application and its unit stand in what Juju lists. */
  readonly goodAppAt: number;
  readonly goodUnitAt: number;
}

const fuzzCase: fc.Arbitrary<FuzzCase> = fc.record({
  apps: fc.array(hostileApp, { minLength: HOSTILE_APPS_PER_RUN, maxLength: HOSTILE_APPS_PER_RUN }),
  externalHostname: fc.constantFrom("", "fuzz.example"),
  tls: fc.boolean(),
  monitoring: fc.boolean(),
  backendCas: fc.boolean(),
  goodAppAt: fc.nat({ max: HOSTILE_APPS_PER_RUN }),
  goodUnitAt: fc.nat({ max: HOSTILE_APPS_PER_RUN * 2 }),
});

// ---- The well-behaved part of every run --------------------------------------

const GOOD_SERVICES =
  "- {service_name: web, service_host: 0.0.0.0, service_port: 8080, servers: [[web-0, 10.1.0.1, 8000, check]]}";
// A service name, hostname and path no generator above writes: two applications claiming the
// same route are both left out, by design.
const GOOD_ROUTE_APP: RemoteApp = {
  relationId: "haproxy-route:1",
  app: "good",
  settings: {
    service: '"good-fuzz-service"',
    ports: "[8080]",
    hostname: '"good.fuzz.example"',
    paths: '["/good"]',
    allow_http: "true",
  },
};
const GOOD_ROUTE_UNIT: RemoteUnit = {
  relationId: "haproxy-route:1",
  unit: "good/0",
  settings: { address: '"10.4.0.1"' },
};
const GOOD_INGRESS_APP: RemoteApp = {
  relationId: "ingress:1",
  app: "good",
  settings: { model: '"fuzz"', name: '"good"', port: "8080" },
};
const GOOD_INGRESS_UNIT: RemoteUnit = {
  relationId: "ingress:1",
  unit: "good/0",
  settings: { host: '"10.4.0.2"' },
};

function inputsOf(fuzz: FuzzCase, haproxyVersion: string): HookInputs {
  const { apps, units } = relatedApps("haproxy-route", fuzz.apps, {
    app: GOOD_ROUTE_APP,
    unit: GOOD_ROUTE_UNIT,
    appAt: fuzz.goodAppAt,
    unitAt: fuzz.goodUnitAt,
  });
  return {
    unitName: "haproxy/0",
    privateAddress: "10.0.0.1",
    publicAddress: "203.0.113.1",
    haproxyVersion,
    config: {
      services: GOOD_SERVICES,
      external_hostname: fuzz.externalHostname,
      enable_monitoring: fuzz.monitoring,
    },
    reverseproxy: [],
    peers: [],
    ingressApps: [GOOD_INGRESS_APP],
    ingressUnits: [GOOD_INGRESS_UNIT],
    haproxyRouteApps: apps,
    haproxyRouteUnits: units,
    ...(fuzz.backendCas && {
      receivedCaApps: [
        {
          relationId: "receive-ca-certs:1",
          app: "ca",
          settings: { certificates: JSON.stringify([ca.certificate]), version: "1" },
        },
      ],
      receivedCaUnits: [],
    }),
    ...(fuzz.tls && { relationCertificatePem: issued.certificate + request.key }),
  };
}

const SECTION =
  /^\s*(global|defaults|frontend|backend|listen|userlist|peers|resolvers|program|cache|ring|http-errors|mailers|\.\S+)\b/;

/** The lines of `backend <name>`, or undefined when there is none. */
function backendSection(text: string, name: string): string[] | undefined {
  const lines = text.split("\n");
  const start = lines.indexOf(`backend ${name}`);
  if (start === -1) return undefined;
  const end = lines.findIndex((line, i) => i > start && SECTION.test(line));
  return lines.slice(start + 1, end === -1 ? undefined : end);
}

/** What every run must show, whatever the hostile applications wrote. */
function expectSound(plan: Plan, text: string, fuzz: FuzzCase): void {
  const headers = text.split("\n").filter((line) => SECTION.test(line));
  expect(headers).toEqual([
    "global",
    "defaults",
    ...plan.config.userlists.map((list) => `userlist ${list.name}`),
    ...(plan.config.peers !== undefined ? [`peers ${plan.config.peers.name}`] : []),
    ...plan.config.proxies.flatMap((proxy) => [
      `frontend ${proxy.frontend.name}`,
      ...proxy.backends.map((backend) => `backend ${backend.name}`),
    ]),
  ]);

  // Both good applications served, from their units.
  expect(plan.haproxyRoutes.map((served) => served.app)).toContain("good");
  expect(plan.ingress.map((served) => served.relationId)).toContain("ingress:1");
  expect(text).toMatch(
    /^backend good-fuzz-service\n(?: {4}.*\n)*? {4}server \S+ 10\.4\.0\.1:8080/m,
  );
  expect(text).toMatch(/^backend fuzz-good\n(?: {4}.*\n)*? {4}server \S+ 10\.4\.0\.2:8080/m);

  // Every application once: served, or left out naming the field.
  const named = [...plan.haproxyRoutes, ...plan.skippedRouteApps].map((app) => app.relationId);
  expect(new Set(named).size).toBe(named.length);
  expect(named.length).toBeLessThanOrEqual(fuzz.apps.length + 1);
  for (const skip of plan.skippedRouteApps) expect(skip.reason).toMatch(/^[\w./[\]-]+: \S/);

  // Each served route has a backend of its own (with the lines every route backend has), written once;
  // and the map sends requests to route backends only.
  const services = new Set(plan.haproxyRoutes.map((served) => served.service));
  for (const service of services) {
    expect(headers.filter((line) => line === `backend ${service}`)).toHaveLength(1);
    expect(backendSection(text, service)).toContain("    option forwardfor");
  }
  const map = plan.files.find((file) => file.path.endsWith("/haproxy-route.map"));
  for (const line of map?.content.trimEnd().split("\n") ?? []) {
    const words = line.split(" ");
    expect(words).toHaveLength(2);
    expect(services.has(words[1] ?? "")).toBe(true);
  }
}

interface Render {
  readonly binary: string;
  readonly version: string;
  readonly text: string;
  readonly files: readonly { path: string; content: string }[];
}

describe("hostile data on the haproxy-route relation, through the planner", () => {
  it(`never throws, keeps both good applications, never gives haproxy a config it refuses (seed ${SEED})`, async () => {
    const paths = { haproxyLib: join(root, "lib"), haproxyRun: join(root, "run") };
    const renders = new Map<string, Render>();
    let appsLeftOut = 0;
    let runsWithHostileRoute = 0;
    let runsWithSampleRewrite = 0;
    fc.assert(
      fc.property(fuzzCase, (fuzz) => {
        for (const [i, { binary, version }] of haproxyVersions.entries()) {
          const plan = planFromInputs(inputsOf(fuzz, version), paths);
          const text = renderHaproxyConfig(plan.config);
          expectSound(plan, text, fuzz);
          if (i === 0) {
            appsLeftOut += plan.skippedRouteApps.length;
            const hostile = plan.haproxyRoutes.filter((served) => served.app !== "good");
            if (hostile.length > 0) runsWithHostileRoute += 1;
            if (hostile.some((served) => served.rewrites.some((r) => r.expression.includes("%["))))
              runsWithSampleRewrite += 1;
          }
          const files = plan.files.map(({ path, content }) => ({ path, content }));
          const key = createHash("sha256")
            .update(version)
            .update(text)
            .update(JSON.stringify(files))
            .digest("hex");
          if (!renders.has(key)) renders.set(key, { binary, version, text, files });
        }
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: false },
    );
    // Not vacuous, whatever the seed: bad applications were left out, hostile ones were
    // served, some with sample expressions that haproxy must then load.
    expect(appsLeftOut).toBeGreaterThanOrEqual(
      surelySumAtLeast(RATES.appsLeftOut, RUNS, HOSTILE_APPS_PER_RUN),
    );
    expect(runsWithHostileRoute).toBeGreaterThanOrEqual(
      surelyAtLeast(RATES.runsWithHostileRoute, RUNS),
    );
    expect(runsWithSampleRewrite).toBeGreaterThanOrEqual(
      surelyAtLeast(RATES.runsWithSampleRewrite, RUNS),
    );

    // Each configuration with its own files: the planned paths moved into a directory of its own.
    const refused: string[] = [];
    let n = 0;
    for (const render of renders.values()) {
      n += 1;
      const dir = join(root, `render-${n}`);
      const moved = (text: string) =>
        text
          .replaceAll(paths.haproxyLib, join(dir, "lib"))
          .replaceAll(paths.haproxyRun, join(dir, "run"));
      for (const file of render.files) {
        await mkdir(dirname(moved(file.path)), { recursive: true });
        await writeFile(moved(file.path), file.content);
      }
      await mkdir(join(dir, "run"), { recursive: true });
      const result = await checkHaproxyConfig(moved(render.text), render.binary);
      if (!result.ok) refused.push(`haproxy ${render.version}: ${result.output}\n${render.text}`);
      await rm(dir, { recursive: true, force: true });
    }
    console.info(
      `haproxy-route fuzz (seed ${SEED}): ${RUNS} runs, ${renders.size} distinct renders, ` +
        `${appsLeftOut} applications left out, ${runsWithHostileRoute} runs with a hostile route, ` +
        `${runsWithSampleRewrite} with a sample expression; checked with haproxy ` +
        haproxyVersions.map(({ version }) => version).join(" and "),
    );
    expect(refused.slice(0, 1)).toEqual([]);
  }, 900_000);
});
