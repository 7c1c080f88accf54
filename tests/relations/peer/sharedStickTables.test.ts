// Rate limits shared between haproxy units: two real haproxy processes, each
// with the peers section the charm renders for its unit (the other unit at
// its own loopback address), each with a frontend and a rate-limited backend
// before one real HTTP server. A client who used up the limit through one
// unit is refused by the other. Without the peers section (the control),
// the other unit counts only what reached it, and serves the client.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { askAdminSocket } from "../../../src/metrics/statsSocket.js";
import { RelationPolicy } from "../../../src/model/relationPolicy.js";
import type { HaproxyConfig } from "../../../src/model/types.js";
import { peersSection } from "../../../src/relations/peer/peersSection.js";
import { renderHaproxyConfig } from "../../../src/render/renderHaproxyConfig.js";
import { eventually } from "../../helpers/eventually.js";
import { type Backend, httpAsk, startBackend } from "../../helpers/httpBackends.js";
import { HaproxyProcess, findFreePort } from "../../helpers/haproxyProcess.js";
import { haproxyVersions } from "../../helpers/haproxyVersions.js";

/** A unit of the haproxy application, on its own loopback address. */
interface Unit {
  readonly name: string;
  readonly address: string;
  /** Its frontend, on 127.0.0.1 where the test's client connects. */
  readonly port: number;
  readonly adminSocket: string;
  readonly haproxy: HaproxyProcess;
}

const LIMIT = 3;
const TABLE = "app";

// Both units are on this machine: the test trusts their loopback addresses,
// as an operator's trust_relation_data would.
const trusted = new RelationPolicy({ trusted: true });

let backend: Backend;
let root = "";
const running: HaproxyProcess[] = [];

beforeAll(async () => {
  backend = await startBackend("app/0");
});

afterAll(async () => {
  await backend.close();
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((haproxy) => haproxy.stop()));
  if (root !== "") await rm(root, { recursive: true, force: true });
  root = "";
});

function configOf(unit: Omit<Unit, "haproxy">, peers: HaproxyConfig["peers"]): HaproxyConfig {
  const shared = peers === undefined ? "" : ` peers ${peers.name}`;
  return {
    global: {
      logs: [],
      maxconn: 256,
      user: "haproxy",
      group: "haproxy",
      quiet: false,
      hardStopAfter: "10s",
      spreadChecks: 0,
      dhParam: 2048,
      bindCiphers: "ECDHE+AESGCM",
      statsSockets: [`${unit.adminSocket} mode 600 level admin`],
      serverStateFile: path.join(root, `${unit.name}.state`),
    },
    defaults: {
      log: "global",
      mode: "http",
      options: [],
      retries: 3,
      timeouts: ["client 5000", "connect 5000", "server 5000"],
    },
    userlists: [],
    ...(peers !== undefined && { peers }),
    proxies: [
      {
        frontend: {
          name: `${unit.name}-web`,
          bind: `127.0.0.1:${unit.port}`,
          defaultBackend: TABLE,
          options: [],
        },
        backends: [
          {
            name: TABLE,
            options: [
              `stick-table type ip size 100k expire 60s store http_req_rate(60s)${shared}`,
              "http-request track-sc0 src",
              `http-request deny deny_status 429 if { sc_http_req_rate(0) gt ${LIMIT} }`,
            ],
            errorfiles: [],
            servers: [
              { name: "app-0", address: "127.0.0.1", port: String(backend.port), options: "" },
            ],
          },
        ],
      },
    ],
  };
}

/** Starts haproxy/0 and haproxy/1, each with its own peers section when `sharing`. */
async function startUnits(binary: string, sharing: boolean): Promise<[Unit, Unit]> {
  root = await mkdtemp(path.join(tmpdir(), "shared-stick-tables-"));
  // Every unit uses the same peers_port, each on its own address.
  const peersPort = await findFreePort();
  const planned = [
    { unit: "haproxy/0", address: "127.0.0.1" },
    { unit: "haproxy/1", address: "127.0.0.2" },
  ];
  const units: Unit[] = [];
  for (const { unit, address } of planned) {
    const others = planned
      .filter((other) => other.unit !== unit)
      .map((other) => ({
        relationId: "peer:0",
        unit: other.unit,
        settings: { "private-address": other.address },
      }));
    const reading = peersSection(unit, address, others, peersPort, trusted);
    expect(reading.warnings).toEqual([]);
    const name = unit.replace("/", "-");
    const described = {
      name,
      address,
      port: await findFreePort(),
      adminSocket: path.join(root, `${name}.sock`),
    };
    const configFile = path.join(root, `${name}.cfg`);
    await writeFile(path.join(root, `${name}.state`), "1\n");
    await writeFile(
      configFile,
      renderHaproxyConfig(configOf(described, sharing ? reading.section : undefined)),
    );
    const haproxy = new HaproxyProcess({
      configFile,
      pidFile: path.join(root, `${name}.pid`),
      probePorts: [described.port],
      haproxyBinary: binary,
    });
    await haproxy.start();
    running.push(haproxy);
    units.push({ ...described, haproxy });
  }
  const [a, b] = units;
  if (a === undefined || b === undefined) throw new Error("two units expected");
  return [a, b];
}

/** The client's request rate in `unit`'s table, 0 when it has no entry. */
async function rateSeenBy(unit: Unit): Promise<number> {
  const answer = await askAdminSocket(unit.adminSocket, `show table ${TABLE}`);
  const rate = /key=127\.0\.0\.1 .*http_req_rate\(60000\)=(\d+)/.exec(answer)?.[1];
  return rate === undefined ? 0 : Number(rate);
}

/** Uses up the client's limit through `unit`: it serves LIMIT requests and refuses the next. */
async function useUpLimit(unit: Unit): Promise<void> {
  const statuses: number[] = [];
  for (let i = 0; i <= LIMIT; i += 1) statuses.push((await httpAsk(unit.port)).status);
  expect(statuses).toEqual([...Array<number>(LIMIT).fill(200), 429]);
}

describe.each(haproxyVersions)("haproxy $version", ({ binary }) => {
  it("refuses on one unit a client who used up the limit through the other", async () => {
    const [a, b] = await startUnits(binary, true);
    await useUpLimit(a);
    // A's count reaches B's table through the peers connection.
    await eventually(async () => expect(await rateSeenBy(b)).toBeGreaterThan(LIMIT), 20_000, 200);
    // B's first request from this client.
    expect((await httpAsk(b.port)).status).toBe(429);
    // And back: B's requests are counted on A too.
    await eventually(
      async () => expect(await rateSeenBy(a)).toBeGreaterThan(LIMIT + 1),
      20_000,
      200,
    );
  });

  it("without the peers section, each unit counts only its own requests (control)", async () => {
    const [a, b] = await startUnits(binary, false);
    await useUpLimit(a);
    const answer = await httpAsk(b.port);
    expect(answer.status).toBe(200);
    expect(answer.body).toBe("app/0");
    expect(await rateSeenBy(b)).toBe(1);
  });
});
