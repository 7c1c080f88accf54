// A haproxy-route request's backend as haproxy runs it: the rendered lines in
// a small configuration (one frontend whose default backend is the route's),
// a real haproxy of each version, real HTTP and TLS servers standing for the
// requirer's units that record what reaches them, and real clients.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import {
  Agent,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
  type Server,
  createServer,
  request as httpRequest,
} from "node:http";
import { createServer as createHttpsServer, request as httpsRequest } from "node:https";
import { type AddressInfo, connect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import {
  type RouteBackend,
  type RouteBackendContext,
  haproxyRouteBackend,
} from "../../../src/relations/haproxyRoute/haproxyRouteBackend.js";
import type { HaproxyRouteRequest } from "../../../src/relations/haproxyRoute/haproxyRouteRequest.js";
import { makeCertificate } from "../../helpers/certificates.js";
import { eventually } from "../../helpers/eventually.js";
import { checkHaproxyConfig } from "../../helpers/haproxyCheck.js";
import { HaproxyProcess, findFreePort } from "../../helpers/haproxyProcess.js";
import { type HaproxyVersion, haproxyVersions } from "../../helpers/haproxyVersions.js";
import { TestCa, makeCsrWithKey } from "../../helpers/testCa.js";

// ---- the requirer's units ----

interface Seen {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** haproxy's end of the connection: one port per server-side connection. */
  readonly clientPort: number;
}

/** A unit: answers `<name>` (and records the request); a few paths behave differently. */
interface Unit {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly seen: Seen[];
  /** What /health answers. */
  healthStatus: number;
  /** Answers every /hold request held so far. */
  release(): void;
  close(): Promise<void>;
}

const BIG = 300_000;

interface UnitOptions {
  readonly host?: string;
  readonly port?: number;
  /** Serve TLS with this key and certificate. */
  readonly tls?: { readonly key: string; readonly cert: string };
}

async function startUnit(name: string, options: UnitOptions = {}): Promise<Unit> {
  const held: ServerResponse[] = [];
  const unit: Omit<Unit, "port"> & { port: number } = {
    name,
    host: options.host ?? "127.0.0.1",
    port: 0,
    seen: [],
    healthStatus: 200,
    release: () => held.splice(0).forEach((res) => res.end(name)),
    close: () => Promise.resolve(),
  };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const seen = {
      method: req.method ?? "",
      path: req.url ?? "",
      headers: req.headers,
      clientPort: req.socket.remotePort ?? 0,
    };
    unit.seen.push(seen);
    req.resume();
    req.on("end", () => {
      if (seen.path === "/health") {
        res.writeHead(unit.healthStatus).end();
      } else if (seen.path === "/hold") {
        res.writeHead(200, { "content-type": "text/plain" });
        held.push(res);
      } else if (seen.path === "/slow") {
        setTimeout(() => res.writeHead(200).end(name), 3000);
      } else if (seen.path === "/big") {
        res.writeHead(200, { "content-type": "application/octet-stream" }).end(Buffer.alloc(BIG));
      } else {
        res.writeHead(200, { "content-type": "text/plain" }).end(name);
      }
    });
  };
  const server: Server = options.tls
    ? createHttpsServer(options.tls, handle)
    : createServer(handle);
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, unit.host, resolve));
  unit.port = (server.address() as AddressInfo).port;
  unit.close = () => {
    unit.release();
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  return unit;
}

/** Units of one application: one port, each at its own loopback address (127.0.0.2, .3, ...). */
async function startApplication(app: string, count: number, label = ""): Promise<Unit[]> {
  const units: Unit[] = [];
  for (let i = 0; i < count; i++) {
    units.push(
      await startUnit(`${app}/${i}${label}`, {
        host: `127.0.0.${i + 2}`,
        port: units[0]?.port ?? 0,
      }),
    );
  }
  return units;
}

function nth(list: readonly Unit[], i: number): Unit {
  const unit = list[i];
  if (unit === undefined) throw new Error(`no unit ${i}`);
  return unit;
}

// ---- the client ----

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly headers: IncomingHttpHeaders;
}

