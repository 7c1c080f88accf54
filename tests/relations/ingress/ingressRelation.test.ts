// The ingress relation at the hook layer: what the charm reads, serves on
// port 80 with a real haproxy, publishes as the leader, and how it treats
// bad data from a requirer.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { findFreePort } from "../../helpers/haproxyProcess.js";
import { type Backend, httpGet, startBackend } from "../../helpers/httpBackends.js";
import { MemoryHookTools } from "../../helpers/memoryHookTools.js";
import { type UnitSandbox, createUnitSandbox } from "../../helpers/unitSandbox.js";

let sandbox: UnitSandbox;
let tools: MemoryHookTools;
let backend: Backend;

const json = (values: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(values).map(([key, value]) => [key, JSON.stringify(value)]));

function relate(relationId: string, app: string, bag: Record<string, unknown>, units = 1): void {
  tools.setRemoteApp(relationId, app, json(bag));
  for (let i = 0; i < units; i++) {
    tools.addUnit(relationId, `${app}/${i}`, json({ host: "127.0.0.1" }));
  }
}

const hook = (name: string, relationId: string, app: string, unit?: string) =>
  sandbox.hook(name, {
    JUJU_RELATION_ID: relationId,
    JUJU_REMOTE_APP: app,
    ...(unit !== undefined && { JUJU_REMOTE_UNIT: unit }),
  });

const published = (relationId: string) => tools.localApp.get(relationId)?.ingress;

beforeAll(async () => {
  backend = await startBackend("shop/0");
});
afterAll(() => backend.close());

beforeEach(async () => {
  tools = new MemoryHookTools();
  tools.publicAddress = "203.0.113.10";
  // No classic service: port 80 belongs to ingress alone.
  tools.config = { services: "" };
  sandbox = await createUnitSandbox(tools, { probePorts: [80] });
});
afterEach(() => sandbox.cleanup());

