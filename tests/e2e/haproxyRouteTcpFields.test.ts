// Every field of haproxy-route-tcp through the packed charm in the local
// model: one haproxy unit, a scripted requirer `db` whose two units run
// scripted TCP servers (and a real redis-server and PostgreSQL), SNI
// routes to HTTPS servers with their own certificates, a route whose TLS
// haproxy terminates with a certificate from a scripted CA, and clients on
// two machines of the model. The requirer's bag changes one field at a time, and each field is
// shown by what connections through haproxy get (or, for health checks, by
// what haproxy's admin socket says of the servers).
import { X509Certificate } from "node:crypto";
import { execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { makeCertificate } from "../helpers/certificates.js";
import { eventually } from "../helpers/eventually.js";
import { LocalModel } from "../localJuju/model.js";
import { type PackedCharm, packCharm } from "./packedCharm.js";
import { ScriptedCa } from "./scriptedCa.js";
import { type Connection, TCP_SERVER, UNACCEPTING_SERVER, connectFrom } from "./tcpProbe.js";
import { ADMIN_SOCKET } from "./unitHaproxy.js";
import { serverStatuses } from "../helpers/showStat.js";

const ENDPOINT = {
  "haproxy-route-tcp": { interface: "haproxy-route-tcp", role: "requires" },
} as const;
const LISTEN = 20000;
// db/0 and db/1 serve these; only db/0 serves SPARE.
const BACKEND = 21000;
const SPARE = 21002;
// db/1 listens there without ever accepting.
const UNACCEPTED = 21003;
const REDIS = 6379;
const POSTGRES = 5432;
// Debian keeps PostgreSQL's server programs out of PATH, under its version.
const POSTGRES_BIN = path.join(
  "/usr/lib/postgresql",
  (existsSync("/usr/lib/postgresql") ? readdirSync("/usr/lib/postgresql") : [])
    .sort((a, b) => Number(a) - Number(b))
    .at(-1) ?? "none",
  "bin",
);
const quickCheck = { interval: 1, rise: 1, fall: 1 };

let charm: PackedCharm;
let model: LocalModel;
let ca: ScriptedCa;
let scratch: string;
let dbId: number;
let certificatesId: number;
const cleanups: (() => void)[] = [];

const haproxyAddress = () => model.requireUnit("haproxy/0").machine.address;
const addressOf = (unit: string) => model.requireUnit(unit).machine.address;

/** JSON text of every value, as the library writes its bag. */
const bag = (fields: Record<string, unknown>): Record<string, string> =>
  Object.fromEntries(
    Object.entries(fields).map(([key, value]) => [key, value === "" ? "" : JSON.stringify(value)]),
  );

// The fields the tests below set, one or two at a time.
const OPTIONAL_FIELDS = [
  "check",
  "load_balancing",
  "server_maxconn",
  "timeout",
  "retry",
  "hosts",
  "proxy_protocol",
  "ip_deny_list",
  "rate_limit",
] as const;

/**
 * db's bag: one port, LISTEN to `backend_port`, plain TCP, and `fields`
 * (every other optional field removed, whatever an earlier test left).
 */
async function setDb(fields: Record<string, unknown> = {}, backendPort = BACKEND): Promise<void> {
  await model.setRelationData(
    "db",
    dbId,
    bag({
      port_mapping: "",
      port: LISTEN,
      backend_port: backendPort,
      enforce_tls: false,
      ...Object.fromEntries(OPTIONAL_FIELDS.map((key) => [key, ""])),
      ...fields,
    }),
  );
  await oneWorker();
}

/**
 * Waits until haproxy's master has one worker left: a reload's old worker
 * still takes a connection for a moment, with the old configuration.
 */
async function oneWorker(): Promise<void> {
  const master = model.system("haproxy/0").haproxy.pid;
  await eventually(() => {
    let workers = "";
    try {
      workers = execFileSync("pgrep", ["-P", String(master)], { encoding: "utf8" });
    } catch {
      // pgrep exits 1 when it finds none.
    }
    expect(workers.trim().split("\n")).toHaveLength(1);
  });
}

/** Connections from a client machine to haproxy's `port`. */
const connect = (connections: readonly Connection[], client = "client/0", port = LISTEN) =>
  connectFrom(model, client, { host: haproxyAddress(), port }, connections);

const times = (count: number, connection: Connection = {}): Connection[] =>
  Array.from({ length: count }, () => connection);

/** The units that answered (the first word of each answer). */
const answeredBy = (outcomes: readonly string[]) =>
  [...new Set(outcomes.map((outcome) => outcome.split(/\s/)[0] ?? ""))].sort();

/** A command on haproxy's admin socket. */
async function askHaproxy(command: string): Promise<string> {
  const script =
    `const s=require("net").connect(${JSON.stringify(ADMIN_SOCKET)});let o="";` +
    `s.on("data",d=>o+=d);s.on("end",()=>process.stdout.write(o));s.end(${JSON.stringify(`${command}\n`)});`;
  return (await model.exec("haproxy/0", [process.execPath, "-e", script])).stdout;
}

/** The check status (`UP`, `DOWN`, ...) of each server of `backend`, by server name. */
async function serverStatus(backend: string): Promise<Record<string, string>> {
  return serverStatuses(await askHaproxy("show stat"), backend);
}

function commandExists(command: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** curl to `https://<name>:<port>/` resolved to haproxy: the body and the certificate it was served with. */
async function httpsThrough(name: string, port: number, trust: string[]) {
  const response = await model.http(`https://${name}:${port}/`, {
    curlArgs: [
      "--resolve",
      `${name}:${port}:${haproxyAddress()}`,
      ...trust,
      "--write-out",
      "%{certs}",
    ],
  });
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(response.body);
  if (pem === null) throw new Error(`no certificate from haproxy: ${response.body}`);
  return {
    // The body (a unit name), then what --write-out prints of the certificates.
    body: response.body.split("\n")[0]?.trim(),
    certificate: new X509Certificate(pem[0]),
  };
}

beforeAll(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), "e2e-tcp-fields-"));
  charm = packCharm();
  model = await LocalModel.create({ name: "tcp-fields" });
  await model.deploy(charm.file, { units: 1 });
  await model.deployScripted("client", { units: 2, endpoints: {} });
  await model.deployScripted("db", {
    units: 2,
    endpoints: ENDPOINT,
    unitSettings: (unit) => ({ address: JSON.stringify(unit.address) }),
  });
  // db/0 answers a check's `ping` with `pong`, db/1 with something else; only db/0 serves SPARE.
  for (const [unit, ping, ports] of [
    ["db/0", "pong", [BACKEND, BACKEND + 1, SPARE]],
    ["db/1", "nope", [BACKEND, BACKEND + 1, REDIS, POSTGRES]],
  ] as const) {
    const settings = { name: unit, host: addressOf(unit), ports, ping };
    await model.runServer(unit, [process.execPath, "-e", TCP_SERVER, JSON.stringify(settings)]);
  }
  dbId = await model.integrate("db:haproxy-route-tcp", "haproxy:haproxy-route-tcp");
  ca = await ScriptedCa.deploy(model);
  certificatesId = await model.integrate("haproxy:certificates", `${ca.name}:certificates`);
}, 240_000);

