// haproxy-route-tcp through the whole planner, beside the HTTP side: the
// requirers' bags as their library writes them, the configuration the charm
// would serve run by a real haproxy (2.6 and 3.0), real TCP and TLS servers
// for the units, and real clients.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { type AddressInfo, type Server, type Socket, connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { connect as tlsConnect } from "node:tls";

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import type { HookInputs, RemoteApp, RemoteUnit } from "../../../src/juju/hookInputs.js";
import type { Plan } from "../../../src/plan/planConfiguration.js";
import { renderHaproxyConfig } from "../../../src/render/renderHaproxyConfig.js";
import { HaproxyProcess, findFreePort } from "../../helpers/haproxyProcess.js";
import { haproxyVersions } from "../../helpers/haproxyVersions.js";
import { planFromInputs } from "../../helpers/planFromInputs.js";
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
let root: string | undefined;
let haproxy: HaproxyProcess | undefined;

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
  await haproxy?.stop();
  haproxy = undefined;
  if (root) await rm(root, { recursive: true, force: true });
  root = undefined;
});

/** Plans with the given requirers, runs haproxy on the plan (80 moved to a free port). */
async function serve(
  binary: string,
  requirers: readonly { app: RemoteApp; units: RemoteUnit[] }[],
  extra: Partial<HookInputs> = {},
  config: Record<string, unknown> = {},
): Promise<Plan> {
  root = await mkdtemp(path.join(tmpdir(), "tcp-plan-"));
  const paths = { haproxyLib: path.join(root, "lib"), haproxyRun: path.join(root, "run") };
  await mkdir(paths.haproxyRun, { recursive: true });
  const plan = planFromInputs(
    {
      unitName: "haproxy/0",
      privateAddress: "10.1.1.1",
      publicAddress: "10.1.1.1",
      // Loopback units: the routes, not the relation policy, are what this is about.
      config: { trust_relation_data: true, ...config },
      reverseproxy: [],
      peers: [],
      haproxyRouteTcpApps: requirers.map((entry) => entry.app),
      haproxyRouteTcpUnits: requirers.flatMap((entry) => entry.units),
      ...extra,
    },
    paths,
  );
  for (const file of plan.files) {
    await mkdir(path.dirname(file.path), { recursive: true });
    await writeFile(file.path, file.content, { mode: file.mode });
  }
  const http = await findFreePort();
  const text = renderHaproxyConfig(plan.config)
    .replaceAll("0.0.0.0:80\n", `127.0.0.1:${http}\n`)
    .replaceAll("0.0.0.0:", "127.0.0.1:");
  const configFile = path.join(root, "haproxy.cfg");
  await writeFile(configFile, text);
  haproxy = new HaproxyProcess({
    configFile,
    pidFile: path.join(root, "haproxy.pid"),
    haproxyBinary: binary,
  });
  await haproxy.start();
  return plan;
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