describe("the ingress relation", () => {
  it("serves the application at /<model>-<name>/ and the leader publishes that URL", async () => {
    relate("ingress:3", "shop", { model: "prod", name: "shop", port: backend.port });
    await hook("ingress-relation-changed", "ingress:3", "shop", "shop/0");
    expect(tools.status).toEqual({ status: "active", message: "Unit is ready" });
    expect((await httpGet(80, "/prod-shop/")).body).toBe("shop/0");
    expect(published("ingress:3")).toBe(JSON.stringify({ url: "http://203.0.113.10/prod-shop/" }));
    expect([...tools.opened]).toContain(80);

    tools.config = { services: "", external_hostname: "shop.example.com" };
    await sandbox.hook("config-changed");
    expect(JSON.parse(published("ingress:3") ?? "")).toEqual({
      url: "http://shop.example.com/prod-shop/",
    });
  });

  it("stops routing the application when its relation goes, though nothing else is left to serve", async () => {
    relate("ingress:3", "shop", { model: "prod", name: "shop", port: backend.port });
    await hook("ingress-relation-changed", "ingress:3", "shop", "shop/0");
    expect((await httpGet(80, "/prod-shop/")).body).toBe("shop/0");

    tools.removeUnit("ingress:3", "shop/0");
    tools.endpoints.delete("ingress:3");
    tools.remoteApps.delete("ingress:3");
    await hook("ingress-relation-broken", "ingress:3", "shop");
    expect(tools.status).toEqual({ status: "waiting", message: "No services configured" });
    // haproxy runs on, serving nothing: the route and its port are gone.
    await expect(httpGet(80, "/prod-shop/")).rejects.toThrow();
    expect([...tools.opened]).not.toContain(80);
  });

  it("publishes nothing from a unit that is not the leader", async () => {
    tools.leader = false;
    relate("ingress:3", "shop", { model: "prod", name: "shop", port: backend.port });
    await hook("ingress-relation-changed", "ingress:3", "shop", "shop/0");
    expect((await httpGet(80, "/prod-shop/")).body).toBe("shop/0");
    expect(tools.localApp.get("ingress:3")).toBeUndefined();
  });

  it("publishes a URL only once every unit has written host, and clears it when the units leave", async () => {
    relate("ingress:3", "shop", { model: "prod", name: "shop", port: backend.port });
    tools.addUnit("ingress:3", "shop/1", {});
    await hook("ingress-relation-changed", "ingress:3", "shop", "shop/1");
    // shop/0 is served already; the URL waits for shop/1.
    expect((await httpGet(80, "/prod-shop/")).body).toBe("shop/0");
    expect(published("ingress:3")).toBeUndefined();

    tools.addUnit("ingress:3", "shop/1", json({ host: "127.0.0.1" }));
    await hook("ingress-relation-changed", "ingress:3", "shop", "shop/1");
    expect(published("ingress:3")).toContain("/prod-shop/");

    tools.removeUnit("ingress:3", "shop/0");
    tools.removeUnit("ingress:3", "shop/1");
    await sandbox.hook("ingress-relation-departed", {
      JUJU_RELATION_ID: "ingress:3",
      JUJU_REMOTE_APP: "shop",
      JUJU_REMOTE_UNIT: "shop/1",
      JUJU_DEPARTING_UNIT: "shop/1",
    });
    expect(published("ingress:3")).toBeUndefined();
  });

  it.each([
    ["a missing port", { model: "prod", name: "bad" }, "port: missing"],
    [
      "a port of the wrong JSON type",
      { model: "prod", name: "bad", port: "80" },
      'port: "80" is not an integer',
    ],
    [
      "a port outside 1-65535",
      { model: "prod", name: "bad", port: 70000 },
      "port: 70000 is outside 1-65535",
    ],
    [
      "a name outside [a-z0-9-]",
      { model: "prod", name: "Bad_App", port: 80 },
      'name: "Bad_App" is not 1-63 of [a-z0-9-]',
    ],
    [
      "a scheme it cannot speak",
      { model: "prod", name: "bad", port: 80, scheme: "ftp" },
      'scheme: "ftp" is not http, https or h2c',
    ],
    [
      "strip-prefix that is not a boolean",
      { model: "prod", name: "bad", port: 80, "strip-prefix": "yes" },
      "strip-prefix",
    ],
    [
      "a health check path with a space",
      { model: "prod", name: "bad", port: 80, healthcheck_params: { path: "/a b" } },
      "healthcheck_params.path",
    ],
  ])(
    "leaves out an application with %s, names it and the field, and serves the rest",
    async (_, bag, field) => {
      relate("ingress:3", "shop", { model: "prod", name: "shop", port: backend.port });
      relate("ingress:4", "bad", bag);
      await hook("ingress-relation-changed", "ingress:4", "bad", "bad/0");
      const warnings = tools.logs
        .filter((log) => log.level === "WARNING")
        .map((log) => log.message);
      expect(warnings).toEqual([
        expect.stringMatching(
          new RegExp(`^ingress application bad \\(ingress:4\\) not served: .*${escape(field)}`),
        ),
      ]);
      expect(tools.status).toEqual({
        status: "active",
        message:
          "Unit is ready; ignoring 1 application with invalid relation data (see juju debug-log)",
      });
      expect((await httpGet(80, "/prod-shop/")).body).toBe("shop/0");
      expect(published("ingress:4")).toBeUndefined();
    },
  );

  it("leaves out an application whose unit writes a host with a space or a line break", async () => {
    relate("ingress:3", "shop", { model: "prod", name: "shop", port: backend.port });
    relate("ingress:4", "bad", { model: "prod", name: "bad", port: 80 }, 0);
    tools.addUnit("ingress:4", "bad/0", json({ host: "10.0.0.1\n    server x 1.2.3.4:80" }));
    await hook("ingress-relation-changed", "ingress:4", "bad", "bad/0");
    expect(tools.logs.map((log) => log.message).join("\n")).toMatch(
      /ingress application bad \(ingress:4\) not served: bad\/0\.host: .* is not a host name/,
    );
    expect((await httpGet(80, "/prod-shop/")).body).toBe("shop/0");
    expect((await httpGet(80, "/prod-bad/")).status).toBe(503);
  });

  it("takes the URL back, and gives it again, in the classic relation's own hooks", async () => {
    relate("ingress:3", "shop", { model: "prod", name: "shop", port: backend.port });
    await hook("ingress-relation-changed", "ingress:3", "shop", "shop/0");
    expect(published("ingress:3")).toContain("/prod-shop/");

    // A reverseproxy unit's service takes the route's name: the application is no longer served.
    const port = await findFreePort();
    tools.addUnit("reverseproxy:1", "web/0", {
      "private-address": "127.0.0.1",
      services: `- {service_name: prod-shop, service_port: ${port}, servers: [[s0, 127.0.0.1, ${backend.port}]]}`,
    });
    const reverseproxy = (name: string, extra: Record<string, string> = {}) =>
      sandbox.hook(name, {
        JUJU_RELATION_ID: "reverseproxy:1",
        JUJU_REMOTE_UNIT: "web/0",
        ...extra,
      });
    await reverseproxy("reverseproxy-relation-changed");
    expect(tools.status?.message).toMatch(/ignoring 1 application/);
    expect(published("ingress:3") ?? "").toBe("");

    tools.removeUnit("reverseproxy:1", "web/0");
    await reverseproxy("reverseproxy-relation-departed", { JUJU_DEPARTING_UNIT: "web/0" });
    expect((await httpGet(80, "/prod-shop/")).body).toBe("shop/0");
    expect(published("ingress:3")).toBe(JSON.stringify({ url: "http://203.0.113.10/prod-shop/" }));
  });

  it("makes the same number of hook-tool calls for the 3rd and the 12th unit's join", async () => {
    relate("ingress:3", "shop", { model: "prod", name: "shop", port: backend.port }, 0);
    const joinCost = async (n: number) => {
      tools.addUnit("ingress:3", `shop/${n}`, json({ host: "127.0.0.1" }));
      const before = tools.calls;
      await hook("ingress-relation-changed", "ingress:3", "shop", `shop/${n}`);
      return tools.calls - before;
    };
    const costs: number[] = [];
    for (let n = 0; n < 12; n++) costs.push(await joinCost(n));
    expect(costs[11]).toBe(costs[2]);
    expect((await httpGet(80, "/prod-shop/")).body).toBe("shop/0");
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
