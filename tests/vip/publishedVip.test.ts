// With `vip` set, the relations advertise the VIP instead of the unit's own
// address: `public-address` on reverseproxy, `hostname` on website, and the
// ingress URL when no external_hostname is set. A value that does not parse
// advertises nothing new. The hook layer with a real haproxy.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { type Backend, startBackend } from "../helpers/httpBackends.js";
import { findFreePort } from "../helpers/haproxyProcess.js";
import { MemoryHookTools } from "../helpers/memoryHookTools.js";
import { type UnitSandbox, createUnitSandbox } from "../helpers/unitSandbox.js";

const VIP = "10.9.0.100";
let sandbox: UnitSandbox;
let tools: MemoryHookTools;
let backend: Backend;
let port: number;

beforeAll(async () => {
  backend = await startBackend("shop/0");
});
afterAll(() => backend.close());
afterEach(() => sandbox.cleanup());

describe("classic relations", () => {
  beforeEach(async () => {
    port = await findFreePort();
    tools = new MemoryHookTools();
    tools.privateAddress = "127.0.0.1";
    tools.config = {
      services: `- {service_name: web, service_host: 0.0.0.0, service_port: ${port}}`,
      vip: VIP,
    };
    tools.addUnit("reverseproxy:1", "shop/0", {
      "private-address": "127.0.0.1",
      port: String(backend.port),
    });
    tools.addUnit("website:3", "apache2/0", { "private-address": "10.9.0.1", service_name: "web" });
    sandbox = await createUnitSandbox(tools, { probePorts: [port] });
  });

  it("advertises the VIP on reverseproxy and website", async () => {
    await sandbox.hook("config-changed");
    expect(tools.status).toEqual({ status: "active", message: "Unit is ready" });
    expect(tools.local.get("reverseproxy:1")?.["public-address"]).toBe(VIP);
    expect(tools.local.get("website:3")).toMatchObject({ hostname: VIP, port: String(port) });
  });

  it("goes back to the unit's addresses when vip is emptied or does not parse", async () => {
    for (const vip of ["", "not-an-address"]) {
      tools.config = { ...tools.config, vip };
      await sandbox.hook("config-changed");
      expect(tools.local.get("reverseproxy:1")?.["public-address"]).toBe(tools.publicAddress);
      expect(tools.local.get("website:3")).toMatchObject({ hostname: "127.0.0.1" });
    }
  });
});

describe("ingress", () => {
  beforeEach(async () => {
    tools = new MemoryHookTools();
    tools.config = { services: "", vip: VIP };
    const json = (values: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(values).map(([k, v]) => [k, JSON.stringify(v)]));
    tools.setRemoteApp(
      "ingress:3",
      "shop",
      json({ model: "prod", name: "shop", port: backend.port }),
    );
    tools.addUnit("ingress:3", "shop/0", json({ host: "127.0.0.1" }));
    sandbox = await createUnitSandbox(tools, { probePorts: [80] });
  });

  it("publishes the URL on the VIP, unless external_hostname is set", async () => {
    await sandbox.hook("config-changed");
    expect(JSON.parse(tools.localApp.get("ingress:3")?.ingress ?? "")).toEqual({
      url: `http://${VIP}/prod-shop/`,
    });
    tools.config = { ...tools.config, external_hostname: "shop.example.com" };
    await sandbox.hook("config-changed");
    expect(JSON.parse(tools.localApp.get("ingress:3")?.ingress ?? "")).toEqual({
      url: "http://shop.example.com/prod-shop/",
    });
  });
});