interface AskOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  /** The client's own address (a loopback one), to stand for another client. */
  readonly localAddress?: string;
  readonly body?: Buffer;
  /** Speak TLS, trusting `ca` for `servername`. */
  readonly tls?: { readonly servername: string; readonly ca: string };
  readonly timeoutMs?: number;
  /** Keep the connection open for the next requests through this agent. */
  readonly agent?: Agent;
}

/** One request to haproxy on 127.0.0.1:<port>, on a connection of its own. */
function ask(port: number, urlPath = "/", options: AskOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const common = {
      host: "127.0.0.1",
      port,
      path: urlPath,
      method: options.method ?? "GET",
      agent: options.agent ?? (false as const),
      headers: { ...(options.agent === undefined && { connection: "close" }), ...options.headers },
      ...(options.localAddress !== undefined && { localAddress: options.localAddress }),
    };
    const onResponse = (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString("utf8"),
          headers: res.headers,
        }),
      );
    };
    const req = options.tls
      ? httpsRequest(
          { ...common, servername: options.tls.servername, ca: options.tls.ca },
          onResponse,
        )
      : httpRequest(common, onResponse);
    req.setTimeout(options.timeoutMs ?? 10_000, () => req.destroy(new Error("no answer in time")));
    req.on("error", reject);
    req.end(options.body);
  });
}

/** The names of the units that answered `count` requests, in the order they answered. */
async function answering(port: number, count: number, options: AskOptions = {}): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const answer = await ask(port, "/", options);
    expect(answer.status).toBe(200);
    names.push(answer.body);
  }
  return names;
}

/** One command on haproxy's admin socket, answered with its output. */
function adminCommand(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = "";
    const connection = connect(socket, () => connection.end(`${command}\n`));
    connection.setEncoding("utf8");
    connection.on("data", (chunk: string) => (output += chunk));
    connection.on("end", () => resolve(output));
    connection.on("error", reject);
  });
}

// ---- requests and haproxy ----

function route(
  units: readonly Unit[],
  fields: Partial<HaproxyRouteRequest> = {},
): HaproxyRouteRequest {
  return {
    relationId: "haproxy-route:1",
    app: "shop",
    service: "shop",
    ports: [units[0]?.port ?? 8080],
    protocol: "http",
    targets: units.map((unit) => ({ name: unit.name, address: unit.host })),
    paths: [],
    hostnames: ["shop.example.com"],
    hostnameFromConfig: false,
    rewrites: [],
    loadBalancing: { algorithm: "leastconn", consistentHashing: false },
    denyPaths: [],
    timeout: { server: 60, connect: 60, queue: 60 },
    httpServerClose: false,
    allowHttp: false,
    ready: true,
    ...fields,
  };
}

const plainContext: RouteBackendContext = { hsts: false, bandwidthLimits: false };

interface Stanza {
  readonly service: string;
  readonly backend: RouteBackend;
}

interface ConfigOptions {
  /** A TLS listener too, serving this certificate and key. */
  readonly tlsPem?: string;
  /** A peers section of this name, with this haproxy as its only peer. */
  readonly peers?: string;
}

interface Running {
  readonly port: number;
  readonly tlsPort: number;
  readonly adminSocket: string;
  readonly text: string;
}

function backendSection(stanza: Stanza): string[] {
  return [
    `backend ${stanza.service}`,
    ...stanza.backend.options.map((option) => `    ${option}`),
    ...stanza.backend.servers.map(
      (server) =>
        `    server ${server.name} ${server.address}:${server.port}` +
        (server.options.length > 0 ? ` ${server.options.join(" ")}` : ""),
    ),
  ];
}

/**
 * The whole configuration: the first stanza is the frontend's default
 * backend, each other one serves `/<service>` and below.
 */
function configText(
  dir: string,
  ports: { http: number; tls: number; peer: number },
  stanzas: readonly Stanza[],
  options: ConfigOptions = {},
): string {
  const [first, ...others] = stanzas;
  if (first === undefined) throw new Error("no backend");
  return [
    "global",
    `    stats socket ${path.join(dir, "admin.sock")} mode 600 level admin`,
    ...(options.peers !== undefined ? ["    localpeer haproxy-0"] : []),
    "defaults",
    "    mode http",
    "    timeout client 30s",
    "    timeout connect 5s",
    "    timeout server 30s",
    // No retry unless the route asks for one.
    "    retries 0",
    ...(options.peers !== undefined
      ? [`peers ${options.peers}`, `    peer haproxy-0 127.0.0.1:${ports.peer}`]
      : []),
    "frontend f",
    `    bind 127.0.0.1:${ports.http}`,
    ...(options.tlsPem !== undefined
      ? [`    bind 127.0.0.1:${ports.tls} ssl crt ${path.join(dir, "frontend.pem")}`]
      : []),
    ...others.map(
      (stanza) => `    use_backend ${stanza.service} if { path_beg /${stanza.service} }`,
    ),
    `    default_backend ${first.service}`,
    ...stanzas.flatMap(backendSection),
    "",
  ].join("\n");
}

