// metrics_target is checked for its shape only: resolving it is the
// scheduled job's business, never a hook's.
import { describe, expect, it } from "vitest";

import { parseMetricsTarget } from "../../src/metrics/metricsTarget.js";

describe("parseMetricsTarget", () => {
  it.each([
    ["statsd.internal:8125", { host: "statsd.internal", port: 8125 }],
    ["10.0.0.5:8125", { host: "10.0.0.5", port: 8125 }],
    [" localhost:1 ", { host: "localhost", port: 1 }],
    ["[2001:db8::5]:8125", { host: "2001:db8::5", port: 8125 }],
    ["no-such-host.invalid:9125", { host: "no-such-host.invalid", port: 9125 }],
  ])("accepts %s", (text, target) => {
    expect(parseMetricsTarget(text)).toEqual({ ok: true, target });
  });

  it.each([
    ["", /empty/],
    ["statsd", /not host:port/],
    ["statsd:", /not host:port/],
    ["statsd:0", /between 1 and 65535/],
    ["statsd:70000", /between 1 and 65535/],
    ["statsd:81a", /not host:port/],
    ["bad_host!:8125", /not a host name/],
    ["2001:db8::5:8125", /not host:port/],
    ["host name:8125", /not a host name/],
  ])("refuses %j", (text, problem) => {
    const result = parseMetricsTarget(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problem).toMatch(problem);
  });
});
