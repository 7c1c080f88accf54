// Related applications tried as hostile ones would, against a real haproxy:
// a file of the haproxy machine, a service listening only on its loopback, a
// name that leads there. Each is left out with a warning naming the unit, the
// field and what was refused; the other units keep being served. The same data
// with trust_relation_data set shows what the policy keeps out.
import { lookup } from "node:dns/promises";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import path from "node:path";

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";

import { refusedAddressKind } from "../../src/model/relationPolicy.js";
import { findFreePort } from "../helpers/haproxyProcess.js";
import { type Backend, answeringBackends, httpAsk, startBackend } from "../helpers/httpBackends.js";
import { MemoryHookTools } from "../helpers/memoryHookTools.js";
import { type UnitSandbox, createUnitSandbox } from "../helpers/unitSandbox.js";

// The unit's own address, where a co-located application is reached. Every
// other loopback address stands for the machine's private services.
const OWN_ADDRESS = "127.0.0.3";
const RELATION = "reverseproxy:1";
const INGRESS = "ingress:2";

let scratch: string;
let secretFile: string;
const secret = `secret-${process.pid}-${Date.now()}`;
let colocated: Backend;
let machineOnly: Backend;
let sandbox: UnitSandbox;
let tools: MemoryHookTools;
let port: number;

const json = (values: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(values).map(([key, value]) => [key, JSON.stringify(value)]));

const changed = (unit: string, relationId = RELATION) =>
  sandbox.hook(`${relationId.split(":")[0]}-relation-changed`, {
    JUJU_RELATION_ID: relationId,
    JUJU_REMOTE_UNIT: unit,
    JUJU_REMOTE_APP: unit.split("/")[0] as string,
  });

async function trustRelationData(): Promise<void> {
  tools.config = { ...tools.config, trust_relation_data: true };
  await sandbox.hook("config-changed");
}

/** What a GET on `port` answers, or the connection's error code. */
async function ask(onPort: number, urlPath = "/"): Promise<string> {
  try {
    const answer = await httpAsk(onPort, urlPath);
    return `${answer.status} ${answer.body}`;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? String(error);
  }
}

const warnings = () =>
  tools.logs.filter((log) => log.level === "WARNING").map((log) => log.message);

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), "untrusted-"));
  secretFile = path.join(scratch, "root-only.txt");
  await writeFile(secretFile, `${secret}\n`, { mode: 0o600 });
  colocated = await startBackend("colocated", OWN_ADDRESS);
  machineOnly = await startBackend("machine-only", "127.0.0.1");
});
afterAll(async () => {
  await Promise.all([colocated.close(), machineOnly.close()]);
  await rm(scratch, { recursive: true, force: true });
});

afterEach(() => sandbox.cleanup());

/** A unit serving `web` on a free port, with one co-located backend already in it. */
async function reverseproxyUnit(): Promise<void> {
  port = await findFreePort();
  tools = new MemoryHookTools();
  tools.privateAddress = OWN_ADDRESS;
  tools.publicAddress = OWN_ADDRESS;
  tools.config = {
    services:
      `- {service_name: web, service_host: 127.0.0.1, service_port: ${port}, ` +
      `service_options: [balance roundrobin]}`,
  };
  sandbox = await createUnitSandbox(tools, { probePorts: [port] });
  tools.addUnit(RELATION, "good/0", {
    "private-address": OWN_ADDRESS,
    port: String(colocated.port),
  });
  await sandbox.hook("config-changed");
  expect(await answeringBackends(port, 2)).toEqual(["colocated"]);
}

describe("options from a related application", () => {
  beforeEach(reverseproxyUnit);

  it("never make haproxy serve a file of its machine", async () => {
    const evilPort = await findFreePort();
    tools.addUnit(RELATION, "evil/0", {
      "private-address": OWN_ADDRESS,
      services:
        `- {service_name: evil, service_host: 127.0.0.1, service_port: ${evilPort}, ` +
        `service_options: [mode http, 'http-request return status 200 content-type text/plain file ${secretFile}'], ` +
        `servers: [[evil-0, ${OWN_ADDRESS}, ${colocated.port}]]}`,
    });
    await changed("evil/0");

    expect(await ask(evilPort)).toBe("ECONNREFUSED");
    expect(await answeringBackends(port, 4)).toEqual(["colocated"]);
    expect(warnings()).toEqual([
      `reverseproxy unit evil/0 (${RELATION}) not served: services[0] (evil).service_options[1]: ` +
        `"http-request return status 200 content-type text/plain f... refused: ` +
        `"file" names a file on the haproxy machine`,
    ]);
    expect(tools.status).toEqual({
      status: "active",
      message: "Unit is ready; ignoring 1 unit with invalid relation data (see juju debug-log)",
    });

    await trustRelationData();
    expect(await ask(evilPort)).toBe(`200 ${secret}\n`);
  });
});

