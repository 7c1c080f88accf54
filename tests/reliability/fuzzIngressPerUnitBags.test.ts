// Hostile data on ingress-per-unit, generated: whatever the units' bags say,
// the planner never throws, the well-behaved unit keeps its route, every
// hostile unit is either served whole or left out with a reason, and every
// configuration it renders is accepted by every haproxy version the tests
// have (a unit cannot get haproxy to refuse a configuration, so it can never
// block the others).
import fc from "fast-check";
import { describe, expect, it } from "vitest";

import type { HookInputs, RemoteUnit } from "../../src/juju/hookInputs.js";
import { renderHaproxyConfig } from "../../src/render/renderHaproxyConfig.js";
import { checkHaproxyConfig } from "../helpers/haproxyCheck.js";
import { haproxyVersions } from "../helpers/haproxyVersions.js";
import { planFromInputs } from "../helpers/planFromInputs.js";

// Every run starts haproxy -c once per version: fewer runs than the pure fuzz tests.
const RUNS = Number(process.env.FUZZ_RUNS ?? 40);
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const HOSTILE_UNITS_PER_RUN = 6;

const INJECTIONS = ["\n", "\r\n", " ", "#", '"', "'", "\\", "\u2028", "\0", "\nbackend evil\n"];
const hostileText = fc
  .array(
    fc.oneof(
      fc.string({ maxLength: 8 }),
      fc.constantFrom(...INJECTIONS, " if TRUE", "${HOME}", "%[src]", "/", ":", "[", "]"),
      fc.integer().map(String),
    ),
    { maxLength: 4 },
  )
  .map((pieces) => pieces.join(""));

/** Mostly plausible plain strings (where subtle attacks live), sometimes junk. */
function value(...plausible: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 10, arbitrary: fc.constantFrom(...plausible) },
    { weight: 1, arbitrary: hostileText },
  );
}

const unitBag: fc.Arbitrary<Record<string, string>> = fc.record(
  {
    model: value("fuzz", "prod", "m-1"),
    name: value("app/0", "app/1", "app/10", "good/0", "x/99"),
    host: value("10.4.1.1", "app-0.example", "fd00::1", "[fd00::2]", "localhost", "127.0.0.1"),
    port: value("80", "8080", "65535", "0", "70000", "08"),
    mode: value("http", "tcp", "udp"),
    "strip-prefix": value("true", "false", "True"),
    "redirect-https": value("true", "false"),
    scheme: value("http", "https", "h2c"),
  },
  { requiredKeys: [] },
);

interface FuzzCase {
  readonly bags: readonly Record<string, string>[];
  readonly externalHostname: string;
  readonly goodAt: number;
}

const fuzzCase: fc.Arbitrary<FuzzCase> = fc.record({
  bags: fc.array(unitBag, { minLength: HOSTILE_UNITS_PER_RUN, maxLength: HOSTILE_UNITS_PER_RUN }),
  externalHostname: fc.constantFrom("", "fuzz.example"),
  goodAt: fc.nat({ max: HOSTILE_UNITS_PER_RUN }),
});

const GOOD: RemoteUnit = {
  relationId: "ingress-per-unit:1",
  unit: "good/0",
  settings: { model: "fuzz", name: "good/0", host: "10.4.0.1", port: "8080" },
};

function inputsOf(fuzz: FuzzCase): HookInputs {
  const units: RemoteUnit[] = fuzz.bags.map((settings, i) => ({
    relationId: `ingress-per-unit:${2 + (i % 3)}`,
    unit: `hostile${i}/${i}`,
    settings,
  }));
  // The lowest relation id, so that no hostile unit may take its route, but anywhere in the list.
  units.splice(fuzz.goodAt, 0, GOOD);
  return {
    unitName: "haproxy/0",
    privateAddress: "10.0.0.1",
    publicAddress: "10.0.0.1",
    config: { services: "", external_hostname: fuzz.externalHostname },
    reverseproxy: [],
    peers: [],
    ingressPerUnitUnits: units,
    // Every name resolves to a remote address: what the hook would have looked up.
    resolvedHosts: { "app-0.example": ["10.4.1.9"] },
  };
}

const paths = { haproxyLib: "/var/lib/haproxy", haproxyRun: "/run/haproxy" };

describe("hostile ingress-per-unit bags", () => {
  it(`never stop the good unit's route, nor haproxy (seed ${SEED})`, async () => {
    let leftOut = 0;
    await fc.assert(
      fc.asyncProperty(fuzzCase, async (fuzz) => {
        const plan = planFromInputs(inputsOf(fuzz), paths);
        const { served, skipped } = plan.ingressPerUnit;
        leftOut += skipped.length;
        expect(served.map((unit) => unit.request.unit)).toContain("good/0");
        // Each unit is served, left out with a reason, or neither only when it wrote nothing.
        for (const unit of fuzz.bags.map((_, i) => `hostile${i}/${i}`)) {
          const count =
            served.filter((s) => s.request.unit === unit).length +
            skipped.filter((s) => s.unit === unit).length;
          expect(count).toBe(1);
        }
        const text = renderHaproxyConfig(plan.config);
        expect(text).toContain("acl ingress_fuzz-good-0 path /fuzz-good-0\n");
        expect(text).not.toMatch(/^backend evil/m);
        for (const { binary, version } of haproxyVersions) {
          const check = await checkHaproxyConfig(text, binary);
          expect(check.exitCode, `haproxy ${version}:\n${check.output}\n${text}`).toBe(0);
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
    // The generator does reach the checks: most runs leave some unit out.
    expect(leftOut).toBeGreaterThan(RUNS);
  }, 600_000);
});
