// Generators for the fuzz tests of relation bags written by a related
// application: mostly plausible values (where subtle attacks live), sometimes
// hostile text or any JSON at all. Every choice is drawn from fast-check's
// seed (never Math.random), so that FUZZ_SEED replays a run exactly.
import fc from "fast-check";

import type { RemoteApp, RemoteUnit } from "../../src/juju/hookInputs.js";

/** What breaks a word of haproxy.cfg or adds a line, in every relation's fuzz. */
export const INJECTIONS: readonly string[] = [
  "\n",
  "\r\n",
  " ",
  "#",
  '"',
  "'",
  "\\",
  "\u2028",
  "\0",
  "\nbackend evil\n",
  " if TRUE",
  "${HOME}",
  "%[src]",
];

/** Unit addresses a requirer library takes, and ones the relation policy or the library refuses. */
export const UNIT_ADDRESSES = {
  good: ["10.5.0.1", "10.5.0.2", "fd00::5", "192.0.2.7"],
  bad: [
    "127.0.0.1",
    "::1",
    "::ffff:127.0.0.1",
    "169.254.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "fe80::1%eth0",
    "[fd00::1]",
    "host.example",
    "localhost",
    "010.0.0.1",
  ],
} as const;

export interface HostileBagOptions {
  /** Text that would end, quote, comment out or expand a word of haproxy.cfg. */
  readonly injections: readonly string[];
  /** Words the relation's own values are made of. */
  readonly words: readonly string[];
  /** Plain strings mixed in, at most this long. */
  readonly stringMaxLength: number;
  /** JSON values beyond fast-check's own, the numbers the relation's ports invite. */
  readonly jsonExtras: readonly unknown[];
  /** How much more often `value` draws the plausible value than each kind of junk. */
  readonly plausibleWeight: number;
  /** A string value is written raw (not as JSON text) `rawDraws[0]` times in `rawDraws[1]`. */
  readonly rawDraws: readonly [number, number];
}

export interface HostileBagGenerators {
  /** One injection, word, string or number. */
  readonly piece: fc.Arbitrary<string>;
  /** A few pieces run together. */
  readonly hostileText: fc.Arbitrary<string>;
  /** Any JSON value, and the relation's own numbers. */
  readonly anyJson: fc.Arbitrary<unknown>;
  /** Mostly `plausible`, sometimes hostile text or any JSON. */
  value<T>(plausible: fc.Arbitrary<T>): fc.Arbitrary<unknown>;
  /** A bag value: a `value` as JSON text, sometimes raw text. */
  bagValue<T>(plausible: fc.Arbitrary<T>): fc.Arbitrary<string>;
  /** A bag of hostile values under a few of `keys`: ones no model knows, and names an object holds without being told. */
  strayBag(keys: readonly string[]): fc.Arbitrary<Record<string, string>>;
}

export function hostileBagGenerators(options: HostileBagOptions): HostileBagGenerators {
  const piece = fc.oneof(
    fc.string({ maxLength: options.stringMaxLength }),
    fc.constantFrom(...options.injections),
    fc.constantFrom(...options.words),
    fc.integer().map(String),
  );
  const hostileText = fc.array(piece, { maxLength: 4 }).map((pieces) => pieces.join(""));
  const anyJson = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(...options.jsonExtras));
  const value = <T>(plausible: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
    fc.oneof(
      { weight: options.plausibleWeight, arbitrary: plausible },
      { weight: 1, arbitrary: hostileText },
      { weight: 1, arbitrary: anyJson },
    );
  const [raw, of] = options.rawDraws;
  const bagValue = <T>(plausible: fc.Arbitrary<T>): fc.Arbitrary<string> =>
    fc
      .tuple(value(plausible), fc.integer({ min: 0, max: of - 1 }))
      .map(([v, draw]) => (typeof v === "string" && draw < raw ? v : (JSON.stringify(v) ?? "")));
  const strayBag = (keys: readonly string[]): fc.Arbitrary<Record<string, string>> =>
    fc.dictionary(
      fc.constantFrom("__proto__", "constructor", "toString", "hasOwnProperty", ...keys),
      fc.oneof(
        hostileText,
        anyJson.map((v) => JSON.stringify(v) ?? ""),
      ),
      { maxKeys: 4 },
    );
  return { piece, hostileText, anyJson, value, bagValue, strayBag };
}

/** Up to `maxLength` items. */
export const some = <T>(item: fc.Arbitrary<T>, maxLength = 3): fc.Arbitrary<T[]> =>
  fc.array(item, { maxLength });

/** `good` values `weights[0]` times for each `weights[1]` of `bad` ones. */
export function goodOrBad<T>(
  good: readonly T[],
  bad: readonly T[],
  weights: readonly [number, number] = [10, 1],
): fc.Arbitrary<T> {
  return fc.oneof(
    { weight: weights[0], arbitrary: fc.constantFrom(...good) },
    { weight: weights[1], arbitrary: fc.constantFrom(...bad) },
  );
}

const ABSENT = Symbol("absent");

/** An object's keys, each present about `presence` times in ten. */
export function someKeys(
  fields: Record<string, fc.Arbitrary<unknown>>,
  presence: number,
): fc.Arbitrary<Record<string, unknown>> {
  const maybe = (arbitrary: fc.Arbitrary<unknown>) =>
    fc.oneof(
      { weight: presence, arbitrary },
      { weight: 10 - presence, arbitrary: fc.constant(ABSENT) },
    );
  return fc
    .record(Object.fromEntries(Object.entries(fields).map(([key, arb]) => [key, maybe(arb)])))
    .map((record) => Object.fromEntries(Object.entries(record).filter(([, v]) => v !== ABSENT)));
}

/** A related application a fuzz run makes up: its bag and each of its units' bags. */
export interface HostileApp {
  readonly relation: number;
  readonly app: string;
  readonly bag: Record<string, string>;
  readonly units: Record<string, string>[];
}

/** The well-behaved application of a run, and where Juju lists it and its unit. */
export interface GoodApp {
  readonly app: RemoteApp;
  readonly unit: RemoteUnit;
  readonly appAt: number;
  readonly unitAt: number;
}

/**
 * The applications related on `endpoint` as a hook's inputs list them: each
 * hostile one under a relation id and name of its own, and the good one where
 * the run puts it.
 */
export function relatedApps(
  endpoint: string,
  hostile: readonly HostileApp[],
  good: GoodApp,
): { apps: RemoteApp[]; units: RemoteUnit[] } {
  const apps: RemoteApp[] = [];
  const units: RemoteUnit[] = [];
  hostile.forEach((entry, i) => {
    const relationId = `${endpoint}:${entry.relation * 10 + i}`;
    apps.push({ relationId, app: `${entry.app}${i}`, settings: entry.bag });
    entry.units.forEach((settings, n) =>
      units.push({ relationId, unit: `${entry.app}${i}/${n}`, settings }),
    );
  });
  apps.splice(good.appAt, 0, good.app);
  units.splice(good.unitAt, 0, good.unit);
  return { apps, units };
}
