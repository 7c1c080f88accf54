// What `juju debug-log` says of haproxy-route applications the charm leaves
// out: bad data a WARNING naming the application, its relation and the field;
// data not written yet an INFO line. The rest is served by the real haproxy
// the hook runs.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { type Backend, httpAsk, startBackend } from "../helpers/httpBackends.js";
import { MemoryHookTools } from "../helpers/memoryHookTools.js";
import { type UnitSandbox, createUnitSandbox } from "../helpers/unitSandbox.js";

// The unit's own address: a co-located application is served there.
const OWN_ADDRESS = "127.0.0.4";

let sandbox: UnitSandbox;
let tools: MemoryHookTools;
let backend: Backend;

const json = (values: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(values).map(([key, value]) => [key, JSON.stringify(value)]));

function relate(relationId: string, app: string, bag: Record<string, unknown>, address: string) {
  tools.setRemoteApp(relationId, app, json(bag));
  tools.addUnit(relationId, `${app}/0`, json({ address }));
}

const logged = (level: string) =>
  tools.logs.filter((log) => log.level === level).map((log) => log.message);

beforeAll(async () => {
  backend = await startBackend("shop/0", OWN_ADDRESS);
});
afterAll(() => backend.close());

beforeEach(async () => {
  tools = new MemoryHookTools();
  tools.privateAddress = OWN_ADDRESS;
  tools.publicAddress = OWN_ADDRESS;
  tools.config = { services: "" };
  sandbox = await createUnitSandbox(tools, { probePorts: [80] });
});
afterEach(() => sandbox.cleanup());

describe("haproxy-route applications left out", () => {
  it("are each named in a WARNING with the field, and the good one is served", async () => {
    const route = { ports: [backend.port], allow_http: true };
    relate(
      "haproxy-route:1",
      "shop",
      { ...route, service: "shop", hostname: "shop.example.com" },
      OWN_ADDRESS,
    );
    relate(
      "haproxy-route:2",
      "leak",
      {
        ...route,
        service: "leak",
        hostname: "leak.example.com",
        rewrites: [{ method: "set-header", header: "X-Leak", expression: "%[env(HOME)]" }],
      },
      OWN_ADDRESS,
    );
    relate(
      "haproxy-route:3",
      "local",
      { ...route, service: "local", hostname: "local.example.com" },
      "127.0.0.1",
    );
    tools.setRemoteApp("haproxy-route:4", "later", {});
    await sandbox.hook("haproxy-route-relation-changed", {
      JUJU_RELATION_ID: "haproxy-route:3",
      JUJU_REMOTE_APP: "local",
      JUJU_REMOTE_UNIT: "local/0",
    });

    expect(logged("WARNING")).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^haproxy-route application leak \(haproxy-route:2\) not served: rewrites\[0\]\.expression: .*environment/,
        ),
        expect.stringMatching(
          /^haproxy-route application local \(haproxy-route:3\) not served: local\/0\.address: "127\.0\.0\.1" is a loopback address/,
        ),
      ]),
    );
    expect(logged("WARNING").join("\n")).not.toContain("later");
    expect(logged("INFO")).toContain(
      "haproxy-route application later (haproxy-route:4) not served: service: not written yet",
    );
    expect((await httpAsk(80, "/", { host: "shop.example.com" })).body).toBe("shop/0");
    expect((await httpAsk(80, "/", { host: "leak.example.com" })).status).toBe(503);
  });
});
