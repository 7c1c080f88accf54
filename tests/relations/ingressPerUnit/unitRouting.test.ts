// Ingress-per-unit as haproxy serves it: the planner's configuration run by
// real haproxy 2.6 and 3.0 (ports 80 and 443 moved to free loopback ports),
// real HTTP, HTTPS and TCP servers standing for the requirer's units, real
// clients. Each unit is reached at its own path only: unit 1's requests never
// reach unit 10, nor the reverse.
import {
  type IncomingHttpHeaders,
  type Server,
  type ServerResponse,
  createServer,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { type AddressInfo, connect, createServer as createTcpServer } from "node:net";

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import type { HookInputs, RemoteApp, RemoteUnit } from "../../../src/juju/hookInputs.js";
import type { Plan } from "../../../src/plan/planConfiguration.js";
import { findFreePort } from "../../helpers/haproxyProcess.js";
import { haproxyVersions } from "../../helpers/haproxyVersions.js";
import { httpAsk } from "../../helpers/httpBackends.js";
import { type PlanOnHaproxy, runPlanOnHaproxy } from "../../helpers/planOnHaproxy.js";
import { TestCa, makeCsrWithKey } from "../../helpers/testCa.js";

/** A requirer unit: answers with its name and the path that reached it. */
interface Upstream {
  readonly unit: string;
  readonly port: number;
  readonly seen: { readonly path: string; readonly headers: IncomingHttpHeaders }[];
  close(): Promise<void>;
}

async function listening(server: Server, unit: string, seen: Upstream["seen"]): Promise<Upstream> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    unit,
    port: (server.address() as AddressInfo).port,
    seen,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function answer(unit: string, seen: Upstream["seen"]) {
  return (req: { url?: string; headers: IncomingHttpHeaders }, res: ServerResponse) => {
    seen.push({ path: req.url ?? "", headers: req.headers });
    res.writeHead(200, { "content-type": "text/plain", connection: "close" });
    res.end(`${unit} ${req.url ?? ""}`);
  };
}

function startUpstream(unit: string): Promise<Upstream> {
  const seen: Upstream["seen"] = [];
  return listening(createServer(answer(unit, seen)), unit, seen);
}

function startTlsUpstream(unit: string, tls: { cert: string; key: string }): Promise<Upstream> {
  const seen: Upstream["seen"] = [];
  return listening(createHttpsServer(tls, answer(unit, seen)) as unknown as Server, unit, seen);
}

/** A TCP unit: greets every connection with its name, then echoes. */
async function startTcpUpstream(unit: string): Promise<{ port: number; close(): Promise<void> }> {
  const server = createTcpServer((socket) => {
    socket.write(`${unit}\n`);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Connects to 127.0.0.1:<port>, sends `text`, and returns what came back once it has echoed. */
function tcpExchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let received = "";
    socket.setEncoding("utf8");
    socket.setTimeout(5000, () => socket.destroy(new Error("no answer")));
    socket.on("connect", () => socket.write(text));
    socket.on("data", (chunk: string) => {
      received += chunk;
      if (received.endsWith(text)) {
        socket.end();
        resolve(received);
      }
    });
    socket.on("error", reject);
  });
}

/** A unit's bag as the library writes it: plain strings. */
function unit(
  name: string,
  port: number,
  extra: Record<string, string> = {},
  relationId = "ingress-per-unit:1",
): RemoteUnit {
  return {
    relationId,
    unit: name,
    settings: { model: "m", name, host: "127.0.0.1", port: String(port), ...extra },
  };
}

const get = (port: number, urlPath: string, host = "localhost") => httpAsk(port, urlPath, { host });

let one: Upstream;
let ten: Upstream;
let secure: Upstream;
let db: Awaited<ReturnType<typeof startTcpUpstream>>;
let ca: TestCa;
let served: PlanOnHaproxy | undefined;
let httpPort: number;
let httpsPort: number;
let tcpPort: number;

beforeAll(async () => {
  ca = TestCa.create();
  const { csr, key } = makeCsrWithKey("unit.internal");
  one = await startUpstream("app/1");
  ten = await startUpstream("app/10");
  secure = await startTlsUpstream("app/2", { cert: ca.sign(csr), key });
  db = await startTcpUpstream("db/0");
});

afterAll(async () => {
  await Promise.all([one, ten, secure, db].map((upstream) => upstream.close()));
  ca.cleanup();
});

afterEach(async () => {
  await served?.stop();
  served = undefined;
});

describe.each(haproxyVersions)("ingress-per-unit through haproxy $version", ({ binary }) => {
  /** Plans, renders and runs haproxy with 80 and 443 moved to free loopback ports. */
  async function serve(
    config: Record<string, unknown>,
    units: readonly RemoteUnit[],
    extra: Partial<HookInputs> = {},
  ): Promise<Plan> {
    tcpPort = await findFreePort();
    served = await runPlanOnHaproxy(
      {
        privateAddress: "127.0.0.1",
        publicAddress: "127.0.0.1",
        // The units listen on loopback: routing, not the relation data policy, is tested here.
        config: {
          services: "",
          trust_relation_data: true,
          ingress_per_unit_tcp_base_port: tcpPort,
          ...config,
        },
        ingressPerUnitUnits: units,
        ...extra,
      },
      { haproxyBinary: binary },
    );
    ({ httpPort, httpsPort } = served);
    return served.plan;
  }

  it("sends each unit its own path and what is below it, never another unit's", async () => {
    const [oneBefore, tenBefore] = [one.seen.length, ten.seen.length];
    await serve({}, [unit("app/1", one.port), unit("app/10", ten.port)]);
    expect((await get(httpPort, "/m-app-1")).body).toBe("app/1 /m-app-1");
    expect((await get(httpPort, "/m-app-1/x?y=1")).body).toBe("app/1 /m-app-1/x?y=1");
    expect((await get(httpPort, "/m-app-10")).body).toBe("app/10 /m-app-10");
    expect((await get(httpPort, "/m-app-10/x")).body).toBe("app/10 /m-app-10/x");
    // Many requests, each answered by the unit its path names.
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => get(httpPort, i % 2 ? "/m-app-1/a" : "/m-app-10/a")),
    );
    expect(answers.map((a) => a.body)).toEqual(
      Array.from({ length: 8 }, (_, i) => (i % 2 ? "app/1 /m-app-1/a" : "app/10 /m-app-10/a")),
    );
    const toOne = one.seen.slice(oneBefore).map((seen) => seen.path);
    const toTen = ten.seen.slice(tenBefore).map((seen) => seen.path);
    expect(toOne.length).toBe(6);
    expect(toTen.length).toBe(6);
    expect(toOne.filter((seen) => seen.startsWith("/m-app-10"))).toEqual([]);
    expect(toTen.filter((seen) => !seen.startsWith("/m-app-10"))).toEqual([]);
    // Neither a longer name that starts with the path nor the application's own path is a route.
    expect((await get(httpPort, "/m-app-100")).status).toBe(503);
    expect((await get(httpPort, "/m-app")).status).toBe(503);
  });

  it("strips the unit's path when asked, and tells the unit what it was", async () => {
    await serve({}, [
      unit("app/1", one.port, { "strip-prefix": "true" }),
      unit("app/10", ten.port),
    ]);
    expect((await get(httpPort, "/m-app-1/v1/items?x=2")).body).toBe("app/1 /v1/items?x=2");
    expect((await get(httpPort, "/m-app-1")).body).toBe("app/1 /");
    expect(one.seen.at(-1)?.headers["x-forwarded-prefix"]).toBe("/m-app-1");
    expect(one.seen.at(-1)?.headers["x-forwarded-for"]).toBe("127.0.0.1");
    // Only the unit that asked.
    expect((await get(httpPort, "/m-app-10/v1")).body).toBe("app/10 /m-app-10/v1");
  });

  it("speaks TLS to a unit with scheme https", async () => {
    await serve({}, [unit("app/2", secure.port, { scheme: "https" })]);
    expect(await get(httpPort, "/m-app-2/x")).toMatchObject({
      status: 200,
      body: "app/2 /m-app-2/x",
    });
  });

  it("answers only for external_hostname, serves HTTPS with its certificate, redirects when asked", async () => {
    const { csr, key } = makeCsrWithKey("shop.example.com");
    await serve(
      { external_hostname: "shop.example.com" },
      [unit("app/1", one.port, { "redirect-https": "true" }), unit("app/10", ten.port)],
      { relationCertificatePem: ca.sign(csr) + ca.certificate + key },
    );
    const tls = { servername: "shop.example.com", ca: ca.certificate };
    expect(await httpAsk(httpsPort, "/m-app-1/x", { host: "shop.example.com", tls })).toMatchObject(
      { status: 200, body: "app/1 /m-app-1/x" },
    );
    expect(one.seen.at(-1)?.headers["x-forwarded-proto"]).toBe("https");
    const plain = await get(httpPort, "/m-app-1/x?y=1", "shop.example.com");
    expect(plain.status).toBe(308);
    expect(plain.headers.location).toBe("https://shop.example.com/m-app-1/x?y=1");
    // A unit that did not ask is served over plain HTTP too.
    expect((await get(httpPort, "/m-app-10", "shop.example.com")).body).toBe("app/10 /m-app-10");
    expect((await get(httpPort, "/m-app-10", "other.example.com")).status).toBe(503);
  });

  it("gives a TCP unit a listener of its own on the base port", async () => {
    const plan = await serve({}, [unit("db/0", db.port, { mode: "tcp" }), unit("app/1", one.port)]);
    expect(plan.ingressPerUnit.served.map((s) => [s.request.unit, s.tcpPort])).toEqual([
      ["app/1", undefined],
      ["db/0", tcpPort],
    ]);
    expect(plan.ports).toContain(tcpPort);
    expect(await tcpExchange(tcpPort, "ping\n")).toBe("db/0\nping\n");
    // Its HTTP neighbour is still routed by path.
    expect((await get(httpPort, "/m-app-1")).body).toBe("app/1 /m-app-1");
  });

  it("leaves out a unit whose path an ingress application already has, and says why", async () => {
    const ingressApp: RemoteApp = {
      relationId: "ingress:5",
      app: "app-1",
      settings: { model: '"m"', name: '"app-1"', port: String(ten.port) },
    };
    const plan = await serve({}, [unit("app/1", one.port)], {
      ingressApps: [ingressApp],
      ingressUnits: [
        { relationId: "ingress:5", unit: "app-1/0", settings: { host: '"127.0.0.1"' } },
      ],
    });
    expect(plan.ingressPerUnit.skipped).toEqual([
      expect.objectContaining({
        unit: "app/1",
        reason: "name: the path /m-app-1 is already an ingress route",
        invalid: true,
      }),
    ]);
    expect((await get(httpPort, "/m-app-1/x")).body).toBe("app/10 /m-app-1/x");
  });
});
