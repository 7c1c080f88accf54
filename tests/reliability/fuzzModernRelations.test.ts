// Hostile data on today's relations, generated. Ingress requirers' bags:
// whatever they say, the planner never throws, never lets a value open a
// section of its own, keeps the well-behaved application's route, and every
// configuration it renders is accepted by every haproxy version the tests
// have (a requirer cannot get haproxy to refuse a configuration, so it can
// never block the others). A certificates provider's bag: read without
// throwing, our certificate found among any junk.
import { createHash, createPrivateKey } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { HookInputs, RemoteApp, RemoteUnit } from "../../src/juju/hookInputs.js";
import { planFromInputs } from "../helpers/planFromInputs.js";
import { decideCertificate } from "../../src/relations/certificates/certificateLifecycle.js";
import { readProviderCertificates } from "../../src/relations/certificates/providerCertificates.js";
import { renderHaproxyConfig } from "../../src/render/renderHaproxyConfig.js";
import {
  type HostileApp,
  hostileBagGenerators,
  INJECTIONS,
  relatedApps,
} from "../helpers/hostileBags.js";
import { surelyAtLeast, surelySumAtLeast } from "../helpers/fuzzThresholds.js";
import { checkHaproxyConfig } from "../helpers/haproxyCheck.js";
import { haproxyVersions } from "../helpers/haproxyVersions.js";
import { TestCa, makeCsrWithKey } from "../helpers/testCa.js";

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const HOSTILE_APPS_PER_RUN = 6;
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
/**
 * What a run reaches at least, whatever the seed: conservative readings of
 * 6,000 runs (5.73 applications left out per run; a hostile route in 5.8 % of
 * runs since the relation-data policy holds back hosts it has not resolved
 * yet); see surelyAtLeast for the margin.
 */
const RATES = { appsLeftOut: 5.0, runsWithHostileRoute: 0.04 };

const ca = TestCa.create("Fuzz CA");
const request = makeCsrWithKey("fuzz.example");
const issued = ca.entry(request.csr);

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "fuzz-modern-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  ca.cleanup();
});

// ---- Generators ---------------------------------------------------------------

const { hostileText, anyJson, value, bagValue } = hostileBagGenerators({
  injections: [...INJECTIONS, "..", "/", "[", "]", ":", "%", "{"],
  words: ["prod", "shop", "api", "10.4.0.9", "::1", "a.example", "30s", "/health"],
  stringMaxLength: 10,
  jsonExtras: [null, true, 0, -1, 1.5, 1e300, 65536, 8080, [], {}, "80"],
  plausibleWeight: 14,
  rawDraws: [3, 10],
});

const healthcheck = fc.record(
  {
    path: value(fc.constantFrom("/", "/health", "/a?b=c", "/x y", '/"', "/#")),
    scheme: value(fc.constantFrom("http", "https")),
    hostname: value(fc.constantFrom("app.local", "10.0.0.1", "a b")),
    port: value(fc.constantFrom(8080, 0, 70000)),
    interval: value(fc.constantFrom("30s", "1s", "5", "1 s", "-1s")),
    timeout: value(fc.constantFrom("5s", "100ms", "x")),
  },
  { requiredKeys: ["path"] },
);

const appBag: fc.Arbitrary<Record<string, string>> = fc.record(
  {
    model: bagValue(
      fc.oneof(fc.constantFrom("prod", "fuzz"), fc.stringMatching(/^[a-z0-9-]{1,12}$/)),
    ),
    name: bagValue(
      fc.oneof(fc.constantFrom("good", "web"), fc.stringMatching(/^[a-z0-9-]{1,12}$/)),
    ),
    port: bagValue(fc.constantFrom(80, 8080, 65535, 1)),
    "strip-prefix": bagValue(fc.boolean()),
    "redirect-https": bagValue(fc.boolean()),
    scheme: bagValue(fc.constantFrom("http", "https", "h2c")),
    healthcheck_params: bagValue(healthcheck),
  },
  { requiredKeys: [] },
);

