// The peers section as haproxy.cfg prints it: `localpeer` in global, the
// `peers haproxy_peers` section between the userlists and the proxies, and a
// configuration haproxy 2.6 and 3.0 accept with a stick table that names it.
import { describe, expect, it } from "vitest";

import type { RemoteUnit } from "../../src/juju/hookInputs.js";
import type { GlobalSection, HaproxyConfig, ProxyStanza } from "../../src/model/types.js";
import { peersSection } from "../../src/relations/peer/peersSection.js";
import { renderHaproxyConfig } from "../../src/render/renderHaproxyConfig.js";
import { checkHaproxyConfig } from "../helpers/haproxyCheck.js";
import { haproxyVersions } from "../helpers/haproxyVersions.js";

const global: GlobalSection = {
  logs: ["stdout local0"],
  maxconn: 4096,
  user: "haproxy",
  group: "haproxy",
  quiet: false,
  hardStopAfter: "10m",
  spreadChecks: 0,
  dhParam: 2048,
  bindCiphers: "ECDHE+AESGCM",
  statsSockets: [],
  serverStateFile: "/run/haproxy/server-state",
};

const rateLimited: ProxyStanza = {
  frontend: { name: "haproxy-1-80", bind: "0.0.0.0:80", defaultBackend: "web", options: [] },
  backends: [
    {
      name: "web",
      options: [
        "stick-table type ip size 100k expire 60s store http_req_rate(60s) peers haproxy_peers",
        "http-request track-sc0 src",
        "http-request deny deny_status 429 if { sc_http_req_rate(0) gt 3 }",
      ],
      errorfiles: [],
      servers: [{ name: "web-0", address: "10.0.0.9", port: "8080", options: "" }],
    },
  ],
};

const peer = (unit: string, address: string): RemoteUnit => ({
  relationId: "peer:1",
  unit,
  settings: { "private-address": address },
});

function configFor(peers: HaproxyConfig["peers"]): HaproxyConfig {
  return {
    global,
    defaults: {
      log: "global",
      mode: "http",
      options: [],
      retries: 3,
      timeouts: ["client 50000", "connect 5000", "server 50000"],
    },
    userlists: [{ name: "stats", groups: [], users: ["admin insecure-password x"] }],
    ...(peers !== undefined && { peers }),
    proxies: [rateLimited],
  };
}

const threeUnits = peersSection(
  "haproxy/1",
  "10.0.0.2",
  [peer("haproxy/0", "10.0.0.1"), peer("haproxy/2", "fd00::3")],
  10000,
).section;

describe("the peers section in haproxy.cfg", () => {
  it("prints localpeer in global and the section before the proxies", () => {
    const text = renderHaproxyConfig(configFor(threeUnits));
    expect(text).toContain(
      "    server-state-file /run/haproxy/server-state\n    localpeer haproxy-1\n",
    );
    expect(text).toContain(
      `userlist stats
    user admin insecure-password x

peers haproxy_peers
    peer haproxy-0 10.0.0.1:10000
    peer haproxy-1 10.0.0.2:10000
    peer haproxy-2 fd00::3:10000

frontend haproxy-1-80
`,
    );
  });

  it("prints neither when the plan does not ask for it", () => {
    const text = renderHaproxyConfig({ ...configFor(undefined), proxies: [] });
    expect(text).not.toMatch(/peer/);
  });
});

describe.each(haproxyVersions)("haproxy $version", ({ binary }) => {
  it("accepts the section with a stick table that names it, one unit or several", async () => {
    for (const section of [threeUnits, peersSection("haproxy/0", "10.0.0.1", [], 10000).section]) {
      const result = await checkHaproxyConfig(renderHaproxyConfig(configFor(section)), binary);
      expect(result.output).not.toMatch(/\[(ALERT|WARNING)\]/);
      expect(result.ok, result.output).toBe(true);
    }
  });

  it("refuses the stick table when the section is left out: the plan must render both", async () => {
    const result = await checkHaproxyConfig(renderHaproxyConfig(configFor(undefined)), binary);
    expect(result.ok).toBe(false);
    expect(result.output).toContain("haproxy_peers");
  });
});
