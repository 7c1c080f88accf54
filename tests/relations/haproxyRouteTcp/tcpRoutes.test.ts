// haproxy-route-tcp requests as haproxy runs them: the listeners and
// backends rendered through buildProxy into a small configuration, a real
// haproxy of each version, real TCP and TLS servers standing for the
// requirer's units (and servers speaking enough of redis, MySQL, PostgreSQL
// and SMTP for haproxy's own checks), and real clients.
import { execFileSync, spawn } from "node:child_process";
import { chown, mkdtemp, rm, writeFile } from "node:fs/promises";
import { type AddressInfo, type Server, type Socket, connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  type PeerCertificate,
  connect as tlsConnect,
  createServer as createTlsServer,
} from "node:tls";

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { parseCharmConfig } from "../../../src/config/charmConfig.js";
import { buildDefaultsSection, buildGlobalSection } from "../../../src/model/globalSections.js";
import { buildProxy } from "../../../src/model/proxyStanzas.js";
import type { PlacedService, ProxyStanza } from "../../../src/model/types.js";
import type { HaproxyRouteTcpRequest } from "../../../src/relations/haproxyRouteTcp/haproxyRouteTcpRequest.js";
import { haproxyWord } from "../../../src/relations/haproxyRouteTcp/tcpBackend.js";
import { renderHaproxyConfig } from "../../../src/render/renderHaproxyConfig.js";
import {
  type TcpRouteContext,
  type TcpRouteServices,
  tcpRouteServices,
} from "../../../src/relations/haproxyRouteTcp/tcpRoutes.js";
import { makeCertificate } from "../../helpers/certificates.js";
import { eventually } from "../../helpers/eventually.js";
import { checkHaproxyConfig } from "../../helpers/haproxyCheck.js";
import { HaproxyProcess, findFreePort } from "../../helpers/haproxyProcess.js";
import { type HaproxyVersion, haproxyVersions } from "../../helpers/haproxyVersions.js";
import { TestCa, makeCsrWithKey } from "../../helpers/testCa.js";
import { serverStatuses } from "../../helpers/showStat.js";

// ---- the requirer's units ----

interface Unit {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** A TCP server on `host:port` (0: any port) whose connections `handle` serves. */
async function startUnit(
  name: string,
  handle: (socket: Socket) => void,
  options: { host?: string; port?: number; server?: Server } = {},
): Promise<Unit> {
  const server = options.server ?? createServer(handle);
  server.on("connection", (socket: Socket) => socket.on("error", () => undefined));
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, resolve);
  });
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  return {
    name,
    host,
    port: (server.address() as AddressInfo).port,
    close: () => {
      sockets.forEach((socket) => socket.destroy());
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Writes back every byte it gets, after its name and a newline. */
const echo = (name: string) => (socket: Socket) => {
  socket.write(`${name}\n`);
  socket.pipe(socket);
};

/** Answers one line per line received: `reply(line)`; sends `greeting` first when given. */
const lineServer = (reply: (line: string) => string, greeting?: string) => (socket: Socket) => {
  if (greeting !== undefined) socket.write(greeting);
  let buffered = "";
  socket.setEncoding("latin1");
  socket.on("data", (chunk: string) => {
    buffered += chunk;
    let end: number;
    while ((end = buffered.indexOf("\n")) !== -1) {
      const line = buffered.slice(0, end).replace(/\r$/, "");
      buffered = buffered.slice(end + 1);
      socket.write(reply(line));
    }
  });
};

/** A MySQL server as far as haproxy's check goes: a greeting, then OK (or an error) to the login. */
const mysqlServer = (accept: boolean) => (socket: Socket) => {
  const packet = (sequence: number, payload: Buffer) => {
    const header = Buffer.alloc(4);
    header.writeUIntLE(payload.length, 0, 3);
    header[3] = sequence;
    return Buffer.concat([header, payload]);
  };
  const greeting = Buffer.concat([
    Buffer.from([10]), // protocol version
    Buffer.from("8.0.0-test\0", "latin1"),
    Buffer.from([1, 0, 0, 0]), // connection id
    Buffer.from("abcdefgh\0", "latin1"), // auth data, part 1
    Buffer.from([0xff, 0xf7]), // capabilities (low)
    Buffer.from([0x21]), // charset
    Buffer.from([0x02, 0x00]), // status
    Buffer.from([0xff, 0x81]), // capabilities (high)
    Buffer.from([21]), // auth data length
    Buffer.alloc(10), // reserved
    Buffer.from("ijklmnopqrst\0", "latin1"), // auth data, part 2
    Buffer.from("mysql_native_password\0", "latin1"),
  ]);
  socket.write(packet(0, greeting));
  socket.once("data", () => {
    socket.write(
      accept
        ? packet(2, Buffer.from([0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00]))
        : packet(2, Buffer.concat([Buffer.from([0xff, 0x15, 0x04]), Buffer.from("#28000denied")])),
    );
  });
};

/** A PostgreSQL server as far as haproxy's check goes: AuthenticationOk (or an error) to the startup. */
const pgsqlServer = (accept: boolean) => (socket: Socket) => {
  socket.once("data", () => {
    if (accept) {
      socket.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 0]));
    } else {
      const fields = Buffer.from("SFATAL\0C28000\0Mno such role\0\0", "latin1");
      const header = Buffer.alloc(5);
      header[0] = 0x45;
      header.writeUInt32BE(fields.length + 4, 1);
      socket.write(Buffer.concat([header, fields]));
    }
  });
};