const unitBag: fc.Arbitrary<Record<string, string>> = fc.record(
  {
    host: bagValue(
      fc.constantFrom("10.4.1.1", "app-0.example", "fd00::1", "[fd00::2]", "localhost"),
    ),
    ip: bagValue(fc.constantFrom("10.4.1.2", "::1", "", "300.1.1.1")),
  },
  { requiredKeys: [] },
);

const hostileApp: fc.Arbitrary<HostileApp> = fc.record({
  relation: fc.integer({ min: 2, max: 9 }),
  app: fc.constantFrom("shop", "api", "evil", "x"),
  bag: appBag,
  units: fc.array(unitBag, { maxLength: 3 }),
});

interface FuzzCase {
  readonly apps: readonly HostileApp[];
  readonly externalHostname: string;
  readonly tls: boolean;
  /** Where the good application and its unit stand in what Juju lists. */
  readonly goodAppAt: number;
  readonly goodUnitAt: number;
}

const fuzzCase: fc.Arbitrary<FuzzCase> = fc.record({
  apps: fc.array(hostileApp, { minLength: HOSTILE_APPS_PER_RUN, maxLength: HOSTILE_APPS_PER_RUN }),
  externalHostname: fc.constantFrom("", "fuzz.example", "shop.example.com"),
  tls: fc.boolean(),
  goodAppAt: fc.nat({ max: HOSTILE_APPS_PER_RUN }),
  goodUnitAt: fc.nat({ max: HOSTILE_APPS_PER_RUN * 3 }),
});

// ---- The well-behaved part of every run --------------------------------------

const GOOD_SERVICES =
  "- {service_name: web, service_host: 0.0.0.0, service_port: 8080, servers: [[web-0, 10.1.0.1, 8000, check]]}";
const GOOD_APP: RemoteApp = {
  relationId: "ingress:1",
  app: "good",
  settings: { model: '"fuzz"', name: '"good"', port: "8080" },
};
const GOOD_UNIT: RemoteUnit = {
  relationId: "ingress:1",
  unit: "good/0",
  settings: { host: '"10.4.0.1"' },
};

function inputsOf(fuzz: FuzzCase): HookInputs {
  // Related first (the lowest relation id, so no later application may take its route), but
  // anywhere in the lists: its route must not depend on coming first in them.
  const { apps, units } = relatedApps("ingress", fuzz.apps, {
    app: GOOD_APP,
    unit: GOOD_UNIT,
    appAt: fuzz.goodAppAt,
    unitAt: fuzz.goodUnitAt,
  });
  return {
    unitName: "haproxy/0",
    privateAddress: "10.0.0.1",
    publicAddress: "203.0.113.1",
    config: { services: GOOD_SERVICES, external_hostname: fuzz.externalHostname },
    reverseproxy: [],
    peers: [],
    ingressApps: apps,
    ingressUnits: units,
    ...(fuzz.tls && { relationCertificatePem: issued.certificate + request.key }),
  };
}

const SECTION =
  /^\s*(global|defaults|frontend|backend|listen|userlist|peers|resolvers|program|cache|ring|http-errors|mailers|\.\S+)\b/;

