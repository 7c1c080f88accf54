import yaml from "js-yaml";
import { describe, expect, it } from "vitest";

import type { HookInputs, RemoteUnit } from "../../../src/juju/hookInputs.js";
import { planFromInputs } from "../../helpers/planFromInputs.js";
import { renderHaproxyConfig } from "../../../src/render/renderHaproxyConfig.js";
import { checkHaproxyConfig } from "../../helpers/haproxyCheck.js";

const paths = { haproxyLib: "/var/lib/haproxy", haproxyRun: "/run/haproxy" };
const services = `- service_name: web
  service_host: 0.0.0.0
  service_port: 80
  service_options: [mode http, balance leastconn, timeout server 30s, timeout client 20s]
`;
const peer = (
  n: number,
  published = [{ service_name: "web", service_host: "0.0.0.0", service_port: 80 }],
): RemoteUnit => ({
  relationId: "peer:0",
  unit: `haproxy/${n}`,
  settings: { "private-address": `10.1.0.${n}`, all_services: yaml.dump(published) },
});
const backend: RemoteUnit = {
  relationId: "reverseproxy:1",
  unit: "app/0",
  settings: { "private-address": "10.0.0.5", port: "8000" },
};

function render(unit: number, peers: RemoteUnit[], config: Record<string, unknown> = {}) {
  const inputs: HookInputs = {
    unitName: `haproxy/${unit}`,
    privateAddress: `10.1.0.${unit}`,
    publicAddress: "203.0.113.1",
    config: { services, ...config },
    reverseproxy: [backend],
    peers,
  };
  const plan = planFromInputs(inputs, paths);
  return { plan, text: renderHaproxyConfig(plan.config) };
}

describe("active-passive peering", () => {
  it("forwards the original port to the first peer's port+1 and balances on port+1 as <name>_be", async () => {
    const { text, plan } = render(2, [peer(0), peer(1)]);
    expect(text).toContain(
      [
        "frontend haproxy-2-80",
        "    bind 0.0.0.0:80",
        "    default_backend web",
        "    mode tcp",
        "    option tcplog",
        "    timeout client 20s",
        "",
        "backend web",
        "    mode tcp",
        "    option tcplog",
        "    balance leastconn",
        "    option redispatch",
        "    timeout server 30s",
        // A peer that refuses a connection is down at once; the next peer takes it.
        "    server haproxy-0 10.1.0.0:81 check observe layer4 error-limit 1 on-error mark-down",
        "    server haproxy-1 10.1.0.1:81 check observe layer4 error-limit 1 on-error mark-down backup",
        "    server haproxy-2 10.1.0.2:81 check observe layer4 error-limit 1 on-error mark-down backup",
        "",
        "frontend haproxy-2-81",
        "    bind 0.0.0.0:81",
        "    default_backend web_be",
      ].join("\n"),
    );
    expect(text).toContain(
      "backend web_be\n    mode http\n    balance leastconn\n    timeout server 30s\n    server app-0-8000 10.0.0.5:8000",
    );
    expect(plan.ports).toEqual([80, 81]);
    expect(plan.serverCount).toBe(1);
    expect(plan.ownServices.map((s) => [s.name, s.port])).toEqual([["web", 80]]);
    expect((await checkHaproxyConfig(text)).ok).toBe(true);
  });

  it("picks the same first peer on every unit, in the old charm's plain string order", () => {
    const first = (unit: number, others: number[]) =>
      render(
        unit,
        others.map((n) => peer(n)),
      ).text.match(/server (haproxy-\d+) \S+ check [a-z0-9 -]+mark-down\n/)?.[1];
    expect(first(2, [10, 1])).toBe("haproxy-1");
    expect(first(10, [1, 2])).toBe("haproxy-1");
    expect(first(1, [10, 2])).toBe("haproxy-1");
  });

  it("adds no indirection for a single unit, or for services no peer runs", () => {
    expect(render(0, []).text).not.toContain("web_be");
    expect(
      render(0, [peer(1, [{ service_name: "other", service_host: "0.0.0.0", service_port: 80 }])])
        .text,
    ).not.toContain("web_be");
  });

  it("ignores a peer whose all_services cannot be read", () => {
    const broken = { ...peer(1), settings: { "private-address": "10.1.0.1", all_services: "{[" } };
    expect(render(0, [broken, peer(2)]).text).toContain(
      "server haproxy-2 10.1.0.2:81 check observe layer4 error-limit 1 on-error mark-down backup",
    );
  });

  it("active-active balances directly on every unit", () => {
    const { text, plan } = render(2, [peer(0), peer(1)], { peering_mode: "active-active" });
    expect(text).not.toContain("web_be");
    expect(text).toContain("server app-0-8000 10.0.0.5:8000");
    expect(plan.ports).toEqual([80]);
  });

  it("rejects an unknown peering_mode", () => {
    expect(() => render(0, [], { peering_mode: "both" })).toThrow(/peering_mode/);
  });
});