describe.each(haproxyVersions)(
  "haproxy $version runs a haproxy-route backend",
  (version: HaproxyVersion) => {
    const context: RouteBackendContext = {
      ...plainContext,
      bandwidthLimits: version.version !== "2.6",
    };
    let dir: string | undefined;
    let haproxy: HaproxyProcess | undefined;
    const units: Unit[] = [];

    async function track(starting: Promise<Unit>): Promise<Unit> {
      const unit = await starting;
      units.push(unit);
      return unit;
    }

    async function application(app: string, count: number, label = ""): Promise<Unit[]> {
      const list = await startApplication(app, count, label);
      units.push(...list);
      return list;
    }

    afterEach(async () => {
      await haproxy?.stop();
      haproxy = undefined;
      await Promise.all(units.splice(0).map((unit) => unit.close()));
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
      dir = undefined;
    });

    async function serve(
      stanzas: readonly Stanza[],
      options: ConfigOptions = {},
    ): Promise<Running> {
      dir = await mkdtemp(path.join(tmpdir(), "haproxy-route-backend-"));
      const ports = {
        http: await findFreePort(),
        tls: await findFreePort(),
        peer: await findFreePort(),
      };
      if (options.tlsPem !== undefined)
        await writeFile(path.join(dir, "frontend.pem"), options.tlsPem);
      const text = configText(dir, ports, stanzas, options);
      const configFile = path.join(dir, "haproxy.cfg");
      await writeFile(configFile, text);
      haproxy = new HaproxyProcess({
        configFile,
        pidFile: path.join(dir, "haproxy.pid"),
        haproxyBinary: version.binary,
        probePorts: [ports.http],
      });
      await haproxy.start();
      return {
        port: ports.http,
        tlsPort: ports.tls,
        adminSocket: path.join(dir, "admin.sock"),
        text,
      };
    }

    /** One route, rendered with `context`, served as the frontend's default backend. */
    async function serveRoute(
      request: HaproxyRouteRequest,
      routeContext: RouteBackendContext = context,
      options: ConfigOptions = {},
    ): Promise<Running> {
      return serve(
        [{ service: request.service, backend: haproxyRouteBackend(request, routeContext) }],
        options,
      );
    }

    it("tells the units who the client is and which scheme it used", async () => {
      const unit = await track(startUnit("shop/0"));
      const { port } = await serveRoute(route([unit]));
      expect((await ask(port, "/cart?item=1")).body).toBe("shop/0");
      const seen = unit.seen.at(-1);
      expect(seen?.path).toBe("/cart?item=1");
      expect(seen?.headers["x-forwarded-for"]).toBe("127.0.0.1");
      expect(seen?.headers["x-forwarded-proto"]).toBe("http");
    });

    it("sends requests to every unit on every port", async () => {
      const app = await application("shop", 2);
      const second = await application("shop", 2, " second");
      const request = route(app, {
        ports: [nth(app, 0).port, nth(second, 0).port],
        loadBalancing: { algorithm: "roundrobin", consistentHashing: false },
      });
      expect(haproxyRouteBackend(request, context).servers.map((server) => server.name)).toEqual([
        `shop-0_${nth(app, 0).port}`,
        `shop-0_${nth(second, 0).port}`,
        `shop-1_${nth(app, 0).port}`,
        `shop-1_${nth(second, 0).port}`,
      ]);
      const { port } = await serveRoute(request);
      expect(new Set(await answering(port, 8))).toEqual(
        new Set(["shop/0", "shop/1", "shop/0 second", "shop/1 second"]),
      );
    });

    it("reaches units at IPv6 addresses", async () => {
      const unit = await track(startUnit("shop/0", { host: "::1" }));
      const { port } = await serveRoute(route([unit]));
      expect(await ask(port, "/")).toMatchObject({ status: 200, body: "shop/0" });
    });

    it("queues requests beyond server_maxconn, and gives up on them after the queue timeout", async () => {
      const unit = await track(startUnit("shop/0"));
      const { port } = await serveRoute(
        route([unit], { serverMaxconn: 1, timeout: { server: 60, connect: 60, queue: 1 } }),
      );
      const held = ask(port, "/hold");
      await eventually(() => expect(unit.seen.map((seen) => seen.path)).toContain("/hold"));
      // The unit is at its maxconn: this one waits in the queue, past its 1 s, and is refused.
      const queued = ask(port, "/");
      const refused = await queued;
      unit.release();
      expect((await held).status).toBe(200);
      expect(refused.status).toBe(503);
      expect(unit.seen.map((seen) => seen.path)).toEqual(["/hold"]);
    });

    it("gives up on a unit slower than the server timeout", async () => {
      const unit = await track(startUnit("shop/0"));
      const { port } = await serveRoute(
        route([unit], { timeout: { server: 1, connect: 60, queue: 60 } }),
      );
      expect((await ask(port, "/slow")).status).toBe(504);
    });

    it("checks the units on the path and Host asked for, and stops sending to failing ones", async () => {
      const unit = await track(startUnit("shop/0"));
      const { port } = await serveRoute(
        route([unit], {
          hostnames: ["*.shop.example.com", "shop.example.com"],
          check: { interval: 1, rise: 1, fall: 1, path: "/health" },
        }),
      );
      await eventually(() => {
        const check = unit.seen.find((seen) => seen.path === "/health");
        expect(check?.method).toBe("GET");
        expect(check?.headers.host).toBe("shop.example.com");
      });
      expect((await ask(port, "/")).status).toBe(200);
      unit.healthStatus = 500;
      await eventually(async () => expect((await ask(port, "/")).status).toBe(503));
      unit.healthStatus = 200;
      await eventually(async () => expect((await ask(port, "/")).status).toBe(200));
    });

    it("checks on the check port when one is given", async () => {
      const unit = await track(startUnit("shop/0"));
      const checked = await track(startUnit("shop/0 health"));
      await serveRoute(
        route([unit], {
          check: { interval: 1, rise: 1, fall: 1, path: "/health", port: checked.port },
        }),
      );
      await eventually(() => expect(checked.seen.map((seen) => seen.path)).toContain("/health"));
      expect(unit.seen).toEqual([]);
    });

    describe("protocol https", () => {
      let ca: TestCa;
      let otherCa: TestCa;
      let caFile: string;
      let caDir: string;

      beforeAll(async () => {
        ca = TestCa.create();
        otherCa = TestCa.create("Another CA");
        caDir = await mkdtemp(path.join(tmpdir(), "haproxy-route-cas-"));
        caFile = path.join(caDir, "cas.pem");
        await writeFile(caFile, ca.certificate);
      });

      afterAll(async () => {
        ca.cleanup();
        otherCa.cleanup();
        await rm(caDir, { recursive: true, force: true });
      });

      const tlsOf = (signer: TestCa) => {
        const { csr, key } = makeCsrWithKey("shop.internal");
        return { key, cert: signer.sign(csr) };
      };

      it("speaks TLS to units whose certificate a received CA signed, and to no other", async () => {
        const trusted = await track(startUnit("shop/0", { tls: tlsOf(ca) }));
        const { port } = await serveRoute(route([trusted], { protocol: "https" }), {
          ...context,
          caFile,
        });
        expect(await ask(port, "/x")).toMatchObject({ status: 200, body: "shop/0" });
        expect(trusted.seen.at(-1)?.path).toBe("/x");
        await haproxy?.stop();

        const stranger = await track(startUnit("shop/1", { tls: tlsOf(otherCa) }));
        const { port: otherPort } = await serveRoute(route([stranger], { protocol: "https" }), {
          ...context,
          caFile,
        });
        expect((await ask(otherPort, "/x")).status).toBe(503);
        expect(stranger.seen).toEqual([]);
      });

      it("checks over TLS, on the check port too", async () => {
        const unit = await track(startUnit("shop/0", { tls: tlsOf(ca) }));
        const checked = await track(startUnit("shop/0 health", { tls: tlsOf(ca) }));
        await serveRoute(
          route([unit], {
            protocol: "https",
            check: { interval: 1, rise: 1, fall: 1, path: "/health", port: checked.port },
          }),
          { ...context, caFile },
        );
        await eventually(() => {
          const check = checked.seen.find((seen) => seen.path === "/health");
          expect(check?.headers.host).toBe("shop.example.com");
        });
      });

      it("is refused without a CA file", () => {
        expect(() => haproxyRouteBackend(route([], { protocol: "https" }), context)).toThrow(
          /CA file/,
        );
      });
    });

    describe("load balancing", () => {
      it("leastconn (the default) sends to the unit with the fewest connections", async () => {
        const app = await application("shop", 2);
        const { port } = await serveRoute(route(app));
        const held = ask(port, "/hold");
        await eventually(() =>
          expect(app.flatMap((unit) => unit.seen.map((seen) => seen.path))).toContain("/hold"),
        );
        const [busy, idle] =
          nth(app, 0).seen.length > 0 ? [nth(app, 0), nth(app, 1)] : [nth(app, 1), nth(app, 0)];
        expect(await answering(port, 4)).toEqual(Array(4).fill(idle.name));
        busy.release();
        expect((await held).status).toBe(200);
      });

      it("roundrobin takes the units in turn, busy or not", async () => {
        const app = await application("shop", 2);
        const { port } = await serveRoute(
          route(app, { loadBalancing: { algorithm: "roundrobin", consistentHashing: false } }),
        );
        const held = ask(port, "/hold");
        await eventually(() =>
          expect(app.flatMap((unit) => unit.seen.map((seen) => seen.path))).toContain("/hold"),
        );
        expect(new Set(await answering(port, 4))).toEqual(new Set(["shop/0", "shop/1"]));
        app.forEach((unit) => unit.release());
        expect((await held).status).toBe(200);
      });

      it("source keeps a client on one unit", async () => {
        const app = await application("shop", 2);
        const { port } = await serveRoute(
          route(app, { loadBalancing: { algorithm: "source", consistentHashing: false } }),
        );
        expect(new Set(await answering(port, 6))).toHaveProperty("size", 1);
      });

      it("cookie keeps one cookie value on one unit, and spreads the values", async () => {
        const app = await application("shop", 2);
        const { port } = await serveRoute(
          route(app, {
            loadBalancing: { algorithm: "cookie", cookie: "session", consistentHashing: false },
          }),
        );
        const byCookie = (value: string) => ({ headers: { cookie: `other=1; session=${value}` } });
        expect(new Set(await answering(port, 6, byCookie("abc")))).toHaveProperty("size", 1);
        const spread = new Set<string>();
        for (let i = 0; i < 20; i++) spread.add((await ask(port, "/", byCookie(`user-${i}`))).body);
        expect(spread).toEqual(new Set(["shop/0", "shop/1"]));
      });

      it("consistent hashing moves only the keys of a unit that leaves", async () => {
        const app = await application("shop", 3);
        const request = route(app, {
          loadBalancing: { algorithm: "cookie", cookie: "session", consistentHashing: true },
        });
        const { port, adminSocket } = await serveRoute(request);
        const values = Array.from({ length: 30 }, (_, i) => `user-${i}`);
        const unitsOf = async () => {
          const answers: string[] = [];
          for (const value of values) {
            answers.push((await ask(port, "/", { headers: { cookie: `session=${value}` } })).body);
          }
          return answers;
        };
        const before = await unitsOf();
        expect(new Set(before).size).toBe(3);
        await adminCommand(adminSocket, `disable server shop/shop-2_${nth(app, 0).port}`);
        const after = await unitsOf();
        expect(after).not.toContain("shop/2");
        // Every key that was not on shop/2 stays where it was.
        expect(after.filter((unit, i) => before[i] !== "shop/2" && unit !== before[i])).toEqual([]);
      });
    });

    describe("rate_limit", () => {
      const limited = (policy: "deny" | "reject" | "silent-drop", app: readonly Unit[]) =>
        route(app, { rateLimit: { connectionsPerMinute: 3, policy } });

      it("deny: the requests beyond the rate get 429, other clients and routes are served", async () => {
        const unit = await track(startUnit("shop/0"));
        const other = route([unit], { service: "other", relationId: "haproxy-route:2" });
        const { port } = await serve([
          { service: "shop", backend: haproxyRouteBackend(limited("deny", [unit]), context) },
          { service: "other", backend: haproxyRouteBackend(other, context) },
        ]);
        for (let i = 0; i < 3; i++) expect((await ask(port, "/")).status).toBe(200);
        expect((await ask(port, "/")).status).toBe(429);
        expect((await ask(port, "/", { localAddress: "127.0.0.9" })).status).toBe(200);
        expect((await ask(port, "/other")).status).toBe(200);
        expect(unit.seen).toHaveLength(5);
      });

      it("reject: the requests beyond the rate get their connection closed, no answer", async () => {
        const unit = await track(startUnit("shop/0"));
        const { port } = await serveRoute(limited("reject", [unit]));
        for (let i = 0; i < 3; i++) expect((await ask(port, "/")).status).toBe(200);
        await expect(ask(port, "/")).rejects.toThrow(/socket hang up|ECONNRESET/);
        expect((await ask(port, "/", { localAddress: "127.0.0.9" })).status).toBe(200);
        expect(unit.seen).toHaveLength(4);
      });

      it("silent-drop: the requests beyond the rate get no answer", async () => {
        const unit = await track(startUnit("shop/0"));
        const { port } = await serveRoute(limited("silent-drop", [unit]));
        for (let i = 0; i < 3; i++) expect((await ask(port, "/")).status).toBe(200);
        // As root haproxy sends not even a reset (TCP_REPAIR): the client waits
        // in vain. Otherwise the reset it sends with a TTL of 1 still reaches loopback.
        const asRoot = process.getuid?.() === 0;
        await expect(ask(port, "/", { timeoutMs: 2000 })).rejects.toThrow(
          asRoot ? /no answer in time/ : /./,
        );
        expect(unit.seen).toHaveLength(3);
      });

      it("shares its table through the peers section when there is one", async () => {
        const unit = await track(startUnit("shop/0"));
        const { port, adminSocket } = await serveRoute(
          limited("deny", [unit]),
          { ...context, peersSection: "haproxy_peers" },
          { peers: "haproxy_peers" },
        );
        expect((await ask(port, "/")).status).toBe(200);
        expect(await adminCommand(adminSocket, "show peers")).toMatch(/table:.*id=shop\b/);
      });
    });

    describe("bandwidth_limit", () => {
      it.runIf(version.version !== "2.6")(
        "slows downloads and uploads to the rate asked for",
        async () => {
          const unit = await track(startUnit("shop/0"));
          const { port } = await serveRoute(
            route([unit], { bandwidthLimit: { upload: 100_000, download: 100_000 } }),
          );
          // 300 kB at 100 kB/s: at least 2 s after a first period's worth; unlimited, milliseconds.
          let start = performance.now();
          const download = await ask(port, "/big");
          expect(download.body).toHaveLength(BIG);
          expect(performance.now() - start).toBeGreaterThan(1800);
          start = performance.now();
          const upload = await ask(port, "/upload", { method: "POST", body: Buffer.alloc(BIG) });
          expect(upload.status).toBe(200);
          expect(performance.now() - start).toBeGreaterThan(1800);
        },
      );

      it.runIf(version.version === "2.6")(
        "is left out, with a note, where haproxy cannot do it",
        async () => {
          const unit = await track(startUnit("shop/0"));
          const request = route([unit], { bandwidthLimit: { download: 100_000 } });
          const backend = haproxyRouteBackend(request, context);
          expect(backend.options.join("\n")).not.toMatch(/bwlim|bandwidth/);
          expect(backend.notes).toEqual([expect.stringMatching(/shop: bandwidth_limit .* 2\.7/)]);
          const { port } = await serveRoute(request);
          expect((await ask(port, "/big")).body).toHaveLength(BIG);
        },
      );
    });

    it("retries another unit when one does not answer", async () => {
      const app = await application("shop", 2);
      await nth(app, 1).close();
      const request = (redispatch: boolean) =>
        route(app, {
          loadBalancing: { algorithm: "roundrobin", consistentHashing: false },
          retry: { count: 2, redispatch },
        });
      let { port } = await serveRoute(request(true));
      expect(await answering(port, 6)).toEqual(Array(6).fill("shop/0"));
      await haproxy?.stop();
      // Without redispatch the retries go to the same dead unit.
      ({ port } = await serveRoute(request(false)));
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await ask(port, "/")).status);
      expect(statuses).toContain(503);
    });

    it("refuses deny_paths and what is below them before they reach a unit", async () => {
      const unit = await track(startUnit("shop/0"));
      const { port } = await serveRoute(route([unit], { denyPaths: ["/admin", "/internal/"] }));
      expect((await ask(port, "/admin")).status).toBe(403);
      expect((await ask(port, "/admin/users?x=1")).status).toBe(403);
      expect((await ask(port, "/ADMIN")).status).toBe(403);
      expect((await ask(port, "/internal/metrics")).status).toBe(403);
      expect(unit.seen).toEqual([]);
      expect((await ask(port, "/internal")).status).toBe(200);
      expect((await ask(port, "/shop/admin")).status).toBe(200);
    });

    it("rewrites the path, the query and headers before the unit sees them", async () => {
      const unit = await track(startUnit("shop/0"));
      const { port } = await serveRoute(
        route([unit], {
          rewrites: [
            { method: "set-path", expression: "/v2%[path]" },
            { method: "set-query", expression: "lang=en" },
            { method: "set-header", header: "X-Route", expression: "shop-%[req.hdr(x-client)]" },
          ],
        }),
      );
      expect((await ask(port, "/items?q=1", { headers: { "x-client": "web" } })).status).toBe(200);
      const seen = unit.seen.at(-1);
      expect(seen?.path).toBe("/v2/items?lang=en");
      expect(seen?.headers["x-route"]).toBe("shop-web");
    });

    it("http_server_close: a connection to the unit per request", async () => {
      const unit = await track(startUnit("shop/0"));
      const connections = async (httpServerClose: boolean) => {
        const { port } = await serveRoute(route([unit], { httpServerClose }));
        unit.seen.length = 0;
        // Four requests on one client connection: haproxy keeps the server's
        // connection for the next one unless told to close it.
        const agent = new Agent({ keepAlive: true, maxSockets: 1 });
        for (let i = 0; i < 4; i++) expect((await ask(port, "/", { agent })).status).toBe(200);
        agent.destroy();
        await haproxy?.stop();
        return new Set(unit.seen.map((seen) => seen.clientPort)).size;
      };
      expect(await connections(true)).toBe(4);
      expect(await connections(false)).toBeLessThan(4);
    });

    it("sends Strict-Transport-Security over TLS only, when enable_hsts is set", async () => {
      const unit = await track(startUnit("shop/0"));
      const certificate = makeCertificate("shop.example.com");
      const tls = { servername: "shop.example.com", ca: certificate.certificate };
      const { port, tlsPort } = await serveRoute(
        route([unit]),
        { ...context, hsts: true },
        { tlsPem: certificate.pem },
      );
      const secure = await ask(tlsPort, "/", { tls });
      expect(secure.headers["strict-transport-security"]).toBe("max-age=31536000");
      expect(unit.seen.at(-1)?.headers["x-forwarded-proto"]).toBe("https");
      expect((await ask(port, "/")).headers["strict-transport-security"]).toBeUndefined();
    });

    it("accepts every field at once, without a warning", async () => {
      const request = route([], {
        ports: [8080, 8443],
        protocol: "https",
        targets: [
          { name: "shop/0", address: "10.0.0.5" },
          { name: "host-0", address: "fd00::5" },
        ],
        hostnames: ["shop.example.com", "*.shop.example.com"],
        rewrites: [
          { method: "set-path", expression: "/v2%[path]" },
          { method: "set-query", expression: "lang=en" },
          { method: "set-header", header: "X-Route", expression: "shop" },
        ],
        check: { interval: 5, rise: 2, fall: 3, path: "/health", port: 9000 },
        loadBalancing: { algorithm: "cookie", cookie: "session", consistentHashing: true },
        rateLimit: { connectionsPerMinute: 100, policy: "silent-drop" },
        bandwidthLimit: { upload: 1_000_000, download: 2_000_000 },
        retry: { count: 3, redispatch: true },
        denyPaths: ["/admin"],
        timeout: { server: 30, connect: 5, queue: 10 },
        serverMaxconn: 50,
        httpServerClose: true,
      });
      const caDir = await mkdtemp(path.join(tmpdir(), "haproxy-route-cas-"));
      try {
        const caFile = path.join(caDir, "cas.pem");
        const ca = TestCa.create();
        await writeFile(caFile, ca.certificate);
        ca.cleanup();
        const backend = haproxyRouteBackend(request, {
          caFile,
          peersSection: "haproxy_peers",
          hsts: true,
          bandwidthLimits: context.bandwidthLimits,
        });
        expect(
          backend.servers.map((server) => `${server.name} ${server.address}:${server.port}`),
        ).toEqual([
          "shop-0_8080 10.0.0.5:8080",
          "shop-0_8443 10.0.0.5:8443",
          "host-0_8080 [fd00::5]:8080",
          "host-0_8443 [fd00::5]:8443",
        ]);
        const text = configText(
          caDir,
          { http: 8081, tls: 8444, peer: 10000 },
          [{ service: "shop", backend }],
          {
            peers: "haproxy_peers",
          },
        );
        const result = await checkHaproxyConfig(text, version.binary);
        expect(result.output).not.toMatch(/WARNING|ALERT/);
        expect(result.ok).toBe(true);
      } finally {
        await rm(caDir, { recursive: true, force: true });
      }
    });
  },
);