/** Reads a PROXY v2 header and answers with the client address it carries. */
const proxyV2Server = (socket: Socket) => {
  let buffered = Buffer.alloc(0);
  socket.on("data", (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    if (buffered.length < 16) return;
    const signature = Buffer.from("0d0a0d0a000d0a515549540a", "hex");
    if (!buffered.subarray(0, 12).equals(signature)) {
      socket.end("no PROXY v2 header\n");
      return;
    }
    const length = buffered.readUInt16BE(14);
    if (buffered.length < 16 + length) return;
    const command = buffered[12] ?? 0;
    // A LOCAL command (a health check) carries no address.
    if ((command & 0x0f) === 0) {
      socket.end("local\n");
      return;
    }
    const family = (buffered[13] ?? 0) >> 4;
    const source = family === 1 ? [...buffered.subarray(16, 20)].join(".") : `family ${family}`;
    socket.end(`client ${source}\n`);
    socket.removeAllListeners("data");
  });
};

// ---- clients ----

interface Talk {
  readonly received: string;
  /** The server certificate's subject CN when TLS was spoken. */
  readonly peerName?: string;
  readonly issuer?: string;
}

interface TalkOptions {
  readonly send?: string;
  readonly localAddress?: string;
  /** Speak TLS naming `servername`, trusting `ca`. */
  readonly tls?: { readonly servername: string; readonly ca: string };
  /** Wait this long for data, then end the connection ourselves. */
  readonly waitMs?: number;
}

/**
 * Connects to haproxy on 127.0.0.1:`port`, sends `send`, collects what comes
 * back until the server closes or `waitMs`; rejects when the connection is
 * refused or reset before anything came back.
 */
function talk(port: number, options: TalkOptions = {}): Promise<Talk> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let peer: PeerCertificate | undefined;
    const common = {
      host: "127.0.0.1",
      port,
      ...(options.localAddress !== undefined && { localAddress: options.localAddress }),
    };
    const socket: Socket = options.tls
      ? tlsConnect({ ...common, servername: options.tls.servername, ca: options.tls.ca }, () => {
          peer = (socket as ReturnType<typeof tlsConnect>).getPeerCertificate();
          socket.write(options.send ?? "hello\n");
        })
      : connect(common, () => socket.write(options.send ?? "hello\n"));
    const timer = setTimeout(() => socket.end(), options.waitMs ?? 1500);
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    const finish = () => {
      clearTimeout(timer);
      resolve({
        received: Buffer.concat(chunks).toString("latin1"),
        ...(peer?.subject !== undefined && { peerName: String(peer.subject.CN) }),
        ...(peer?.issuer !== undefined && { issuer: String(peer.issuer.CN) }),
      });
    };
    socket.on("close", finish);
    socket.on("error", (error) => {
      clearTimeout(timer);
      if (chunks.length > 0) finish();
      else reject(error);
    });
  });
}

