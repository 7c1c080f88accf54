// `is-proxy` front ends on the website relation, through the planner: which
// services get `option forwardfor`, and haproxy accepting what is rendered.
import yaml from "js-yaml";
import { describe, expect, it } from "vitest";

import type { HookInputs, RemoteUnit } from "../../../src/juju/hookInputs.js";
import { planFromInputs } from "../../helpers/planFromInputs.js";
import { renderHaproxyConfig } from "../../../src/render/renderHaproxyConfig.js";
import { checkHaproxyConfig } from "../../helpers/haproxyCheck.js";

const paths = { haproxyLib: "/var/lib/haproxy", haproxyRun: "/run/haproxy" };

const services = yaml.dump([
  { service_name: "shop", service_host: "0.0.0.0", service_port: 8080, service_options: [] },
  { service_name: "blog", service_host: "0.0.0.0", service_port: 8090 },
  {
    service_name: "db",
    service_host: "0.0.0.0",
    service_port: 5432,
    service_options: ["mode tcp", "option tcplog"],
  },
]);

const backendUnits: RemoteUnit[] = ["shop", "blog", "db"].map((name, i) => ({
  relationId: "reverseproxy:1",
  unit: `${name}/0`,
  settings: { "private-address": `10.0.0.${10 + i}`, port: "8000", service_name: name },
}));

const frontEnd = (settings: Record<string, string>, n = 0): RemoteUnit => ({
  relationId: "website:2",
  unit: `apache2/${n}`,
  settings: { "private-address": `10.0.1.${n}`, ...settings },
});

function plan(
  website: RemoteUnit[],
  config: Record<string, unknown> = {},
  peers: RemoteUnit[] = [],
): { text: string; forwarded: string[] } {
  const inputs: HookInputs = {
    unitName: "haproxy/0",
    privateAddress: "10.1.0.0",
    publicAddress: "203.0.113.1",
    config: { services, peering_mode: "active-active", ...config },
    reverseproxy: backendUnits,
    peers,
    website,
  };
  const result = planFromInputs(inputs, paths);
  const forwarded = result.config.proxies
    .flatMap((proxy) => proxy.backends)
    .filter((backend) => backend.options.some((option) => /^option forwardfor/.test(option)))
    .map((backend) => backend.name);
  return { text: renderHaproxyConfig(result.config), forwarded };
}

describe("a proxy front end on the website relation", () => {
  it("changes nothing while no front end says it is a proxy", () => {
    expect(plan([]).forwarded).toEqual([]);
    expect(plan([frontEnd({})]).forwarded).toEqual([]);
    expect(plan([frontEnd({ "is-proxy": "false" })]).forwarded).toEqual([]);
  });

  it("gives every HTTP service it is served (all of them) option forwardfor, which haproxy accepts", async () => {
    const { text, forwarded } = plan([frontEnd({ "is-proxy": "true" })]);
    expect(forwarded).toEqual(["blog", "shop"]);
    expect(text).toContain("backend shop\n    option forwardfor\n");
    const check = await checkHaproxyConfig(text);
    expect(check.output).not.toMatch(/forwardfor/);
    expect(check.ok).toBe(true);
  });

  it("gives it to the one service a front end names in service_name", () => {
    expect(plan([frontEnd({ "is-proxy": "1", service_name: "blog" })]).forwarded).toEqual(["blog"]);
    expect(plan([frontEnd({ "is-proxy": "1", service_name: "nonesuch" })]).forwarded).toEqual([]);
    // A proxy naming one service, a plain front end naming none: only the proxy's.
    const both = plan([frontEnd({ "is-proxy": "yes", service_name: "shop" }), frontEnd({}, 1)]);
    expect(both.forwarded).toEqual(["shop"]);
  });

  it("leaves a service alone whose operator already set option forwardfor", async () => {
    const own = yaml.dump([
      {
        service_name: "shop",
        service_port: 8080,
        service_options: ["option forwardfor if-none"],
      },
      { service_name: "blog", service_port: 8090 },
    ]);
    const { text, forwarded } = plan([frontEnd({ "is-proxy": "true" })], { services: own });
    expect(forwarded).toEqual(["blog", "shop"]);
    expect(text).toContain("backend shop\n    option forwardfor if-none\n    server");
    expect(text).toContain("backend blog\n    option forwardfor\n    server");
    expect((await checkHaproxyConfig(text)).ok).toBe(true);
  });

  it("does not add one beside a `no option forwardfor` (which haproxy itself refuses)", () => {
    const own = yaml.dump([
      { service_name: "blog", service_port: 8090, service_options: ["no option forwardfor"] },
    ]);
    const { text } = plan([frontEnd({ "is-proxy": "true" })], { services: own });
    expect(text.match(/option forwardfor/g)).toEqual(["option forwardfor"]);
  });

  it("adds nothing when default_options already decides", () => {
    const config = { default_options: "httplog, dontlognull, forwardfor except 127.0.0.0/8" };
    const { text, forwarded } = plan([frontEnd({ "is-proxy": "true" })], config);
    expect(forwarded).toEqual([]);
    expect(text.match(/forwardfor/g)).toHaveLength(1);
  });

  it("in active-passive peering, forwards on the real service (<name>_be), not the tcp indirection", async () => {
    const peer: RemoteUnit = {
      relationId: "peer:0",
      unit: "haproxy/1",
      settings: {
        "private-address": "10.1.0.1",
        all_services: yaml.dump([
          { service_name: "shop", service_host: "0.0.0.0", service_port: 8080 },
        ]),
      },
    };
    const { text, forwarded } = plan(
      [frontEnd({ "is-proxy": "true" })],
      { peering_mode: "active-passive" },
      [peer],
    );
    expect(forwarded).toEqual(["blog", "shop_be"]);
    expect(text).toMatch(/^backend shop\n {4}mode tcp\n/m);
    const check = await checkHaproxyConfig(text);
    expect(check.output).not.toMatch(/forwardfor/);
    expect(check.ok).toBe(true);
  });
});
