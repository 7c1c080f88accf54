// A keep-alive client that is idle while the charm reloads haproxy must not
// have its connection closed under it: a request it sends at that instant
// would get no answer. The old worker keeps the connection and answers the
// next request with `Connection: close` (option idle-close-on-response).
// Deterministic counterpart of `npm run bench:reload`'s keep-alive figures.
import { Agent, type IncomingMessage, request } from "node:http";
import type { Socket } from "node:net";

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { type Backend, startBackend } from "../helpers/httpBackends.js";
import { findFreePort } from "../helpers/haproxyProcess.js";
import { MemoryHookTools } from "../helpers/memoryHookTools.js";
import { type UnitSandbox, createUnitSandbox } from "../helpers/unitSandbox.js";

const RELATION = "reverseproxy:3";
// Enough connections that haproxy spreads them over all its threads, each of
// which closes its own idle connections when the old worker stops.
const CONTROL_CONNECTIONS = 4;
const CLOSE_LIMIT_MS = 15_000;

let backends: Backend[] = [];
let sandbox: UnitSandbox;
let tools: MemoryHookTools;
/** The charm's default: the option on. */
let keepPort: number;
/** The control: the operator turned the option off. */
let closePort: number;

interface Answer {
  readonly status: number;
  readonly connection: string | undefined;
  readonly reusedSocket: boolean;
  readonly socket: Socket;
}

function get(agent: Agent, port: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/", agent }, (res: IncomingMessage) => {
      // Taken now: the agent detaches the socket from the response at its end.
      const socket = res.socket;
      res.resume();
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          connection: res.headers.connection,
          reusedSocket: req.reusedSocket,
          socket,
        }),
      );
    });
    req.setTimeout(5000, () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
    req.end();
  });
}

/** Resolves once the peer has closed `socket`; fails after CLOSE_LIMIT_MS. */
function closedByPeer(socket: Socket, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) return resolve();
    const timer = setTimeout(
      () => reject(new Error(`${what} still open after ${CLOSE_LIMIT_MS} ms`)),
      CLOSE_LIMIT_MS,
    );
    socket.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

const keepAliveAgent = () => new Agent({ keepAlive: true, maxSockets: 1 });

beforeAll(async () => {
  backends = [await startBackend("web/0"), await startBackend("web/1")];
});
afterAll(async () => {
  await Promise.all(backends.map((backend) => backend.close()));
});

beforeEach(async () => {
  keepPort = await findFreePort();
  closePort = await findFreePort();
  tools = new MemoryHookTools();
  sandbox = await createUnitSandbox(tools, { probePorts: [keepPort, closePort] });
  tools.config = {
    services:
      `- {service_name: keep, service_host: 127.0.0.1, service_port: ${keepPort}, ` +
      `service_options: [mode http]}\n` +
      `- {service_name: close, service_host: 127.0.0.1, service_port: ${closePort}, ` +
      `service_options: [mode http, no option idle-close-on-response]}\n`,
  };
  tools.addUnit(RELATION, "web/0", {
    "private-address": "127.0.0.1",
    port: String(backends[0]?.port),
    sitenames: "keep close",
  });
  await sandbox.hook("config-changed");
});
afterEach(() => sandbox.cleanup());

// A unit joining changes servers without a reload now; a global setting still reloads.
async function reloadForConfigChange(): Promise<void> {
  const reloads = sandbox.haproxy.reloads;
  tools.config = { ...tools.config, global_maxconn: 4000 };
  await sandbox.hook("config-changed");
  expect(sandbox.haproxy.reloads).toBe(reloads + 1);
}

/** Idle keep-alive connections to the control service, one per agent. */
async function controlConnections(): Promise<{ agents: Agent[]; sockets: Socket[] }> {
  const agents = Array.from({ length: CONTROL_CONNECTIONS }, keepAliveAgent);
  const answers = await Promise.all(agents.map((agent) => get(agent, closePort)));
  for (const answer of answers) expect(answer).toMatchObject({ status: 200, reusedSocket: false });
  return { agents, sockets: answers.map((answer) => answer.socket) };
}

describe("an idle keep-alive connection across a reload", () => {
  it("is closed by the old worker when the service turns the option off (the control)", async () => {
    const { agents, sockets } = await controlConnections();
    try {
      await reloadForConfigChange();
      await Promise.all(sockets.map((socket) => closedByPeer(socket, "a control connection")));
      expect(await get(agents[0] as Agent, closePort)).toMatchObject({
        status: 200,
        reusedSocket: false,
      });
    } finally {
      for (const agent of agents) agent.destroy();
    }
  });

  it("stays open and gets its next request answered, with Connection: close", async () => {
    const agent = keepAliveAgent();
    const control = await controlConnections();
    try {
      const first = await get(agent, keepPort);
      expect(first).toMatchObject({ status: 200, reusedSocket: false });
      await reloadForConfigChange();
      // Once the old worker has closed the control's idle connections, it
      // would have closed this one too without the option.
      await Promise.all(
        control.sockets.map((socket) => closedByPeer(socket, "a control connection")),
      );
      expect(first.socket.destroyed).toBe(false);
      expect(await get(agent, keepPort)).toMatchObject({
        status: 200,
        connection: "close",
        reusedSocket: true,
      });
      await closedByPeer(first.socket, "the answered connection");
      // The next request goes to the new worker on a new connection.
      expect(await get(agent, keepPort)).toMatchObject({ status: 200, reusedSocket: false });
    } finally {
      agent.destroy();
      for (const controlAgent of control.agents) controlAgent.destroy();
    }
  });
});