describe("haproxy-route backend lines", () => {
  const request = (fields: Partial<HaproxyRouteRequest> = {}) =>
    route([], {
      targets: [
        { name: "shop/0", address: "10.0.0.5" },
        { name: "shop/1", address: "10.0.0.6" },
      ],
      ports: [8080],
      ...fields,
    });

  it("names servers by unit and port, so a unit leaving changes only its own lines", () => {
    const all = haproxyRouteBackend(request(), plainContext).servers;
    const fewer = haproxyRouteBackend(
      request({ targets: [{ name: "shop/1", address: "10.0.0.6" }] }),
      plainContext,
    ).servers;
    expect(fewer).toEqual(all.slice(1));
    expect(all.map((server) => server.name)).toEqual(["shop-0_8080", "shop-1_8080"]);
  });

  it("gives the timeouts asked for, in seconds", () => {
    // Connecting is the one timeout not run above: it needs a server that never accepts.
    const options = haproxyRouteBackend(
      request({ timeout: { server: 30, connect: 5, queue: 10 } }),
      plainContext,
    ).options;
    expect(options.filter((option) => option.startsWith("timeout"))).toEqual([
      "timeout server 30s",
      "timeout connect 5s",
      "timeout queue 10s",
    ]);
  });

  it("makes no health check unless the request asks for one", () => {
    const backend = haproxyRouteBackend(request(), plainContext);
    expect(backend.servers.flatMap((server) => server.options)).toEqual([]);
    expect(backend.options.join("\n")).not.toContain("httpchk");
  });

  it("asks health checks for the first exact hostname, else a wildcard's base domain", () => {
    const sendLine = (hostnames: string[]) =>
      haproxyRouteBackend(
        request({ hostnames, check: { interval: 5, rise: 2, fall: 3 } }),
        plainContext,
      ).options.filter((option) => option.startsWith("http-check"));
    expect(sendLine(["*.a.example.com", "b.example.com"])).toEqual([
      "http-check send hdr Host b.example.com",
    ]);
    expect(sendLine(["*.a.example.com"])).toEqual(["http-check send hdr Host a.example.com"]);
    expect(sendLine([])).toEqual([]);
  });

  it("promises HSTS only where plain HTTP is not allowed", () => {
    const hsts = (allowHttp: boolean) =>
      haproxyRouteBackend(request({ allowHttp }), { ...plainContext, hsts: true }).options.some(
        (option) => option.includes("Strict-Transport-Security"),
      );
    expect(hsts(false)).toBe(true);
    expect(hsts(true)).toBe(false);
  });

  it("notes consistent hashing asked for with an algorithm that does not hash", () => {
    const backend = haproxyRouteBackend(
      request({ loadBalancing: { algorithm: "roundrobin", consistentHashing: true } }),
      plainContext,
    );
    expect(backend.options).not.toContain("hash-type consistent");
    expect(backend.notes).toEqual([expect.stringContaining("consistent_hashing")]);
  });
});