/** What a client gets back, or `refused` when haproxy closed or reset the connection without a byte. */
async function outcome(port: number, options: TalkOptions = {}): Promise<string> {
  try {
    const { received } = await talk(port, options);
    return received === "" ? "refused" : received;
  } catch {
    return "refused";
  }
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

/** The check status (`UP`, `DOWN`, ...) of each server of `backend`, by server name. */
async function serverStatus(socket: string, backend: string): Promise<Record<string, string>> {
  return serverStatuses(await adminCommand(socket, "show stat"), backend);
}

/** Two free consecutive ports. */
async function freePortPair(): Promise<number> {
  for (;;) {
    const port = await findFreePort();
    if (port >= 65535) continue;
    const probe = createServer();
    const free = await new Promise<boolean>((resolve) => {
      probe.once("error", () => resolve(false));
      probe.listen(port + 1, "127.0.0.1", () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

/** The postgres account's ids when this test can run PostgreSQL as it, else undefined. */
function postgresAccount(): { uid: number; gid: number; bin: string } | undefined {
  try {
    // Debian keeps the server's programs out of PATH, under /usr/lib/postgresql/<version>/bin.
    const bin = execFileSync(
      "sh",
      ["-c", 'dirname "$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb | tail -1)"'],
      { encoding: "utf8" },
    ).trim();
    execFileSync("test", ["-x", path.join(bin, "postgres")]);
    if (process.getuid?.() !== 0) return undefined;
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    return { uid, gid, bin };
  } catch {
    return undefined;
  }
}

// ---- requests and haproxy ----

function route(
  units: readonly Unit[],
  listen: number,
  fields: Partial<HaproxyRouteTcpRequest> = {},
): HaproxyRouteTcpRequest {
  const backendPort = units[0]?.port ?? 5432;
  return {
    relationId: "haproxy-route-tcp:1",
    app: "db",
    ports: { listen: [listen, listen], backend: [backendPort, backendPort] },
    targets: units.map((unit) => ({ name: unit.name, address: unit.host })),
    loadBalancing: { algorithm: "leastconn", consistentHashing: false },
    timeout: { server: 60, connect: 60, queue: 60 },
    ipDenyList: [],
    enforceTls: false,
    tlsTerminate: false,
    proxyProtocol: false,
    ready: true,
    ...fields,
  };
}

const quickCheck = { interval: 1, rise: 1, fall: 1 } as const;

function stanzaText(stanza: ProxyStanza): string[] {
  const { frontend, backends } = stanza;
  return [
    `frontend ${frontend.name}`,
    `    bind ${frontend.bind}`,
    ...(frontend.defaultBackend !== undefined
      ? [`    default_backend ${frontend.defaultBackend}`]
      : []),
    ...frontend.options.map((option) => `    ${option}`),
    ...backends.flatMap((backend) => [
      `backend ${backend.name}`,
      ...backend.options.map((option) => `    ${option}`),
      ...backend.servers.map(
        (server) =>
          `    server ${server.name} ${server.address}:${server.port}` +
          (server.options !== "" ? ` ${server.options}` : ""),
      ),
    ]),
  ];
}

function configText(dir: string, services: readonly PlacedService[], peerPort?: number): string {
  return [
    "global",
    `    stats socket ${path.join(dir, "admin.sock")} mode 600 level admin`,
    // The charm logs; a TCP frontend's `option tcplog` wants somewhere to log to.
    "    log stdout format raw local0 notice",
    ...(peerPort !== undefined ? ["    localpeer haproxy-0"] : []),
    "defaults",
    "    log global",
    // The charm's defaults are HTTP: each TCP proxy says its mode itself.
    "    mode http",
    "    timeout client 30s",
    "    timeout connect 5s",
    "    timeout server 30s",
    ...(peerPort !== undefined
      ? ["peers haproxy_peers", `    peer haproxy-0 127.0.0.1:${peerPort}`]
      : []),
    ...services.flatMap((service) =>
      stanzaText(
        buildProxy(service, { unitName: "haproxy/0", libDir: dir, defaultMode: "http" }).stanza,
      ),
    ),
    "",
  ].join("\n");
}

describe.each(haproxyVersions)(
  "haproxy $version serves haproxy-route-tcp requests",
  (version: HaproxyVersion) => {
    const context: TcpRouteContext = {
      certificateFiles: new Map(),
      bandwidthLimits: version.version !== "2.6",
    };
    let dir: string | undefined;
    let haproxy: HaproxyProcess | undefined;
    const units: Unit[] = [];
    let ca: TestCa;

    beforeAll(() => {
      ca = TestCa.create("Route CA");
    });
    afterAll(() => ca.cleanup());

    afterEach(async () => {
      await haproxy?.stop();
      haproxy = undefined;
      await Promise.all(units.splice(0).map((unit) => unit.close()));
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
      dir = undefined;
    });

    async function unit(
      name: string,
      handle: (socket: Socket) => void,
      options: { host?: string; port?: number; server?: Server } = {},
    ): Promise<Unit> {
      const started = await startUnit(name, handle, options);
      units.push(started);
      return started;
    }

    async function workDir(): Promise<string> {
      dir ??= await mkdtemp(path.join(tmpdir(), "haproxy-route-tcp-"));
      return dir;
    }

    interface Running extends TcpRouteServices {
      readonly adminSocket: string;
      readonly text: string;
    }

    async function serve(
      requests: readonly HaproxyRouteTcpRequest[],
      routeContext: TcpRouteContext = context,
      peerPort?: number,
    ): Promise<Running> {
      const here = await workDir();
      const rendered = tcpRouteServices(requests, routeContext);
      expect(rendered.skipped).toEqual([]);
      const text = configText(here, rendered.services, peerPort);
      const configFile = path.join(here, "haproxy.cfg");
      await writeFile(configFile, text);
      haproxy = new HaproxyProcess({
        configFile,
        pidFile: path.join(here, "haproxy.pid"),
        haproxyBinary: version.binary,
        probePorts: rendered.services.map((service) => service.port),
      });
      await haproxy.start();
      return { ...rendered, adminSocket: path.join(here, "admin.sock"), text };
    }

    it("sends a port's connections to every unit, each named by its unit", async () => {
      const first = await unit("db/0", echo("db/0"), { host: "127.0.0.2" });
      const second = await unit("db/1", echo("db/1"), { host: "127.0.0.3", port: first.port });
      const listen = await findFreePort();
      const request = route([first, second], listen, {
        loadBalancing: { algorithm: "roundrobin", consistentHashing: false },
      });
      const { text } = await serve([request]);
      expect(text).toContain(`server db-0 127.0.0.2:${first.port}`);
      expect(text).toContain(`server db-1 127.0.0.3:${first.port}`);
      const answers = new Set<string>();
      for (let i = 0; i < 4; i++) answers.add((await talk(listen)).received);
      expect(answers).toEqual(new Set(["db/0\nhello\n", "db/1\nhello\n"]));
    });

    it("marks a server down when the generic check's expected answer does not come back", async () => {
      const good = await unit("db/0", echo("db/0"), { host: "127.0.0.2" });
      const other = await unit("cache/0", echo("cache/0"), { host: "127.0.0.3" });
      const [listenA, listenB] = [await findFreePort(), await findFreePort()];
      const { adminSocket, text } = await serve([
        route([good], listenA, {
          check: { ...quickCheck, type: "generic", send: 'ping "x"\r\n', expect: 'ping "x"' },
        }),
        route([other], listenB, {
          app: "cache",
          relationId: "haproxy-route-tcp:2",
          // What a hostile requirer might send: a new line of haproxy.cfg, a comment, a
          // variable, a second admin command. It stays bytes on the wire.
          check: {
            ...quickCheck,
            type: "generic",
            send: "ping\nbackend evil\n#${HOME};show info\r\n",
            expect: "pong",
          },
        }),
      ]);
      expect(text).not.toMatch(/backend evil|HOME|show info/);
      // Spaces, quotes and line endings reach the server as they are.
      expect(text).toContain(
        `tcp-check send-binary ${Buffer.from('ping "x"\r\n').toString("hex")}`,
      );
      await eventually(async () => {
        expect(await serverStatus(adminSocket, "db_tcp")).toEqual({ "db-0": "UP" });
        expect(await serverStatus(adminSocket, "cache_tcp")).toEqual({ "cache-0": "DOWN" });
      });
    });

    const protocolChecks: [
      string,
      HaproxyRouteTcpRequest["check"],
      (ok: boolean) => (socket: Socket) => void,
    ][] = [
      [
        "redis",
        { ...quickCheck, type: "redis" },
        (ok) => lineServer((line) => (line === "PING" && ok ? "+PONG\r\n" : "-ERR no\r\n")),
      ],
      ["mysql", { ...quickCheck, type: "mysql", dbUser: "haproxy" }, mysqlServer],
      ["postgres", { ...quickCheck, type: "postgres", dbUser: "haproxy" }, pgsqlServer],
      [
        "smtp",
        { ...quickCheck, type: "smtp" },
        (ok) =>
          lineServer(
            (line) =>
              line.startsWith("HELO") || line.startsWith("EHLO") ? "250 hello\r\n" : "221 bye\r\n",
            ok ? "220 mail.test ESMTP\r\n" : "554 go away\r\n",
          ),
      ],
    ];

    it.each(protocolChecks)(
      "checks %s servers with haproxy's own check for the protocol",
      async (_name, check, server) => {
        const healthy = await unit("db/0", server(true), { host: "127.0.0.2" });
        const broken = await unit("db/1", server(false), { host: "127.0.0.3" });
        const listen = await findFreePort();
        // Two routes: one to the healthy server, one to the broken one.
        const { adminSocket } = await serve([
          route([healthy], listen, { check }),
          route([broken], await findFreePort(), {
            app: "other",
            relationId: "haproxy-route-tcp:2",
            check,
          }),
        ]);
        await eventually(async () => {
          expect(await serverStatus(adminSocket, "db_tcp")).toEqual({ "db-0": "UP" });
          expect(await serverStatus(adminSocket, "other_tcp")).toEqual({ "db-1": "DOWN" });
        });
      },
    );

    it("checks a real redis-server", async (test) => {
      let redis: string;
      try {
        redis = execFileSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" }).trim();
      } catch {
        console.warn(
          "\n!!! redis-server is not installed: the redis check is tested against a scripted " +
            "server only. `make deps` installs it. !!!\n",
        );
        test.skip();
        return;
      }
      const port = await findFreePort();
      const here = await workDir();
      const child = spawn(
        redis,
        ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--dir", here],
        { stdio: "ignore" },
      );
      units.push({
        name: "redis",
        host: "127.0.0.1",
        port,
        close: () =>
          new Promise((resolve) => {
            child.once("exit", () => resolve());
            child.kill();
          }),
      });
      const listen = await findFreePort();
      const { adminSocket } = await serve([
        route([{ name: "db/0", host: "127.0.0.1", port, close: async () => undefined }], listen, {
          check: { ...quickCheck, type: "redis" },
        }),
      ]);
      await eventually(async () =>
        expect(await serverStatus(adminSocket, "db_tcp")).toEqual({ "db-0": "UP" }),
      );
      expect(await outcome(listen, { send: "PING\r\n" })).toBe("+PONG\r\n");
    });

    it("checks a real PostgreSQL as the check's user", async (test) => {
      const postgres = postgresAccount();
      if (postgres === undefined) {
        console.warn(
          "\n!!! no PostgreSQL to run (Debian's postgresql, a postgres account, root): " +
            "the postgres check is tested against a scripted server only. !!!\n",
        );
        test.skip();
        return;
      }
      const here = await workDir();
      const data = path.join(here, "pgdata");
      await chown(here, postgres.uid, postgres.gid);
      execFileSync(
        path.join(postgres.bin, "initdb"),
        ["-D", data, "-U", "haproxy", "--auth=trust", "-N"],
        {
          ...postgres,
          stdio: "ignore",
        },
      );
      // Only the check's user may connect: PostgreSQL refuses any other at once, with an
      // error. (Asked for a password, haproxy's check would count the server up.)
      await writeFile(path.join(data, "pg_hba.conf"), "host all haproxy 127.0.0.1/32 trust\n");
      const port = await findFreePort();
      const server = spawn(
        path.join(postgres.bin, "postgres"),
        ["-D", data, "-p", String(port), "-k", here, "-c", "listen_addresses=127.0.0.1"],
        { ...postgres, stdio: "ignore" },
      );
      const exited = new Promise<void>((resolve) => server.once("exit", () => resolve()));
      units.push({
        name: "postgres",
        host: "127.0.0.1",
        port,
        close: () => {
          server.kill();
          return exited;
        },
      });
      const database = { name: "db/0", host: "127.0.0.1", port, close: async () => undefined };
      const { adminSocket } = await serve([
        route([database], await findFreePort(), {
          check: { ...quickCheck, type: "postgres", dbUser: "haproxy" },
        }),
        // A user PostgreSQL does not let in.
        route([database], await findFreePort(), {
          app: "other",
          relationId: "haproxy-route-tcp:2",
          check: { ...quickCheck, type: "postgres", dbUser: "nobody" },
        }),
      ]);
      await eventually(async () => {
        expect(await serverStatus(adminSocket, "db_tcp")).toEqual({ "db-0": "UP" });
        expect(await serverStatus(adminSocket, "other_tcp")).toEqual({ "db-0": "DOWN" });
      }, 30_000);
    });

    it("routes TLS by SNI to servers that keep their own TLS (passthrough)", async () => {
      const certA = makeCertificate("a.example.com");
      const certB = makeCertificate("b.example.com");
      const tlsEcho = (name: string, cert: typeof certA) =>
        createTlsServer({ key: cert.key, cert: cert.certificate }, (socket) => socket.end(name));
      const a = await unit("a/0", () => undefined, { server: tlsEcho("a/0", certA) });
      const b = await unit("b/0", () => undefined, { server: tlsEcho("b/0", certB) });
      const listen = await findFreePort();
      const sniRoute = (target: Unit, app: string, sni: string, relation: number) =>
        route([target], listen, {
          app,
          relationId: `haproxy-route-tcp:${relation}`,
          sni,
          enforceTls: true,
          tlsTerminate: false,
        });
      await serve([sniRoute(a, "a", "a.example.com", 1), sniRoute(b, "b", "*.example.com", 2)]);
      const viaA = await talk(listen, {
        tls: { servername: "a.example.com", ca: certA.certificate },
      });
      expect(viaA).toMatchObject({ received: "a/0", peerName: "a.example.com" });
      // The wildcard takes what the exact name does not.
      const viaB = await talk(listen, {
        tls: { servername: "x.b.example.com", ca: certB.certificate },
      }).catch((error: Error) => error);
      // b's certificate is for b.example.com only: the client refuses it, which proves it was b's.
      expect(String(viaB)).toMatch(/altnames|Hostname/);
      const viaB2 = await talk(listen, {
        tls: { servername: "b.example.com", ca: certB.certificate },
      });
      expect(viaB2).toMatchObject({ received: "b/0", peerName: "b.example.com" });
      // Plain TCP and an SNI no route names are refused.
      expect(await outcome(listen)).toBe("refused");
      expect(
        await outcome(listen, { tls: { servername: "c.example.org", ca: certA.certificate } }),
      ).toBe("refused");
    });

    it("terminates TLS with the SNI's certificate and sends plain TCP on", async () => {
      const here = await workDir();
      const files = new Map<string, string>();
      for (const sni of ["a.example.com", "b.example.com"]) {
        const { csr, key } = makeCsrWithKey(sni);
        const file = path.join(here, `${sni}.pem`);
        await writeFile(file, ca.sign(csr) + key);
        files.set(sni, file);
      }
      const a = await unit("a/0", echo("a/0"), { host: "127.0.0.2" });
      const b = await unit("b/0", echo("b/0"), { host: "127.0.0.3" });
      const c = await unit("c/0", echo("c/0"), { host: "127.0.0.4" });
      const listen = await findFreePort();
      const sniRoute = (target: Unit, app: string, relation: number) =>
        route([target], listen, {
          app,
          relationId: `haproxy-route-tcp:${relation}`,
          sni: `${app}.example.com`,
          enforceTls: true,
          tlsTerminate: true,
        });
      const { notes, text } = await serve(
        [sniRoute(a, "a", 1), sniRoute(b, "b", 2), sniRoute(c, "c", 3)],
        { ...context, certificateFiles: (sni) => files.get(sni) },
      );
      expect(notes).toEqual([
        `haproxy-route-tcp c: port ${listen} waits for a certificate for c.example.com`,
      ]);
      expect(text).not.toContain("c_tcp");
      for (const [app, sni] of [
        ["a/0", "a.example.com"],
        ["b/0", "b.example.com"],
      ] as const) {
        const answer = await talk(listen, {
          send: "over tls\n",
          tls: { servername: sni, ca: ca.certificate },
        });
        expect(answer).toEqual({
          received: `${app}\nover tls\n`,
          peerName: sni,
          issuer: "Route CA",
        });
      }
      expect(await outcome(listen)).toBe("refused");
      // c has no certificate yet: its SNI gets no handshake, not a's or b's certificate.
      expect(
        await outcome(listen, { tls: { servername: "c.example.com", ca: ca.certificate } }),
      ).toBe("refused");
    });

    it("refuses plain TCP where enforce_tls asks for TLS without terminating it", async () => {
      const cert = makeCertificate("db.example.com");
      const server = createTlsServer({ key: cert.key, cert: cert.certificate }, (socket) =>
        socket.end("db/0"),
      );
      const target = await unit("db/0", () => undefined, { server });
      const listen = await findFreePort();
      await serve([route([target], listen, { enforceTls: true, tlsTerminate: false })]);
      expect(await outcome(listen)).toBe("refused");
      const answer = await talk(listen, {
        tls: { servername: "db.example.com", ca: cert.certificate },
      });
      expect(answer).toMatchObject({ received: "db/0", peerName: "db.example.com" });
    });

    it("refuses a client's connections beyond its rate limit", async () => {
      const target = await unit("db/0", echo("db/0"));
      const listen = await findFreePort();
      await serve([
        route([target], listen, { rateLimit: { connectionsPerMinute: 3, policy: "reject" } }),
      ]);
      // Not 127.0.0.1, whose count the start's probe of the port began.
      const client = { localAddress: "127.0.0.6" };
      for (let i = 0; i < 3; i++) expect(await outcome(listen, client)).toBe("db/0\nhello\n");
      expect(await outcome(listen, client)).toBe("refused");
      // Another client has its own count.
      expect(await outcome(listen, { localAddress: "127.0.0.7" })).toBe("db/0\nhello\n");
    });

    it("limits the rate per route on a port shared by SNI", async () => {
      const certA = makeCertificate("a.example.com");
      const certB = makeCertificate("b.example.com");
      const a = await unit("a/0", () => undefined, {
        server: createTlsServer({ key: certA.key, cert: certA.certificate }, (s) => s.end("a/0")),
      });
      const b = await unit("b/0", () => undefined, {
        server: createTlsServer({ key: certB.key, cert: certB.certificate }, (s) => s.end("b/0")),
      });
      const listen = await findFreePort();
      const shared = { enforceTls: true, tlsTerminate: false } as const;
      await serve([
        route([a], listen, {
          ...shared,
          app: "a",
          sni: "a.example.com",
          rateLimit: { connectionsPerMinute: 2, policy: "reject" },
        }),
        route([b], listen, { ...shared, app: "b", relationId: "r:2", sni: "b.example.com" }),
      ]);
      const toA = () =>
        outcome(listen, { tls: { servername: "a.example.com", ca: certA.certificate } });
      expect(await toA()).toBe("a/0");
      expect(await toA()).toBe("a/0");
      expect(await toA()).toBe("refused");
      // b has no limit.
      for (let i = 0; i < 3; i++) {
        expect(
          await outcome(listen, { tls: { servername: "b.example.com", ca: certB.certificate } }),
        ).toBe("b/0");
      }
    });

    it("refuses clients on the ip_deny_list and serves the others", async () => {
      const target = await unit("db/0", echo("db/0"));
      const listen = await findFreePort();
      await serve([route([target], listen, { ipDenyList: ["127.0.0.9", "10.1.2.3"] })]);
      expect(await outcome(listen, { localAddress: "127.0.0.9" })).toBe("refused");
      expect(await outcome(listen, { localAddress: "127.0.0.1" })).toBe("db/0\nhello\n");
    });

    it("tells PROXY protocol servers who the client is, checks included", async () => {
      const target = await unit("db/0", proxyV2Server);
      const listen = await findFreePort();
      const { adminSocket } = await serve([
        route([target], listen, {
          proxyProtocol: true,
          check: { ...quickCheck, type: "generic", expect: "local" },
        }),
      ]);
      await eventually(async () =>
        expect(await serverStatus(adminSocket, "db_tcp")).toEqual({ "db-0": "UP" }),
      );
      expect(await outcome(listen, { localAddress: "127.0.0.5" })).toBe("client 127.0.0.5\n");
    });

    it("maps a listen port range onto the backend port range", async () => {
      const backendBase = await freePortPair();
      const listenBase = await freePortPair();
      for (const offset of [0, 1]) {
        const port = backendBase + offset;
        await unit(`db/${offset}`, echo(`port ${port}`), { port });
      }
      const request = route(
        [{ name: "db/0", host: "127.0.0.1", port: 0, close: async () => undefined }],
        listenBase,
        {
          ports: { listen: [listenBase, listenBase + 1], backend: [backendBase, backendBase + 1] },
          check: { ...quickCheck, type: "generic" },
        },
      );
      const { adminSocket, text } = await serve([request]);
      expect(text).toContain(`bind 0.0.0.0:${listenBase}-${listenBase + 1}`);
      await eventually(async () =>
        expect(await serverStatus(adminSocket, "db_tcp")).toEqual({ "db-0": "UP" }),
      );
      expect(await outcome(listenBase)).toBe(`port ${backendBase}\nhello\n`);
      expect(await outcome(listenBase + 1)).toBe(`port ${backendBase + 1}\nhello\n`);
    });

    it("accepts every field it renders, with no warning", async () => {
      const here = await workDir();
      const certificate = path.join(here, "a.pem");
      await writeFile(certificate, makeCertificate("a.example.com").pem);
      const everything = (app: string, listen: number, fields: Partial<HaproxyRouteTcpRequest>) =>
        route(
          [{ name: `${app}/0`, host: "10.0.0.1", port: 0, close: async () => undefined }],
          listen,
          {
            app,
            relationId: `haproxy-route-tcp:${app}`,
            ports: { listen: [listen, listen], backend: [5432, 5432] },
            loadBalancing: { algorithm: "source", consistentHashing: true },
            rateLimit: { connectionsPerMinute: 10, policy: "silent-drop" },
            bandwidthLimit: { upload: 100_000, download: 200_000 },
            retry: { count: 3, redispatch: true },
            serverMaxconn: 50,
            ipDenyList: ["192.0.2.1", "2001:db8::1"],
            proxyProtocol: true,
            check: { interval: 5, rise: 2, fall: 3, type: "mysql", dbUser: "haproxy" },
            ...fields,
          },
        );
      const rendered = tcpRouteServices(
        [
          everything("plain", 7000, {}),
          everything("a", 7001, { sni: "a.example.com", enforceTls: true, tlsTerminate: true }),
          everything("b", 7002, { sni: "*.example.com", enforceTls: true }),
          everything("c", 7002, { sni: "c.example.com", enforceTls: true, relationId: "r:c" }),
          everything("range", 7010, {
            ports: { listen: [7010, 7019], backend: [8000, 8009] },
            check: { interval: 5, rise: 2, fall: 3, type: "postgres", dbUser: "haproxy" },
          }),
        ],
        {
          certificateFiles: new Map([["a.example.com", certificate]]),
          bandwidthLimits: context.bandwidthLimits,
          peersSection: "haproxy_peers",
        },
      );
      expect(rendered.skipped).toEqual([]);
      expect(rendered.notes).toEqual(
        context.bandwidthLimits
          ? []
          : ["plain", "a", "b", "c", "range"].map(
              (app) =>
                `haproxy-route-tcp ${app}: bandwidth_limit is not applied: it needs haproxy 2.7 or later`,
            ),
      );
      // The whole haproxy.cfg, with the charm's own global and defaults sections (HTTP, httplog).
      const config = parseCharmConfig({});
      const text = renderHaproxyConfig({
        global: buildGlobalSection(config, here),
        defaults: buildDefaultsSection(config),
        userlists: [],
        peers: {
          name: "haproxy_peers",
          localPeer: "haproxy-0",
          peers: [{ name: "haproxy-0", address: "127.0.0.1", port: 7100 }],
        },
        proxies: rendered.services.map(
          (service) =>
            buildProxy(service, { unitName: "haproxy/0", libDir: here, defaultMode: "http" })
              .stanza,
        ),
      });
      expect(text).toContain("bind 0.0.0.0:7010-7019");
      expect(text).toContain("server range-0 10.0.0.1:+990 check inter 5s rise 2 fall 3 port 8000");
      const result = await checkHaproxyConfig(text, version.binary);
      expect(result.output).not.toMatch(/WARNING|ALERT/);
      expect(result.ok).toBe(true);
    });
  },
);

describe("haproxy-route-tcp requests that cannot be served as asked", () => {
  const context: TcpRouteContext = { certificateFiles: new Map(), bandwidthLimits: true };
  const target = { name: "db/0", host: "10.0.0.1", port: 5432, close: async () => undefined };

  it("leaves out a route whose ports overlap another's or are held by another listener", () => {
    const rendered = tcpRouteServices(
      [
        route([target], 5000, { app: "first", ports: { listen: [5000, 5009], backend: [1, 10] } }),
        route([target], 5005, { app: "second" }),
        route([target], 8404, { app: "third" }),
      ],
      { ...context, heldPorts: new Map([[8404, "the monitoring listener"]]) },
    );
    expect(rendered.services.map((service) => service.name)).toEqual(["tcp_5000-5009"]);
    expect(rendered.skipped).toEqual([
      {
        relationId: "haproxy-route-tcp:1",
        app: "second",
        reason: "ports 5005 overlap ports 5000-5009 of first",
        invalid: true,
      },
      {
        relationId: "haproxy-route-tcp:1",
        app: "third",
        reason: "port 8404 is already served by the monitoring listener",
        invalid: true,
      },
    ]);
  });

  it("keeps one port to TLS termination or to passthrough, decided by its first route", () => {
    const rendered = tcpRouteServices(
      [
        route([target], 443, {
          app: "a",
          sni: "a.example.com",
          enforceTls: true,
          tlsTerminate: false,
        }),
        route([target], 443, {
          app: "b",
          sni: "b.example.com",
          enforceTls: true,
          tlsTerminate: true,
        }),
        route([target], 443, { app: "c" }),
        route([target], 443, { app: "d", sni: "A.example.com", enforceTls: true }),
      ],
      context,
    );
    expect(rendered.skipped.map(({ app, reason }) => [app, reason])).toEqual([
      [
        "b",
        "port 443: a passes TLS through there; one port cannot both terminate TLS and pass it through",
      ],
      ["c", "port 443 is shared with a, b, d: each route on it needs an sni"],
      ["d", "sni A.example.com on port 443 is already routed to a"],
    ]);
    expect(rendered.services[0]?.frontendOptions).toContain(
      "use_backend a_tcp if { req.ssl_sni -i a.example.com }",
    );
  });

  it("terminates TLS without an SNI with every certificate the unit serves, and waits while it has none", () => {
    const bare = route([target], 5432, { enforceTls: true, tlsTerminate: true });
    const waiting = tcpRouteServices([bare], context);
    expect(waiting.services).toEqual([]);
    expect(waiting.skipped).toEqual([]);
    expect(waiting.notes.join("\n")).toContain(
      "port 5432 terminates TLS and waits for a certificate",
    );
    const served = tcpRouteServices([bare], {
      ...context,
      allCertificateFiles: ["/lib/a.pem", "/lib/b.pem", "/lib/a.pem"],
    });
    expect(served.services[0]?.crts).toEqual([
      { kind: "file", path: "/lib/a.pem" },
      { kind: "file", path: "/lib/b.pem" },
    ]);
    // Terminated here: no TLS hello reaches the rules.
    expect(served.services[0]?.frontendOptions ?? []).not.toContain(
      "tcp-request content reject unless { req.ssl_hello_type 1 }",
    );
  });

  it("writes a check's user as one word, and refuses one that cannot be written", () => {
    expect(haproxyWord("haproxy")).toBe("haproxy");
    expect(haproxyWord("a $HOME #x")).toBe("'a $HOME #x'");
    expect(haproxyWord("it's")).toBeUndefined();
    const rendered = tcpRouteServices(
      [route([target], 5432, { check: { ...quickCheck, type: "mysql", dbUser: "it's" } })],
      context,
    );
    expect(rendered.skipped[0]?.reason).toBe("check.db_user: not a value haproxy can be given");
  });
});
