// The tokenizer the metric-name checks rely on: if it missed names, those
// checks would pass on anything.
import { describe, expect, it } from "vitest";

import { labelValuesSelector, parsePromql } from "./promql.js";

const T = 'juju_model=~"$juju_model",juju_unit=~"$juju_unit"';

const cases: [string, { expr: string; metrics: string[]; grouping?: string[] }][] = [
  ["a bare name", { expr: "up == 0", metrics: ["up"] }],
  [
    "an aggregation with by before its argument, and a Grafana range variable",
    {
      expr: `sum by (proxy) (rate(haproxy_frontend_bytes_in_total{${T}}[$__rate_interval]))`,
      metrics: ["haproxy_frontend_bytes_in_total"],
      grouping: ["proxy"],
    },
  ],
  [
    "an aggregation with without after its argument",
    {
      expr: 'count(a{state="UP"}) without (server, state) / b',
      metrics: ["a", "b"],
      grouping: ["server", "state"],
    },
  ],
  [
    "keywords, numbers, strings and durations are not names",
    {
      expr: 'x > 0.05 and on (proxy) y offset 5m or z > 1e3 unless label_replace(w, "dst", "$1", "src", "(.*)")',
      metrics: ["x", "y", "z", "w"],
      grouping: ["proxy"],
    },
  ],
  [
    "names that look like keywords inside matchers and strings",
    { expr: 'sum(by_name{by="sum", or=~"and|or"})', metrics: ["by_name"] },
  ],
  [
    "a vector literal and a subquery",
    { expr: "max_over_time(q[10m:1m]) or vector(0)", metrics: ["q"] },
  ],
];

describe("parsePromql", () => {
  it.each(cases)("%s", (_, { expr, metrics, grouping = [] }) => {
    const parsed = parsePromql(expr);
    expect(parsed.selectors.map((selector) => selector.metric)).toEqual(metrics);
    expect(parsed.groupingLabels).toEqual(grouping);
  });

  it("reads label matchers with every operator", () => {
    const [selector] = parsePromql('m{a="1", b!="2",c=~"x|y" , d!~"z\\"q", e=~"$var"}').selectors;
    expect(selector?.matchers).toEqual([
      { label: "a", op: "=", value: "1" },
      { label: "b", op: "!=", value: "2" },
      { label: "c", op: "=~", value: "x|y" },
      { label: "d", op: "!~", value: 'z"q' },
      { label: "e", op: "=~", value: "$var" },
    ]);
  });

  it("rejects what it cannot read rather than skipping it", () => {
    expect(() => parsePromql('m{a~"1"}')).toThrow(/label matchers/);
    expect(() => parsePromql('m{a="1}')).toThrow(/unterminated/);
  });
});

describe("labelValuesSelector", () => {
  it("splits a label_values query into its selector and label", () => {
    expect(labelValuesSelector('label_values(m{a=~"$a", b="x,y"}, proxy)')).toEqual({
      selector: 'm{a=~"$a", b="x,y"}',
      label: "proxy",
    });
    expect(() => labelValuesSelector("query_result(up)")).toThrow();
  });
});
