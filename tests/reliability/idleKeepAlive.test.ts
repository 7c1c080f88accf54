// A keep-alive client that is idle while the charm reloads haproxy must not
// have its connection closed under it: a request it sends at that instant
// would get no answer. The old worker keeps the connection and answers the
// next request with `Connection: close` (option idle-close-on-response).
// Deterministic counterpart of `npm run bench:reload`'s keep-alive figures.
import { Agent, type IncomingMessage, request } from "node:http";

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { type Backend, startBackend } from "../helpers/httpBackends.js";
import { findFreePort } from "../helpers/haproxyProcess.js";
import { MemoryHookTools } from "../helpers/memoryHookTools.js";
import { type UnitSandbox, createUnitSandbox } from "../helpers/unitSandbox.js";

const RELATION = "reverseproxy:3";

let backends: Backend[] = [];
let sandbox: UnitSandbox;
let tools: MemoryHookTools;
let port: number;

interface Answer {
  readonly status: number;
  readonly connection: string | undefined;
  readonly reusedSocket: boolean;
}

function get(agent: Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/", agent }, (res: IncomingMessage) => {
      res.resume();
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          connection: res.headers.connection,
          reusedSocket: req.reusedSocket,
        }),
      );
    });
    req.setTimeout(5000, () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
    req.end();
  });
}

const services = (mode: string) =>
  `- {service_name: web, service_host: 127.0.0.1, service_port: ${port}, ` +
  `service_options: [${mode}]}\n`;

beforeAll(async () => {
  backends = [await startBackend("web/0"), await startBackend("web/1")];
});
afterAll(async () => {
  await Promise.all(backends.map((backend) => backend.close()));
});

beforeEach(async () => {
  port = await findFreePort();
  tools = new MemoryHookTools();
  sandbox = await createUnitSandbox(tools, { probePorts: [port] });
  tools.addUnit(RELATION, "web/0", {
    "private-address": "127.0.0.1",
    port: String(backends[0]?.port),
  });
});
afterEach(() => sandbox.cleanup());

async function reloadForNewUnit(): Promise<void> {
  const reloads = sandbox.haproxy.reloads;
  tools.addUnit(RELATION, "web/1", {
    "private-address": "127.0.0.1",
    port: String(backends[1]?.port),
  });
  await sandbox.hook("reverseproxy-relation-changed", {
    JUJU_RELATION_ID: RELATION,
    JUJU_REMOTE_UNIT: "web/1",
  });
  expect(sandbox.haproxy.reloads).toBe(reloads + 1);
  // Long enough for the old worker to have closed idle connections if it would.
  await new Promise((resolve) => setTimeout(resolve, 500));
}

describe("an idle keep-alive connection across a reload", () => {
  it("stays open and gets its next request answered, with Connection: close", async () => {
    tools.config = { services: services("mode http") };
    await sandbox.hook("config-changed");
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect(await get(agent)).toMatchObject({ status: 200, reusedSocket: false });
      await reloadForNewUnit();
      expect(await get(agent)).toEqual({ status: 200, connection: "close", reusedSocket: true });
      // The next request goes to the new worker on a new connection.
      expect(await get(agent)).toMatchObject({ status: 200, reusedSocket: false });
    } finally {
      agent.destroy();
    }
  });

  it("is closed by haproxy in TCP mode, where the option does not apply", async () => {
    // The same client through a TCP frontend: the old worker closes the idle
    // connection, which shows the HTTP case above is not luck of timing.
    tools.config = { services: services("mode tcp") };
    await sandbox.hook("config-changed");
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect(await get(agent)).toMatchObject({ status: 200 });
      await reloadForNewUnit();
      expect(await get(agent)).toMatchObject({ status: 200, reusedSocket: false });
    } finally {
      agent.destroy();
    }
  });
});