describe("hostile data on the ingress relation", () => {
  it(`never throws, never injects, keeps the good route, never gives haproxy a config it refuses (seed ${SEED})`, async () => {
    const paths = { haproxyLib: join(root, "lib"), haproxyRun: join(root, "run") };
    const renders = new Map<string, { text: string; files: { path: string; content: string }[] }>();
    let skipped = 0;
    let runsWithHostileRoute = 0;
    fc.assert(
      fc.property(fuzzCase, (fuzz) => {
        const plan = planFromInputs(inputsOf(fuzz), paths);
        skipped += plan.skippedApps.length;
        // The good application's route is always there (checked below).
        if (plan.ingress.length > 1) runsWithHostileRoute += 1;
        const text = renderHaproxyConfig(plan.config);
        const headers = text.split("\n").filter((line) => SECTION.test(line));
        expect(headers).toEqual([
          "global",
          "defaults",
          ...plan.config.userlists.map((list) => `userlist ${list.name}`),
          ...plan.config.proxies.flatMap((proxy) => [
            `frontend ${proxy.frontend.name}`,
            ...proxy.backends.map((backend) => `backend ${backend.name}`),
          ]),
        ]);
        expect(text).toMatch(
          /^backend fuzz-good\n(?: {4}.*\n)*? {4}server good-0 10\.4\.0\.1:8080 /m,
        );
        expect(text).toContain("use_backend fuzz-good if ");
        const key = createHash("sha256").update(text).digest("hex");
        if (!renders.has(key)) renders.set(key, { text, files: [...plan.files] });
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: false },
    );
    // Not vacuous, whatever the seed: bad applications were left out, and hostile ones got
    // routes too.
    expect(skipped).toBeGreaterThanOrEqual(
      surelySumAtLeast(RATES.appsLeftOut, RUNS, HOSTILE_APPS_PER_RUN),
    );
    expect(runsWithHostileRoute).toBeGreaterThanOrEqual(
      surelyAtLeast(RATES.runsWithHostileRoute, RUNS),
    );

    for (const { files } of renders.values()) {
      for (const file of files) {
        await mkdir(dirname(file.path), { recursive: true });
        await writeFile(file.path, file.content);
      }
    }
    const refused: string[] = [];
    for (const { binary, version } of haproxyVersions) {
      for (const { text } of renders.values()) {
        const result = await checkHaproxyConfig(text, binary);
        if (!result.ok) refused.push(`haproxy ${version}: ${result.output}\n${text}`);
      }
    }
    console.info(
      `ingress fuzz (seed ${SEED}): ${RUNS} runs, ${renders.size} distinct renders, ` +
        `${skipped} applications left out, ${runsWithHostileRoute} runs with a hostile route; ` +
        `checked with haproxy ` +
        haproxyVersions.map(({ version }) => version).join(" and "),
    );
    expect(refused.slice(0, 1)).toEqual([]);
  }, 600_000);
});

describe("hostile data on the certificates relation", () => {
  const key = createPrivateKey(request.key);
  const junkEntry = fc.oneof(
    anyJson,
    fc.record({
      certificate: value(
        fc.constantFrom(
          issued.certificate,
          ca.certificate,
          "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
        ),
      ),
      certificate_signing_request: value(fc.constantFrom(request.csr, "junk")),
      ca: value(fc.constant(ca.certificate)),
      chain: value(fc.array(fc.constantFrom(ca.certificate, "x"), { maxLength: 3 })),
      revoked: value(fc.boolean()),
    }),
  );

  it(`reads any bag without throwing and finds our certificate among junk (seed ${SEED})`, () => {
    fc.assert(
      fc.property(
        fc.array(junkEntry, { maxLength: 8 }),
        fc.nat(),
        fc.oneof(fc.constant(undefined), hostileText),
        (junk, position, rawBag) => {
          // A bag that is not even a JSON list is set aside with a message.
          if (rawBag !== undefined) {
            const read = readProviderCertificates({ certificates: rawBag });
            let list: unknown;
            try {
              list = JSON.parse(rawBag);
            } catch {
              list = undefined;
            }
            if (rawBag !== "" && !Array.isArray(list)) expect(read.problems).not.toEqual([]);
          }
          const entries = [...junk];
          entries.splice(position % (entries.length + 1), 0, issued);
          const read = readProviderCertificates({ certificates: JSON.stringify(entries) });
          const decision = decideCertificate({
            hostname: "fuzz.example",
            sent: { hostname: "fuzz.example", csr: request.csr, createdAt: Date.now() },
            offered: read.entries,
            key,
            now: Date.now(),
          });
          // A junk entry for our CSR (revoked, foreign key) may be there too: then it is named.
          if (decision.held === undefined) expect(decision.warnings).not.toEqual([]);
          else expect(decision.held.pem.startsWith(issued.certificate.trim())).toBe(true);
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });
});
