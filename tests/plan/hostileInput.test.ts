// Regressions found by the fuzz test (tests/reliability/fuzz.test.ts): each
// of these once crashed the planner, or reached haproxy.cfg as something
// other than what the model said.
import { describe, expect, it } from "vitest";

import { ConfigError } from "../../src/lib/errors.js";
import type { HookInputs, RemoteUnit } from "../../src/juju/hookInputs.js";
import { planFromInputs } from "../helpers/planFromInputs.js";
import { renderHaproxyConfig } from "../../src/render/renderHaproxyConfig.js";

const paths = { haproxyLib: "/var/lib/haproxy", haproxyRun: "/run/haproxy" };
const SERVICES = "- {service_name: web, service_host: 127.0.0.1, service_port: 8080}";
const good: RemoteUnit = {
  relationId: "reverseproxy:1",
  unit: "web/0",
  settings: { "private-address": "10.0.0.10", port: "8000" },
};

function inputs(config: Record<string, unknown>, units: RemoteUnit[]): HookInputs {
  return {
    unitName: "haproxy/0",
    privateAddress: "10.0.0.1",
    publicAddress: "203.0.113.1",
    config: { services: SERVICES, ...config },
    reverseproxy: units,
    peers: [],
  };
}

/** A unit that describes its own service with the given YAML. */
const describing = (services: string): RemoteUnit => ({
  relationId: "reverseproxy:1",
  unit: "aaa/0",
  settings: { "private-address": "10.0.0.66", services },
});

const billionLaughs = [
  "- service_name: bomb",
  "  a0: &a0 [x, x, x, x, x, x, x, x, x, x]",
  ...Array.from(
    { length: 8 },
    (_, i) => `  a${i + 1}: &a${i + 1} [${Array(10).fill(`*a${i}`).join(", ")}]`,
  ),
  "  service_options: *a8",
].join("\n");
const wideString = `- service_name: wide\n  x: &s "${"y".repeat(100_000)}"\n  service_options: [${Array(
  20_000,
)
  .fill("*s")
  .join(",")}]`;

describe("hostile relation data is left out with a reason, the good unit still served", () => {
  it.each([
    [
      "aliases that refer to themselves",
      "- &a {service_name: x, service_options: [*a]}",
      /refer to themselves/,
    ],
    [
      "aliases that refer to themselves through servers",
      "- &a {service_name: x, servers: [*a]}",
      /refer to themselves/,
    ],
    ["a billion laughs", billionLaughs, /expands to too much data/],
    ["one string repeated 20,000 times by alias", wideString, /expands to too much data/],
    [
      "YAML nested deeper than 100 levels",
      `${"[".repeat(500)}${"]".repeat(500)}`,
      /not valid YAML/,
    ],
    [
      "an option that opens a backend",
      "- {service_name: x, service_options: [backend evil]}",
      /cannot start an option line/,
    ],
    [
      "an option that opens a listen section",
      "- {service_name: x, service_options: ['listen evil :2222']}",
      /cannot start an option line/,
    ],
    [
      "an option that opens a peers section",
      "- {service_name: x, service_options: [peers p]}",
      /cannot start an option line/,
    ],
    [
      "a quoted section keyword",
      `- {service_name: x, service_options: ['"backend" evil']}`,
      /cannot start an option line/,
    ],
    [
      "an escaped section keyword",
      "- {service_name: x, service_options: ['back\\end evil']}",
      /cannot start an option line/,
    ],
    [
      "a keyword cut short by a comment",
      "- {service_name: x, service_options: ['backend#x']}",
      /cannot start an option line/,
    ],
    [
      "a conditional block",
      "- {service_name: x, service_options: ['.if 0']}",
      /cannot start an option line/,
    ],
    [
      "a certificate directory with a comment",
      "- {service_name: x, service_port: 9443, crts: ['/etc/ssl/certs#']}",
      /not a usable directory/,
    ],
    [
      "a certificate directory with quotes",
      `- {service_name: x, service_port: 9443, crts: ['/etc/"ssl"']}`,
      /not a usable directory/,
    ],
    [
      "a certificate directory with a space",
      "- {service_name: x, service_port: 9443, crts: ['/etc/ssl ssl-min-ver TLSv1.0']}",
      /not a usable directory/,
    ],
  ])("%s", (_, services, reason) => {
    // Bounded work, measured in CPU time: a loaded machine stretches the wall
    // clock, not the work an alias bomb or a backtracking pattern would cost.
    const started = process.cpuUsage();
    const plan = planFromInputs(inputs({}, [good, describing(services)]), paths);
    const used = process.cpuUsage(started);
    expect((used.user + used.system) / 1000).toBeLessThan(2000);
    expect(plan.skippedUnits).toEqual([
      {
        relationId: "reverseproxy:1",
        unit: "aaa/0",
        reason: expect.stringMatching(reason),
        invalid: true,
      },
    ]);
    expect(renderHaproxyConfig(plan.config)).toContain("server web-0-8000 10.0.0.10:8000");
  });

  it("still accepts ordinary options", () => {
    const plan = planFromInputs(
      inputs({}, [
        good,
        describing(
          "- {service_name: api, service_port: 9443, service_options: [mode http, 'acl a path_beg /a', 'http-request deny if a # say no']}",
        ),
      ]),
      paths,
    );
    expect(plan.skippedUnits).toEqual([]);
    expect(renderHaproxyConfig(plan.config)).toContain("    http-request deny if a # say no\n");
  });

  it("takes a certificate directory from a relation only when the operator trusts relation data", () => {
    const api = describing(
      "- {service_name: api, service_port: 9443, crts: [/etc/ssl/private/api.d]}",
    );
    const untrusted = planFromInputs(inputs({}, [good, api]), paths);
    expect(untrusted.skippedUnits.map((unit) => [unit.unit, unit.reason])).toEqual([
      [
        "aaa/0",
        'services[0] (api).crts[0]: "/etc/ssl/private/api.d" names a directory on the haproxy machine',
      ],
    ]);
    const trusted = planFromInputs(inputs({ trust_relation_data: true }, [good, api]), paths);
    expect(trusted.skippedUnits).toEqual([]);
    expect(renderHaproxyConfig(trusted.config)).toContain(
      "bind 0.0.0.0:9443 ssl crt /etc/ssl/private/api.d\n",
    );
  });
});

describe("hostile operator config is refused with a ConfigError", () => {
  it("refuses a section keyword in a configured service's options", () => {
    const services = `${SERVICES.slice(0, -1)}, service_options: [frontend evil]}`;
    expect(() => planFromInputs(inputs({ services }, [good]), paths)).toThrow(
      new ConfigError(
        "services",
        'services[0] (web).service_options[0]: "frontend" cannot start an option line',
      ),
    );
  });

  it.each([
    ["aliases that refer to themselves", "- &a {l: {users: [*a]}}", "refer to themselves"],
    ["a billion laughs", billionLaughs, "expands to too much data"],
  ])("refuses userlists with %s", (_, userlists, reason) => {
    expect(() => planFromInputs(inputs({ userlists }, []), paths)).toThrow(reason);
  });

  it("names the userlists field at fault without echoing its value: user lines hold passwords", () => {
    const userlists = '- {admins: "user admin insecure-password hunter2"}';
    let error: unknown;
    try {
      planFromInputs(inputs({ userlists }, []), paths);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(
      "config option userlists: [0].admins: expected a mapping",
    );
  });
});