afterAll(() => {
  model?.destroy();
  charm?.cleanup();
  ca?.cleanup();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  cleanups.forEach((cleanup) => cleanup());
});

describe("every haproxy-route-tcp field, through haproxy in the local model", () => {
  it("maps each port of a listen range onto the backend port at the same offset, on both units", async () => {
    await setDb({
      port: "",
      backend_port: "",
      port_mapping: `${LISTEN}-${LISTEN + 1}:${BACKEND}-${BACKEND + 1}`,
    });
    for (const offset of [0, 1]) {
      const outcomes = await connect(times(4), "client/0", LISTEN + offset);
      for (const outcome of outcomes) expect(outcome).toContain(` port=${BACKEND + offset} `);
      expect(answeredBy(outcomes)).toEqual(["db/0", "db/1"]);
    }
  });

  it("marks a server down when the generic check's expected answer does not come, and sends nothing to it", async () => {
    await setDb({
      check: { ...quickCheck, check_type: "generic", send: "ping\n", expect: "pong" },
    });
    await eventually(async () =>
      expect(await serverStatus("db_tcp")).toEqual({ "db-0": "UP", "db-1": "DOWN" }),
    );
    expect(answeredBy(await connect(times(4)))).toEqual(["db/0"]);
    // Without the check, nothing holds db/1 down: the reload does not carry its DOWN over.
    await setDb();
    expect(answeredBy(await connect(times(4)))).toEqual(["db/0", "db/1"]);
  });

  it("checks a real redis-server with haproxy's redis check", async (test) => {
    if (!commandExists("redis-server")) {
      console.warn(
        "\n!!! redis-server is not installed (`make deps` installs it): no redis check here. !!!\n",
      );
      test.skip();
      return;
    }
    // db/0 runs redis-server on the port; db/1 a server that does not speak redis. Without
    // a password, redis answers only loopback clients unless protected mode is off.
    await model.runServer(
      "db/0",
      [
        ...["redis-server", "--port", String(REDIS), "--bind", addressOf("db/0")],
        ...["--save", "", "--protected-mode", "no"],
      ],
      "Ready to accept connections",
    );
    await setDb({ check: { ...quickCheck, check_type: "redis" } }, REDIS);
    await eventually(async () =>
      expect(await serverStatus("db_tcp")).toEqual({ "db-0": "UP", "db-1": "DOWN" }),
    );
    expect(await connect(times(2, { send: "PING\r\nQUIT\r\n" }))).toEqual([
      "+PONG\r\n+OK\r\n",
      "+PONG\r\n+OK\r\n",
    ]);
  });

  it("checks a real PostgreSQL as the check's user", async (test) => {
    if (!existsSync(path.join(POSTGRES_BIN, "postgres"))) {
      console.warn(
        `\n!!! no PostgreSQL in ${POSTGRES_BIN}: the postgres check is not run here. !!!\n`,
      );
      test.skip();
      return;
    }
    // db/0 runs PostgreSQL on the port, letting in only the user `haproxy` from haproxy's
    // unit; db/1 a server that does not speak PostgreSQL. PostgreSQL runs as its own
    // account, in a directory of its own.
    const pgDir = mkdtempSync(path.join(tmpdir(), "e2e-postgres-"));
    cleanups.push(() => rmSync(pgDir, { recursive: true, force: true }));
    chownSync(pgDir, Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" })), 0);
    const asPostgres = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"];
    const data = path.join(pgDir, "data");
    const initdb = await model.exec("db/0", [
      ...asPostgres,
      path.join(POSTGRES_BIN, "initdb"),
      ...["-D", data, "-U", "haproxy", "--auth=trust", "-N"],
    ]);
    expect(initdb.exitCode).toBe(0);
    writeFileSync(
      path.join(data, "pg_hba.conf"),
      `host all haproxy ${haproxyAddress()}/32 trust\n`,
    );
    await model.runServer(
      "db/0",
      [
        "sh",
        "-c",
        'exec "$@" 2>&1',
        "sh",
        ...asPostgres,
        path.join(POSTGRES_BIN, "postgres"),
        ...["-D", data, "-p", String(POSTGRES), "-k", pgDir],
        ...["-c", `listen_addresses=${addressOf("db/0")}`],
      ],
      "ready to accept connections",
    );
    await setDb({ check: { ...quickCheck, check_type: "postgres", db_user: "haproxy" } }, POSTGRES);
    await eventually(async () =>
      expect(await serverStatus("db_tcp")).toEqual({ "db-0": "UP", "db-1": "DOWN" }),
    );
    // A user PostgreSQL refuses: the check logs in as db_user, and fails.
    await setDb({ check: { ...quickCheck, check_type: "postgres", db_user: "nobody" } }, POSTGRES);
    await eventually(async () =>
      expect(await serverStatus("db_tcp")).toEqual({ "db-0": "DOWN", "db-1": "DOWN" }),
    );
  });

  it("balances by least connections, then by the client's address", async () => {
    await setDb({ load_balancing: { algorithm: "leastconn" } });
    // One connection held on one unit: the next ones all go to the other. (haproxy may
    // count a connection that just ended a moment longer, making a tie: then try again.
    // Round robin or source would send some to the holder every time.)
    await eventually(async () => {
      const [held = "", ...next] = await connect([{ send: "hold\n", hold: true }, ...times(4)]);
      const holder = held.trim();
      expect(["db/0", "db/1"]).toContain(holder);
      expect(answeredBy(next)).toEqual([holder === "db/0" ? "db/1" : "db/0"]);
    });

    await setDb({ load_balancing: { algorithm: "source" } });
    expect(answeredBy(await connect(times(6)))).toHaveLength(1);
  });

  it("queues a connection beyond server_maxconn and gives it up after the queue timeout", async () => {
    await setDb({ server_maxconn: 1, timeout: { server: null, connect: null, queue: 1 } });
    // Both units hold one connection each: a third finds no free server.
    const outcomes = await connect([
      { send: "hold\n", hold: true },
      { send: "hold\n", hold: true },
      { waitMs: 6000 },
    ]);
    expect(answeredBy(outcomes.slice(0, 2))).toEqual(["db/0", "db/1"]);
    expect(outcomes[2]).toBe("refused");
  });

  it("closes a connection whose server stays silent past the server timeout", async () => {
    await setDb();
    // haproxy's own default (50 s) keeps it open longer than the client waits.
    expect(await connect([{ send: "silent\n", waitMs: 3000 }])).toEqual(["open"]);
    await setDb({ timeout: { server: 1, connect: null, queue: null } });
    expect(await connect([{ send: "silent\n", waitMs: 6000 }])).toEqual(["refused"]);
    expect(answeredBy(await connect(times(2)))).toEqual(["db/0", "db/1"]);
  });

  it("gives up a connection its server does not take within the connect timeout", async () => {
    const db1 = { host: addressOf("db/1"), port: UNACCEPTED };
    await model.runServer("db/1", [
      "python3",
      "-c",
      UNACCEPTING_SERVER,
      db1.host,
      String(db1.port),
    ]);
    // One connection fills the server's queue: every later attempt goes unanswered.
    expect(await connectFrom(model, "client/1", db1, [{ waitMs: 500 }])).toEqual(["open"]);
    const toDb1 = { hosts: [db1.host], retry: { count: 0, redispatch: false } };
    await setDb(toDb1, UNACCEPTED);
    // haproxy's own default (5 s) outlasts the client's wait.
    expect(await connect([{ waitMs: 3000 }])).toEqual(["open"]);
    await setDb({ ...toDb1, timeout: { server: null, connect: 1, queue: null } }, UNACCEPTED);
    expect(await connect([{ waitMs: 3000 }])).toEqual(["refused"]);
  });

  it("redispatches a connection its server refuses to another server", async () => {
    // Only db/0 listens on SPARE, and no check tells haproxy that db/1 does not.
    // Without retries, the connections sent to db/1 are closed at once.
    await setDb({ retry: { count: 0, redispatch: false } }, SPARE);
    const refused = await connect(times(4));
    expect(refused).toContain("refused");
    expect(answeredBy(refused)).toEqual(["db/0", "refused"]);
    await setDb({ retry: { count: 1, redispatch: true } }, SPARE);
    expect(answeredBy(await connect(times(6)))).toEqual(["db/0"]);
  });

  it("sends to the requirer's hosts instead of its units", async () => {
    await setDb({ hosts: [addressOf("db/1")] });
    expect(answeredBy(await connect(times(4)))).toEqual(["db/1"]);
  });

  it("tells the servers the real client's address in a PROXY v2 header", async () => {
    await setDb({ proxy_protocol: true });
    for (const client of ["client/0", "client/1"]) {
      for (const outcome of await connect(times(2), client)) {
        expect(outcome).toMatch(
          new RegExp(` client=${addressOf(client).replaceAll(".", "\\.")}\\n$`),
        );
      }
    }
    await setDb();
    expect(await connect(times(1))).toEqual([expect.stringMatching(/ client=-\n$/)]);
  });

  it("refuses a client on the ip_deny_list and serves another", async () => {
    await setDb({ ip_deny_list: [addressOf("client/0")] });
    expect(await connect(times(2), "client/0")).toEqual(["refused", "refused"]);
    expect(answeredBy(await connect(times(2), "client/1"))).toEqual(["db/0", "db/1"]);
  });

  it("refuses a client's connection beyond its rate limit and serves another client", async () => {
    await setDb({ rate_limit: { connections_per_minute: 3, policy: "reject" } });
    const outcomes = await connect(times(4), "client/0");
    expect(answeredBy(outcomes.slice(0, 3))).toEqual(["db/0", "db/1"]);
    expect(outcomes[3]).toBe("refused");
    expect(answeredBy(await connect(times(2), "client/1"))).toEqual(["db/0", "db/1"]);
  });

  it("routes two SNIs of one port to their own HTTPS servers, TLS passed through", async () => {
    for (const app of ["alpha", "beta"]) {
      const name = `${app}.example.com`;
      await model.deployScripted(app, {
        units: 1,
        endpoints: ENDPOINT,
        unitSettings: (unit) => ({ address: JSON.stringify(unit.address) }),
      });
      const { certificate, key } = makeCertificate(name);
      await model.serveHttp(`${app}/0`, 8443, `${app}/0`, { certificate, key });
      const id = await model.integrate(`${app}:haproxy-route-tcp`, "haproxy:haproxy-route-tcp");
      await model.setRelationData(
        app,
        id,
        bag({ port: 9443, backend_port: 8443, sni: name, tls_terminate: false }),
      );
    }
    for (const app of ["alpha", "beta"]) {
      const { body, certificate } = await httpsThrough(`${app}.example.com`, 9443, ["-k"]);
      expect(body).toBe(`${app}/0`);
      // The server's own certificate: haproxy did not touch TLS.
      expect(certificate.subject).toBe(`CN=${app}.example.com`);
      expect(model.backendServer(`${app}/0`, 8443).requests().length).toBeGreaterThan(0);
    }
    await expect(httpsThrough("gamma.example.com", 9443, ["-k"])).rejects.toThrow(/curl .* failed/);
    // enforce_tls: plain TCP gets nowhere on the port.
    expect(await connect([{ waitMs: 7000 }], "client/0", 9443)).toEqual(["refused"]);
  });

  it("terminates TLS for an SNI with the certificate the certificates relation issued for it", async () => {
    const name = "vault.example.com";
    await model.deployScripted("vault", {
      units: 1,
      endpoints: ENDPOINT,
      unitSettings: (unit) => ({ address: JSON.stringify(unit.address) }),
      httpPort: 8080,
    });
    const id = await model.integrate("vault:haproxy-route-tcp", "haproxy:haproxy-route-tcp");
    await model.setRelationData(
      "vault",
      id,
      bag({ port: 9444, backend_port: 8080, sni: name, tls_terminate: true }),
    );
    expect(ca.requests(certificatesId)).toHaveLength(1);
    await ca.answer(certificatesId);
    const caFile = path.join(scratch, "ca.pem");
    writeFileSync(caFile, ca.ca.certificate);
    await eventually(async () => {
      const { body, certificate } = await httpsThrough(name, 9444, ["--cacert", caFile]);
      // Plain HTTP reached the unit's server: haproxy spoke TLS with the client.
      expect(body).toBe("vault/0");
      expect(certificate.subject).toContain(`CN=${name}`);
      expect(certificate.issuer).toBe("CN=Local model CA");
    });
  });
});
