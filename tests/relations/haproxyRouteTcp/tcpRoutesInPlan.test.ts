// haproxy-route-tcp through the whole planner, beside the HTTP side: the
// requirers' bags as their library writes them, the configuration the charm
// would serve run by a real haproxy (2.6 and 3.0), real TCP and TLS servers
// for the units, and real clients.
import { type AddressInfo, type Server, type Socket, connect, createServer } from "node:net";
import { connect as tlsConnect } from "node:tls";

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import type { HookInputs, RemoteApp, RemoteUnit } from "../../../src/juju/hookInputs.js";
import type { Plan } from "../../../src/plan/planConfiguration.js";
import { findFreePort } from "../../helpers/haproxyProcess.js";
import { haproxyVersions } from "../../helpers/haproxyVersions.js";
import { type PlanOnHaproxy, runPlanOnHaproxy } from "../../helpers/planOnHaproxy.js";
import { TestCa, makeCsrWithKey } from "../../helpers/testCa.js";

interface Unit {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** A unit that greets with its name and echoes what it gets. */
async function startUnit(name: string, host: string, port = 0): Promise<Unit> {
  const server: Server = createServer((socket: Socket) => {
    socket.on("error", () => undefined);
    socket.write(`${name}\n`);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return {
    host,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The first line a client reads through haproxy, or what ended the connection. */
function greeting(port: number, tls?: { servername: string; ca: string }): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls
      ? tlsConnect({ host: "127.0.0.1", port, servername: tls.servername, ca: tls.ca })
      : connect(port, "127.0.0.1");
    let data = "";
    socket.setTimeout(5000, () => socket.destroy());
    socket.on("data", (chunk: Buffer) => {
      data += chunk.toString();
      if (data.includes("\n")) {
        socket.destroy();
        resolve(data.split("\n")[0] ?? "");
      }
    });
    socket.on("error", (error: Error) => resolve(`error: ${error.message}`));
    socket.on("close", () => resolve(data === "" ? "closed" : data));
  });
}

const bag = (values: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(values).map(([key, value]) => [key, JSON.stringify(value)]));

function requirer(
  relationId: string,
  app: string,
  units: readonly Unit[],
  fields: Record<string, unknown>,
): { app: RemoteApp; units: RemoteUnit[] } {
  return {
    app: { relationId, app, settings: bag(fields) },
    units: units.map((unit, i) => ({
      relationId,
      unit: `${app}/${i}`,
      settings: bag({ address: unit.host }),
    })),
  };
}

let db: Unit;
let cache: Unit;
let ca: TestCa;
let served: PlanOnHaproxy | undefined;

beforeAll(async () => {
  db = await startUnit("db/0", "127.0.0.2");
  cache = await startUnit("cache/0", "127.0.0.3");
  ca = TestCa.create();
});
afterAll(async () => {
  await Promise.all([db.close(), cache.close()]);
  ca.cleanup();
});
afterEach(async () => {
  await served?.stop();
  served = undefined;
});

/** Plans with the given requirers, runs haproxy on the plan (80 moved to a free port). */
async function serve(
  binary: string,
  requirers: readonly { app: RemoteApp; units: RemoteUnit[] }[],
  extra: Partial<HookInputs> = {},
  config: Record<string, unknown> = {},
): Promise<Plan> {
  served = await runPlanOnHaproxy(
    {
      // Loopback units: the routes, not the relation policy, are what this is about.
      config: { trust_relation_data: true, ...config },
      haproxyRouteTcpApps: requirers.map((entry) => entry.app),
      haproxyRouteTcpUnits: requirers.flatMap((entry) => entry.units),
      ...extra,
    },
    { haproxyBinary: binary },
  );
  return served.plan;
}

describe.each(haproxyVersions)("haproxy-route-tcp in the plan, haproxy $version", ({ binary }) => {
  it("serves a plain TCP route beside the default HTTP service, and refuses one on port 80", async () => {
    const [dbPort, webPort] = [await findFreePort(), 80];
    const plan = await serve(binary, [
      requirer("haproxy-route-tcp:1", "db", [db], {
        port: dbPort,
        backend_port: db.port,
        enforce_tls: false,
      }),
      requirer("haproxy-route-tcp:2", "web", [cache], {
        port: webPort,
        backend_port: cache.port,
        enforce_tls: false,
      }),
    ]);
    expect(await greeting(dbPort)).toBe("db/0");
    expect(plan.tcpRoutes.map((request) => request.app)).toEqual(["db"]);
    expect(plan.skippedTcpApps.map(({ app, reason }) => [app, reason])).toEqual([
      ["web", expect.stringContaining("80")],
    ]);
    expect(plan.ports).toContain(dbPort);
  });

  it("routes by SNI, terminating TLS with the hostname's certificate from the certificates relation", async () => {
    const port = await findFreePort();
    // Termination: haproxy presents the hostname's certificate from the certificates relation.
    const { csr, key } = makeCsrWithKey("cache.example.com");
    const pem = ca.sign(csr) + ca.certificate + key;
    await serve(
      binary,
      [
        requirer("haproxy-route-tcp:3", "cache", [cache], {
          port,
          backend_port: cache.port,
          sni: "cache.example.com",
        }),
      ],
      { hostnameCertificates: { "cache.example.com": pem } },
    );
    expect(await greeting(port, { servername: "cache.example.com", ca: ca.certificate })).toBe(
      "cache/0",
    );
    // A client naming another SNI, or speaking plain TCP, is refused.
    expect(await greeting(port)).not.toBe("cache/0");
  });

  it("waits, serving nothing on the port, while a terminating route's certificate is on its way", async () => {
    const port = await findFreePort();
    const plan = await serve(binary, [
      requirer("haproxy-route-tcp:3", "cache", [cache], {
        port,
        backend_port: cache.port,
        sni: "cache.example.com",
      }),
    ]);
    expect(plan.notes.join("\n")).toContain("waits for a certificate for cache.example.com");
    expect(plan.ports).not.toContain(port);
    expect(await greeting(port)).toMatch(/^error|closed/);
  });
});
