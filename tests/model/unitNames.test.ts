// compareNatural orders names exactly as the collator it replaces in the
// common case (names of one application): my-app/2 before my-app/10.
import fc from "fast-check";
import { describe, expect, it } from "vitest";

import { compareNatural } from "../../src/model/unitNames.js";

const collator = new Intl.Collator("en", { numeric: true });
const sign = (n: number) => Math.sign(n);

describe("compareNatural", () => {
  it("orders unit names and relation ids by their numbers", () => {
    const names = ["web/10", "web/9", "web/0", "api/2", "reverseproxy:12", "reverseproxy:2"];
    expect([...names].sort(compareNatural)).toEqual([
      "api/2",
      "reverseproxy:2",
      "reverseproxy:12",
      "web/0",
      "web/9",
      "web/10",
    ]);
  });

  it("agrees with Intl.Collator('en', { numeric: true }) on any two names", () => {
    const name = fc.stringMatching(/^[a-zA-Z0-9/:._ -]{0,12}$/);
    const unit = fc
      .tuple(fc.constantFrom("app", "my-app", "web2", "a1b"), fc.nat(1000), fc.nat(1000))
      .chain(([app, n, m]) =>
        fc.constantFrom(
          [`${app}/${n}`, `${app}/${m}`],
          [`${app}/0${n}`, `${app}/${m}`],
          [`${app}:${n}`, `${app}:${m}x`],
          [`${app}/${n}`, `other/${m}`],
        ),
      );
    const pair = fc.oneof(
      fc.tuple(name, name),
      unit,
      fc.tuple(fc.string({ unit: "grapheme" }), name),
    );
    fc.assert(
      fc.property(pair, ([a, b]) => {
        expect(sign(compareNatural(a, b)), `${a} vs ${b}`).toBe(sign(collator.compare(a, b)));
      }),
      { numRuns: 20_000 },
    );
  });
});