describe("backends a related application names", () => {
  beforeEach(reverseproxyUnit);

  it("never reach a service that listens only on the machine's loopback", async () => {
    tools.addUnit(RELATION, "evil/0", {
      "private-address": "127.0.0.1",
      port: String(machineOnly.port),
    });
    await changed("evil/0");

    expect(await answeringBackends(port, 6)).toEqual(["colocated"]);
    expect(warnings()).toContainEqual(
      `reverseproxy unit evil/0 (${RELATION}) not served: private-address: "127.0.0.1" is a loopback address`,
    );

    await trustRelationData();
    expect(await answeringBackends(port, 6)).toEqual(["colocated", "machine-only"]);
  });

  it("never reach it by the name localhost", async () => {
    tools.addUnit(RELATION, "evil/0", {
      "private-address": OWN_ADDRESS,
      services: `- {service_name: web, servers: [[evil-0, localhost, ${machineOnly.port}]]}`,
    });
    await changed("evil/0");

    expect(await answeringBackends(port, 6)).toEqual(["colocated"]);
    expect(warnings()).toContainEqual(
      `reverseproxy unit evil/0 (${RELATION}) not served: services[0] (web).servers[0].host: ` +
        `"localhost" names this machine (loopback)`,
    );
  });

  it("are judged by what a name resolves to on the machine, as haproxy will resolve it", async () => {
    const name = hostname();
    const addresses = (await lookup(name, { all: true })).map((entry) => entry.address);
    const leadsToLoopback = addresses.some((address) => refusedAddressKind(address) === "loopback");
    tools.addUnit(RELATION, "named/0", {
      "private-address": OWN_ADDRESS,
      services: `- {service_name: web, servers: [[named-0, ${name}, ${machineOnly.port}]]}`,
    });
    await changed("named/0");

    const answering = await answeringBackends(port, 6);
    if (leadsToLoopback) {
      expect(answering).toEqual(["colocated"]);
      expect(warnings().join("\n")).toMatch(
        new RegExp(
          `servers\\[0\\]\\.host: "${name}" resolves to 127\\.[0-9.]+, a loopback address`,
        ),
      );
    } else {
      // The machine's name leads to one of its own addresses: a co-located application.
      expect(warnings()).toEqual([]);
    }
  });
});

describe("ingress requirers", () => {
  // No classic service: port 80 belongs to ingress alone.
  beforeEach(async () => {
    port = 80;
    tools = new MemoryHookTools();
    tools.privateAddress = OWN_ADDRESS;
    tools.publicAddress = OWN_ADDRESS;
    tools.config = { services: "" };
    sandbox = await createUnitSandbox(tools, { probePorts: [port] });
  });

  it("never route public traffic to the machine's loopback", async () => {
    const bag = (name: string) => json({ model: "prod", name, port: machineOnly.port });
    tools.setRemoteApp(INGRESS, "evil", bag("evil"));
    tools.addUnit(INGRESS, "evil/0", json({ host: "localhost", ip: "127.0.0.1" }));
    tools.setRemoteApp(
      "ingress:3",
      "fine",
      json({ model: "prod", name: "fine", port: colocated.port }),
    );
    tools.addUnit("ingress:3", "fine/0", json({ host: OWN_ADDRESS }));
    await changed("evil/0", INGRESS);
    await changed("fine/0", "ingress:3");

    // The old worker may take a last connection while the reload hands over its sockets.
    await vi.waitFor(async () => expect(await ask(port, "/prod-fine/")).toBe("200 colocated"), {
      timeout: 5000,
      interval: 100,
    });
    expect(await ask(port, "/prod-evil/")).not.toContain("machine-only");
    expect(warnings()).toContainEqual(
      `ingress application evil (${INGRESS}) not served: evil/0.ip: "127.0.0.1" is a loopback address`,
    );
    expect(tools.localApp.get(INGRESS)?.ingress).toBeUndefined();

    await trustRelationData();
    expect(await ask(port, "/prod-evil/")).toBe("200 machine-only");
  });
});
