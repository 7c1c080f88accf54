// When haproxy itself fails: a hook fired while it is stopped starts it, and
// a haproxy that cannot start (its port taken by another process) blocks the
// unit with haproxy's own reason instead of failing the hook forever.
import { type Server, createServer } from "node:net";

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { type HaproxyProcess, findFreePort } from "../helpers/haproxyProcess.js";
import { type Backend, httpGet, startBackend } from "../helpers/httpBackends.js";
import { MemoryHookTools } from "../helpers/memoryHookTools.js";
import { type UnitSandbox, createUnitSandbox } from "../helpers/unitSandbox.js";

const RELATION = "reverseproxy:4";

let sandbox: UnitSandbox;
let tools: MemoryHookTools;
let haproxy: HaproxyProcess;
let frontendPort: number;
let backend: Backend;
let squatter: Server | undefined;

const hook = (name: string, env: Record<string, string> = {}) => sandbox.hook(name, env);

/** Another process listening on haproxy's frontend port. */
async function takePort(port: number): Promise<void> {
  // The port can stay busy for a moment after haproxy exits (a parallel
  // test's client may hold it as its source port): try again briefly.
  for (let attempt = 1; ; attempt += 1) {
    const server = createServer((socket) => socket.destroy());
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, "127.0.0.1", resolve);
      });
      squatter = server;
      return;
    } catch (error) {
      if (attempt >= 50 || (error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function releasePort(): Promise<void> {
  const server = squatter;
  squatter = undefined;
  if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
}

async function served(): Promise<string> {
  const response = await httpGet(frontendPort);
  expect(response.status).toBe(200);
  return response.body;
}

beforeAll(async () => {
  backend = await startBackend("web/0");
});
afterAll(async () => {
  await backend.close();
});

beforeEach(async () => {
  frontendPort = await findFreePort();
  tools = new MemoryHookTools();
  tools.config = {
    services: `- service_name: web\n  service_host: 127.0.0.1\n  service_port: ${frontendPort}\n`,
  };
  tools.addUnit(RELATION, "web/0", { "private-address": "127.0.0.1", port: String(backend.port) });
  sandbox = await createUnitSandbox(tools, { probePorts: [frontendPort] });
  haproxy = sandbox.haproxy;
  await hook("config-changed");
  expect(await served()).toBe("web/0");
});
afterEach(async () => {
  await releasePort();
  await sandbox.cleanup();
});

describe("haproxy itself failing", () => {
  it("blocks with haproxy's reason while it cannot start, and clears once it can", async () => {
    await haproxy.stop();
    await takePort(frontendPort);

    await expect(hook("update-status")).resolves.toBeUndefined();
    expect(tools.status?.status).toBe("blocked");
    expect(tools.status?.message).toMatch(/^haproxy cannot start: .*Address already in use/);
    expect(tools.status?.message).toContain(`127.0.0.1:${frontendPort}`);
    expect(tools.logs).toContainEqual({
      level: "ERROR",
      message: expect.stringContaining("haproxy cannot start"),
    });
    expect(await haproxy.isRunning()).toBe(false);

    // Any other hook meets the same wall, and says so the same way.
    await expect(hook("config-changed")).resolves.toBeUndefined();
    expect(tools.status?.message).toMatch(/^haproxy cannot start: /);

    await releasePort();
    await hook("update-status");
    expect(await haproxy.isRunning()).toBe(true);
    expect(tools.status).toEqual({ status: "active", message: "Unit is ready" });
    expect(await served()).toBe("web/0");
  });

  it("blocks with haproxy's reason while it cannot load a reload, serving the old file, and clears once it can", async () => {
    // 192.0.2.1 (TEST-NET-1) is no address of this machine: `haproxy -c` passes, loading fails.
    const foreignPort = await findFreePort();
    const working = tools.config.services;
    tools.config = {
      services: `${working}- service_name: elsewhere\n  service_host: 192.0.2.1\n  service_port: ${foreignPort}\n`,
    };
    await expect(hook("config-changed")).resolves.toBeUndefined();
    expect(tools.status?.status).toBe("blocked");
    expect(tools.status?.message).toMatch(
      new RegExp(
        `^haproxy cannot reload: .*cannot bind socket .*\\[192\\.0\\.2\\.1:${foreignPort}\\]`,
      ),
    );
    expect(tools.logs).toContainEqual({
      level: "ERROR",
      message: expect.stringContaining("haproxy cannot reload"),
    });
    expect(await served()).toBe("web/0");

    // update-status tries the reload again, and says the same.
    const reloadsBefore = haproxy.reloads;
    await hook("update-status");
    expect(haproxy.reloads).toBe(reloadsBefore + 1);
    expect(tools.status?.message).toMatch(/^haproxy cannot reload: .*cannot bind socket/);

    tools.config = { services: working };
    await hook("config-changed");
    expect(tools.status).toEqual({ status: "active", message: "Unit is ready" });
    expect(await served()).toBe("web/0");
    expect(haproxy.starts).toBe(1);
  });

  it("clears the blocked status on update-status when haproxy was started by hand meanwhile", async () => {
    await haproxy.stop();
    await takePort(frontendPort);
    await hook("update-status");
    expect(tools.status?.status).toBe("blocked");

    await releasePort();
    await haproxy.start();
    const startsBefore = haproxy.starts;
    await hook("update-status");
    expect(tools.status).toEqual({ status: "active", message: "Unit is ready" });
    expect(haproxy.starts).toBe(startsBefore);
    expect(haproxy.reloads).toBe(0);
  });

  it.each([
    ["munin-relation-changed", { JUJU_RELATION_ID: "munin:3", JUJU_REMOTE_UNIT: "munin/0" }],
    ["reverseproxy-relation-joined", { JUJU_RELATION_ID: RELATION, JUJU_REMOTE_UNIT: "web/0" }],
    ["statistics-relation-created", { JUJU_RELATION_ID: "statistics:5" }],
  ])("starts a stopped haproxy on %s", async (name, env) => {
    await haproxy.stop();
    await hook(name, env);
    expect(await haproxy.isRunning()).toBe(true);
    expect(await served()).toBe("web/0");
    expect(tools.logs).toContainEqual({
      level: "WARNING",
      message: "haproxy is not running; starting it",
    });
  });

  it("leaves haproxy stopped on the stop and remove hooks", async () => {
    await hook("stop");
    expect(await haproxy.isRunning()).toBe(false);
    await hook("remove");
    expect(await haproxy.isRunning()).toBe(false);
  });
});
