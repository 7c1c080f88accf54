// statsd names as the old charm's cron job sent them, so dashboards built on
// them keep working after `juju refresh`.
import { describe, expect, it } from "vitest";

import {
  expandMetricsPrefix,
  metricName,
  metricNamePart,
  statsGauges,
} from "../../src/metrics/metricNames.js";
import { parseShowStat } from "../../src/metrics/statsCsv.js";

describe("expandMetricsPrefix", () => {
  it.each([
    ["dev.$UNIT.haproxy", "haproxy/0", "dev.haproxy-0.haproxy"],
    ["prod.$UNIT", "lb.edge/12", "prod.lb-edge-12"],
    ["  fixed.prefix  ", "haproxy/0", "fixed.prefix"],
    ["$UNIT.$UNIT", "haproxy/3", "haproxy-3.haproxy-3"],
  ])("%s on %s gives %s", (prefix, unit, expected) => {
    expect(expandMetricsPrefix(prefix, unit)).toBe(expected);
  });
});

describe("metricName", () => {
  it("is <prefix>.<proxy>.<server>.<field>.<interval>min", () => {
    expect(
      metricName("dev.haproxy-0.haproxy", { proxy: "my_web", server: "my-web-0-80" }, "scur", 5),
    ).toBe("dev.haproxy-0.haproxy.my_web.my-web-0-80.scur.5min");
  });

  it("has no leading dot with an empty prefix", () => {
    expect(metricName("", { proxy: "p", server: "FRONTEND" }, "stot", 1)).toBe(
      "p.FRONTEND.stot.1min",
    );
  });

  it.each([
    ["web:8080", "web_8080"],
    ["a|b@c", "a_b_c"],
    ["with space", "with_space"],
    ["keeps.dots-and_underscores", "keeps.dots-and_underscores"],
  ])("turns statsd's reserved characters in %s into _", (part, expected) => {
    expect(metricNamePart(part)).toBe(expected);
  });
});

describe("statsGauges", () => {
  it("sends one gauge per numeric field of every row", () => {
    const rows = parseShowStat(
      "# pxname,svname,scur,status,stot,\n" +
        "haproxy-0-80,FRONTEND,2,OPEN,40,\n" +
        "web,web-0-80,1,UP,22,\n" +
        "web,BACKEND,1,UP,,\n",
    );
    expect(statsGauges(rows, "p", 5)).toEqual([
      { name: "p.haproxy-0-80.FRONTEND.scur.5min", value: 2 },
      { name: "p.haproxy-0-80.FRONTEND.stot.5min", value: 40 },
      { name: "p.web.web-0-80.scur.5min", value: 1 },
      { name: "p.web.web-0-80.stot.5min", value: 22 },
      { name: "p.web.BACKEND.scur.5min", value: 1 },
    ]);
  });
});
