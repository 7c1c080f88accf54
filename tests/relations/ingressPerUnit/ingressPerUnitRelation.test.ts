// The ingress-per-unit relation at the hook layer: what the charm reads,
// serves with a real haproxy, publishes as the leader (a YAML mapping of unit
// name to URL, written only when it changes), and how it treats a unit with
// bad data.
import { connect } from "node:net";

import yaml from "js-yaml";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { findFreePort } from "../../helpers/haproxyProcess.js";
import { type Backend, httpGet, startBackend } from "../../helpers/httpBackends.js";
import { MemoryHookTools } from "../../helpers/memoryHookTools.js";
import { type UnitSandbox, createUnitSandbox } from "../../helpers/unitSandbox.js";

let sandbox: UnitSandbox;
let tools: MemoryHookTools;
let backend: Backend;
let tcpBase: number;

const RELATION = "ingress-per-unit:3";

/** A unit's bag as the library writes it: plain strings. */
function join(unit: string, extra: Record<string, string> = {}, relationId = RELATION): void {
  tools.addUnit(relationId, unit, {
    model: "prod",
    name: unit,
    host: "127.0.0.1",
    port: String(backend.port),
    ...extra,
  });
}

const changed = (unit: string, relationId = RELATION) =>
  sandbox.hook("ingress-per-unit-relation-changed", {
    JUJU_RELATION_ID: relationId,
    JUJU_REMOTE_APP: unit.split("/")[0] as string,
    JUJU_REMOTE_UNIT: unit,
  });

const published = (relationId = RELATION) => tools.localApp.get(relationId)?.ingress;
const urls = (relationId = RELATION) => yaml.load(published(relationId) ?? "") as unknown;

/** The first line a TCP listener's unit sends. */
function greeting(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    socket.setEncoding("utf8");
    socket.setTimeout(5000, () => socket.destroy(new Error("no answer")));
    socket.on("connect", () => socket.write("GET / HTTP/1.0\r\n\r\n"));
    let text = "";
    socket.on("data", (chunk: string) => (text += chunk));
    socket.on("end", () => resolve(text));
    socket.on("error", reject);
  });
}

beforeAll(async () => {
  backend = await startBackend("shop/0");
});
afterAll(() => backend.close());

beforeEach(async () => {
  tools = new MemoryHookTools();
  tools.publicAddress = "203.0.113.10";
  tcpBase = await findFreePort();
  // No classic service: port 80 belongs to the routes alone. Loopback units are this machine's.
  tools.config = { services: "", ingress_per_unit_tcp_base_port: tcpBase };
  tools.privateAddress = "127.0.0.1";
  sandbox = await createUnitSandbox(tools, { probePorts: [80] });
});
afterEach(() => sandbox.cleanup());

describe("the ingress-per-unit relation", () => {
  it("serves each unit at /<model>-<app>-<n> and the leader publishes every unit's URL", async () => {
    join("shop/0");
    join("shop/1", { "strip-prefix": "true" });
    await changed("shop/1");
    expect(tools.status).toEqual({ status: "active", message: "Unit is ready" });
    expect((await httpGet(80, "/prod-shop-0/x")).body).toBe("shop/0");
    expect((await httpGet(80, "/prod-shop-1")).body).toBe("shop/0");
    expect(urls()).toEqual({
      "shop/0": { url: "http://203.0.113.10/prod-shop-0" },
      "shop/1": { url: "http://203.0.113.10/prod-shop-1" },
    });
    expect([...tools.opened]).toContain(80);

    tools.config = { ...tools.config, external_hostname: "shop.example.com" };
    await sandbox.hook("config-changed");
    expect(urls()).toEqual({
      "shop/0": { url: "http://shop.example.com/prod-shop-0" },
      "shop/1": { url: "http://shop.example.com/prod-shop-1" },
    });
  });

  it("gives a TCP unit its own port, opened, and publishes host:port", async () => {
    join("db/0", { mode: "tcp" });
    join("shop/0");
    await changed("db/0");
    expect(await greeting(tcpBase)).toContain("shop/0");
    expect([...tools.opened]).toContain(tcpBase);
    expect(urls()).toEqual({
      "db/0": { url: `203.0.113.10:${tcpBase}` },
      "shop/0": { url: "http://203.0.113.10/prod-shop-0" },
    });
  });

  it("publishes nothing from a unit that is not the leader", async () => {
    tools.leader = false;
    join("shop/0");
    await changed("shop/0");
    expect((await httpGet(80, "/prod-shop-0/")).body).toBe("shop/0");
    expect(tools.localApp.get(RELATION)).toBeUndefined();
  });

  it("leaves out a unit with bad data, names it and the field, and serves and publishes the rest", async () => {
    join("shop/0");
    join("shop/1", { port: "80x" });
    join("shop/2", { host: "10.0.0.1\n    server x 1.2.3.4:80" });
    await changed("shop/2");
    const warnings = tools.logs.filter((log) => log.level === "WARNING").map((log) => log.message);
    expect(warnings).toEqual([
      `ingress-per-unit unit shop/1 (${RELATION}) not served: port: "80x" is not a port number (1-65535)`,
      expect.stringMatching(
        /^ingress-per-unit unit shop\/2 \(ingress-per-unit:3\) not served: host: .* is not a host name/,
      ),
    ]);
    expect(tools.status).toEqual({
      status: "active",
      message: "Unit is ready; ignoring 2 units with invalid relation data (see juju debug-log)",
    });
    expect((await httpGet(80, "/prod-shop-0/")).body).toBe("shop/0");
    expect((await httpGet(80, "/prod-shop-1/")).status).toBe(503);
    expect(urls()).toEqual({ "shop/0": { url: "http://203.0.113.10/prod-shop-0" } });
  });

  it("clears the URLs when no unit is served, and writes them only when they change", async () => {
    let writes = 0;
    const write = tools.relationSetApp.bind(tools);
    tools.relationSetApp = async (relationId, settings) => {
      if (relationId === RELATION) writes += 1;
      await write(relationId, settings);
    };
    join("shop/0");
    await changed("shop/0");
    expect(urls()).toEqual({ "shop/0": { url: "http://203.0.113.10/prod-shop-0" } });
    expect(writes).toBe(1);

    // The same data again: nothing to write.
    await changed("shop/0");
    await sandbox.hook("update-status");
    expect(writes).toBe(1);

    join("shop/1");
    await changed("shop/1");
    expect(writes).toBe(2);

    tools.removeUnit(RELATION, "shop/0");
    tools.removeUnit(RELATION, "shop/1");
    await sandbox.hook("ingress-per-unit-relation-departed", {
      JUJU_RELATION_ID: RELATION,
      JUJU_REMOTE_APP: "shop",
      JUJU_REMOTE_UNIT: "shop/1",
      JUJU_DEPARTING_UNIT: "shop/1",
    });
    expect(published()).toBeUndefined();
    expect(writes).toBe(3);
  });

  it("makes the same number of hook-tool calls for the 3rd and the 12th unit's join", async () => {
    const joinCost = async (n: number) => {
      join(`shop/${n}`);
      const before = tools.calls;
      await changed(`shop/${n}`);
      return tools.calls - before;
    };
    const costs: number[] = [];
    for (let n = 0; n < 12; n++) costs.push(await joinCost(n));
    expect(costs[11]).toBe(costs[2]);
    expect(Object.keys(urls() as object)).toHaveLength(12);
  });
});
