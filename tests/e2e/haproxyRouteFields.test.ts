// haproxy-route's plain-HTTP fields end to end: the packed charm (one unit)
// in the local model and a scripted requirer with two units running real web
// servers that log every request they receive. Each field is changed in the
// relation data and shown through requests to haproxy: what the client gets,
// what the backends saw (health checks included), and what haproxy says on
// its admin socket. `allow_http` serves everything on port 80, without
// certificates.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { eventually } from "../helpers/eventually.js";
import { HAPROXY3_BINARY, haproxy3Problem } from "../helpers/haproxyVersions.js";
import { type HttpOptions, type HttpResponse } from "../localJuju/httpClient.js";
import { LocalModel, type SeenRequest } from "../localJuju/model.js";
import { type PackedCharm, packCharm } from "./packedCharm.js";
import { askUnit } from "./unitHaproxy.js";
import { serverColumns } from "../helpers/showStat.js";
import { UNACCEPTING_SERVER, connectFrom } from "./tcpProbe.js";

const SHOP = "shop.example.com";
const SHOP_UNITS = ["shop/0", "shop/1"];
const APP_PORT = 8080;
const CHECK_PORT = 8090;
const json = JSON.stringify;

let charm: PackedCharm;
let model: LocalModel;
let routeId: number;

const haproxyAddress = () => model.requireUnit("haproxy/0").machine.address;
const unitAddress = (unit: string) => model.requireUnit(unit).machine.address;

/** The requirer's leader writes `fields` into its app bag ("" removes a key). */
const route = (fields: Record<string, string>) => model.setRelationData("shop", routeId, fields);

/** A plain HTTP request through haproxy, with `host` resolved to haproxy's unit. */
function get(
  pathAndQuery: string,
  options: HttpOptions & { readonly host?: string } = {},
): Promise<HttpResponse> {
  const host = options.host ?? SHOP;
  return model.http(`http://${host}${pathAndQuery}`, {
    ...options,
    curlArgs: ["--resolve", `${host}:80:${haproxyAddress()}`, ...(options.curlArgs ?? [])],
  });
}

/** Which unit answered (the web servers answer with their unit's name). */
const servedBy = (response: HttpResponse) => response.body.trim();

/** The units that answer `count` requests in a row. */
async function unitsAnswering(count: number, headers: Record<string, string> = {}) {
  const units = new Set<string>();
  for (let i = 0; i < count; i++) {
    const response = await get("/", { headers });
    expect(response.status).toBe(200);
    units.add(servedBy(response));
  }
  return [...units].sort();
}

let markCount = 0;
/** A header value no other request carries, to find a request in the backends' logs. */
const newMark = () => `m${++markCount}-${Date.now()}`;

/** The requests a unit's server on `port` received that carry `mark` in X-Mark. */
const receivedWith = (unit: string, mark: string, port = APP_PORT): SeenRequest[] =>
  model
    .backendServer(unit, port)
    .requests()
    .filter((request) => request.headers["x-mark"] === mark);

/** Health checks a unit's server on `port` received: haproxy's checks carry no X-Mark. */
const checksAt = (unit: string, port: number, checkPath: string): SeenRequest[] =>
  model
    .backendServer(unit, port)
    .requests()
    .filter((request) => request.url === checkPath && request.headers["x-mark"] === undefined);

/** A command on haproxy's admin socket. */
const askHaproxy = (command: string): Promise<string> => askUnit(model, "haproxy/0", command);

/** A server's row of `show stat`, by column name. */
async function serverStat(server: string): Promise<Record<string, string>> {
  const columns = serverColumns(await askHaproxy("show stat"), "shop", server);
  if (Object.keys(columns).length === 0) throw new Error(`no server ${server} in backend shop`);
  return columns;
}

/** Waits until a unit's web server has received a request carrying `mark`. */
async function untilReceived(mark: string): Promise<string> {
  let unit = "";
  await eventually(() => {
    const found = SHOP_UNITS.find((name) => receivedWith(name, mark).length > 0);
    expect(found).toBeDefined();
    unit = found ?? "";
  });
  return unit;
}

beforeAll(async () => {
  charm = packCharm();
  model = await LocalModel.create({ name: "fields" });
  await model.deploy(charm.file, { units: 1 });
  await model.deployScripted("shop", {
    units: 2,
    endpoints: { "haproxy-route": { interface: "haproxy-route", role: "requires" } },
    unitSettings: (unit) => ({ address: json(unit.address) }),
    httpPort: APP_PORT,
  });
  routeId = await model.integrate("shop:haproxy-route", "haproxy:haproxy-route");
  await route({
    service: json("shop"),
    ports: json([APP_PORT]),
    hostname: json(SHOP),
    allow_http: "true",
  });
}, 180_000);

afterAll(() => {
  model?.destroy();
  charm?.cleanup();
});

describe("haproxy-route's fields, each shown through requests to haproxy", () => {
  it("allow_http: serves plain HTTP from both units, without certificates", async () => {
    const response = await get("/");
    expect(response.status).toBe(200);
    expect(await unitsAnswering(6)).toEqual(SHOP_UNITS);
  });

  it("hosts and ports: the servers are the listed addresses on every listed port, not the units", async () => {
    await model.serveHttp("shop/1", 8081, "shop/1:8081");
    await route({
      hosts: json([unitAddress("shop/1")]),
      ports: json([APP_PORT, 8081]),
      load_balancing: json({ algorithm: "roundrobin" }),
    });
    try {
      expect(await unitsAnswering(6)).toEqual(["shop/1", "shop/1:8081"]);
    } finally {
      await route({ hosts: "", ports: json([APP_PORT]), load_balancing: "" });
    }
    expect(await unitsAnswering(6)).toEqual(SHOP_UNITS);
  });

  it("hostname, additional_hostnames and a wildcard: Host matched without its port and case", async () => {
    const byHost = async (host: string) =>
      (await model.http(`http://${haproxyAddress()}/`, { headers: { Host: host } })).status;
    expect(await byHost("www.shop.example.com")).toBe(503);
    expect(await byHost("a.example.com")).toBe(503);
    await route({ additional_hostnames: json(["www.shop.example.com", "*.example.com"]) });
    try {
      expect(await byHost(SHOP)).toBe(200);
      expect(await byHost("www.shop.example.com")).toBe(200);
      expect(await byHost("a.example.com")).toBe(200);
      expect(await byHost("SHOP.Example.COM:80")).toBe(200);
      expect(await byHost("WWW.SHOP.EXAMPLE.COM:8080")).toBe(200);
      // A wildcard stands for one label, and other domains are not routed.
      expect(await byHost("a.b.example.com")).toBe(503);
      expect(await byHost("shop.example.org")).toBe(503);
    } finally {
      await route({ additional_hostnames: "" });
    }
    expect(await byHost("a.example.com")).toBe(503);
  });

  it("paths: a deeper path of another application wins over a shallower one", async () => {
    await model.deployScripted("shopv2", {
      units: 1,
      endpoints: { "haproxy-route": { interface: "haproxy-route", role: "requires" } },
      unitSettings: (unit) => ({ address: json(unit.address) }),
      httpPort: APP_PORT,
    });
    const v2Id = await model.integrate("shopv2:haproxy-route", "haproxy:haproxy-route");
    await route({ paths: json(["/api"]) });
    await model.setRelationData("shopv2", v2Id, {
      service: json("shopv2"),
      ports: json([APP_PORT]),
      hostname: json(SHOP),
      paths: json(["/api/v2"]),
      allow_http: "true",
    });
    try {
      for (let i = 0; i < 4; i++) {
        expect(servedBy(await get("/api/v2/items"))).toBe("shopv2/0");
        expect(servedBy(await get("/api/v2"))).toBe("shopv2/0");
        expect(servedBy(await get("/api/items"))).toMatch(/^shop\/[01]$/);
      }
      expect((await get("/other")).status).toBe(503);
    } finally {
      // shopv2 stays related: later requests do not go below /api/v2.
      await route({ paths: "" });
    }
    expect((await get("/other")).status).toBe(200);
  });

  it("rewrites: set-path, set-query and set-header reach the backend", async () => {
    await route({
      rewrites: json([
        { method: "set-path", expression: "/v1%[path]" },
        { method: "set-query", expression: "via=haproxy" },
        { method: "set-header", header: "X-Route", expression: "shop-%[path]" },
      ]),
    });
    try {
      const mark = newMark();
      const response = await get("/items?page=2", { headers: { "X-Mark": mark } });
      expect(response.status).toBe(200);
      const [seen] = receivedWith(servedBy(response), mark);
      expect(seen?.url).toBe("/v1/items?via=haproxy");
      // Rules run in order: the header sees the path set-path made.
      expect(seen?.headers["x-route"]).toBe("shop-/v1/items");
    } finally {
      await route({ rewrites: "" });
    }
    const mark = newMark();
    const plain = await get("/items?page=2", { headers: { "X-Mark": mark } });
    expect(receivedWith(servedBy(plain), mark)[0]?.url).toBe("/items?page=2");
  });

  it("check: path and Host of the check, then its port; rise and fall as haproxy holds them", async () => {
    await route({ check: json({ interval: 1, rise: 1, fall: 2, path: "/healthz" }) });
    await eventually(() => {
      for (const unit of SHOP_UNITS) {
        const checks = checksAt(unit, APP_PORT, "/healthz");
        expect(checks.length).toBeGreaterThanOrEqual(2);
        expect(checks.at(-1)?.method).toBe("GET");
        expect(checks.at(-1)?.headers.host).toBe(SHOP);
      }
    });
    const stat = await serverStat("shop-0_8080");
    expect([stat.check_rise, stat.check_fall]).toEqual(["1", "2"]);

    for (const unit of SHOP_UNITS) await model.serveHttp(unit, CHECK_PORT, "healthy");
    await route({
      check: json({ interval: 1, rise: 1, fall: 2, path: "/healthz", port: CHECK_PORT }),
    });
    const onAppPort = SHOP_UNITS.map((unit) => checksAt(unit, APP_PORT, "/healthz").length);
    await eventually(() => {
      for (const unit of SHOP_UNITS) {
        expect(checksAt(unit, CHECK_PORT, "/healthz").length).toBeGreaterThanOrEqual(3);
      }
    });
    // Once checks go to the other port, the application's port gets none (one in flight at
    // the reload at most).
    for (const [i, unit] of SHOP_UNITS.entries()) {
      expect(checksAt(unit, APP_PORT, "/healthz").length).toBeLessThanOrEqual(
        (onAppPort[i] ?? 0) + 1,
      );
    }
  });

  it("check: a unit whose check fails is taken out, and back once it passes", async () => {
    model.backendServer("shop/0", CHECK_PORT).stop();
    await eventually(async () => {
      expect((await serverStat("shop-0_8080")).status).toMatch(/^DOWN/);
    });
    // Its application port still answers, but haproxy sends it nothing.
    expect(await unitsAnswering(6)).toEqual(["shop/1"]);
    await model.serveHttp("shop/0", CHECK_PORT, "healthy");
    await eventually(async () => {
      expect((await serverStat("shop-0_8080")).status).toBe("UP");
    });
    expect(await unitsAnswering(6)).toEqual(SHOP_UNITS);
  });

  it("check: interval, a long one leaves each server checked once at most", async () => {
    await route({
      check: json({ interval: 3600, rise: 1, fall: 2, path: "/healthz", port: CHECK_PORT }),
    });
    const before = SHOP_UNITS.map((unit) => checksAt(unit, CHECK_PORT, "/healthz").length);
    // Nothing to wait for but time: haproxy's default (2 s) would check each twice meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 5000));
    for (const [i, unit] of SHOP_UNITS.entries()) {
      expect(checksAt(unit, CHECK_PORT, "/healthz").length - (before[i] ?? 0)).toBeLessThanOrEqual(
        1,
      );
    }
    await route({ check: "" });
  });

  it("load_balancing: leastconn (the default) avoids a busy unit, roundrobin does not", async () => {
    /** The units answering quick requests while one unit holds a slow one. */
    const whileOneIsBusy = async () => {
      const mark = newMark();
      const slow = get("/?delay=4000", { headers: { "X-Mark": mark }, timeoutMs: 15_000 });
      const busy = await untilReceived(mark);
      const quick = await unitsAnswering(4);
      await slow;
      return { busy, quick };
    };
    const leastconn = await whileOneIsBusy();
    expect(leastconn.quick).not.toContain(leastconn.busy);
    await route({ load_balancing: json({ algorithm: "roundrobin" }) });
    try {
      const roundrobin = await whileOneIsBusy();
      expect(roundrobin.quick).toEqual(SHOP_UNITS);
    } finally {
      await route({ load_balancing: "" });
    }
  });

  it("load_balancing: source keeps a client on one unit", async () => {
    await route({ load_balancing: json({ algorithm: "source" }) });
    try {
      expect(await unitsAnswering(8)).toHaveLength(1);
    } finally {
      await route({ load_balancing: "" });
    }
  });

  it("load_balancing: cookie keeps requests with one cookie value on one unit", async () => {
    await route({ load_balancing: json({ algorithm: "cookie", cookie: "session" }) });
    try {
      for (const value of ["alice", "bob"]) {
        expect(await unitsAnswering(6, { Cookie: `session=${value}` })).toHaveLength(1);
      }
      // Values are spread over both units: hashed, not pinned to one.
      const units = new Set<string>();
      for (let i = 0; i < 16; i++) {
        units.add(servedBy(await get("/", { headers: { Cookie: `session=user${i}` } })));
      }
      expect([...units].sort()).toEqual(SHOP_UNITS);
    } finally {
      await route({ load_balancing: "" });
    }
  });

  it("load_balancing: consistent_hashing makes the hash dynamic (haproxy takes any weight)", async () => {
    // Map-based hashing is static: haproxy takes only the weights 0% and 100% at run time.
    const setWeight = (weight = "50") => askHaproxy(`set server shop/shop-0_8080 weight ${weight}`);
    await route({ load_balancing: json({ algorithm: "source" }) });
    expect(await setWeight()).toMatch(/static/);
    await route({ load_balancing: json({ algorithm: "source", consistent_hashing: true }) });
    try {
      expect((await setWeight()).trim()).toBe("");
      expect((await serverStat("shop-0_8080")).weight).toBe("50");
    } finally {
      // haproxy keeps a weight set at run time over reloads (its server-state file).
      await setWeight("100%");
      await route({ load_balancing: "" });
    }
  });

  it("retry: redispatch sends a request to the other unit when one unit's server is gone", async () => {
    await route({
      load_balancing: json({ algorithm: "roundrobin" }),
      retry: json({ count: 1, redispatch: true }),
    });
    model.backendServer("shop/0", APP_PORT).stop();
    try {
      // No check is asked for: haproxy keeps both servers up and finds out per connection.
      for (let i = 0; i < 6; i++) {
        const response = await get("/");
        expect(response.status).toBe(200);
        expect(servedBy(response)).toBe("shop/1");
      }
      await route({ retry: json({ count: 1, redispatch: false }) });
      const statuses = new Set<number>();
      for (let i = 0; i < 6; i++) statuses.add((await get("/")).status);
      expect([...statuses].sort()).toEqual([200, 503]);
    } finally {
      await model.serveHttp("shop/0", APP_PORT);
      await route({ load_balancing: "", retry: "" });
    }
    expect(await unitsAnswering(6)).toEqual(SHOP_UNITS);
  });

  it("deny_paths: refused with 403 before the backend sees them, other paths served", async () => {
    await route({ deny_paths: json(["/private", "/admin"]) });
    try {
      const mark = newMark();
      for (const denied of ["/private", "/private/keys", "/admin/x"]) {
        expect((await get(denied, { headers: { "X-Mark": mark } })).status).toBe(403);
      }
      expect((await get("/public", { headers: { "X-Mark": mark } })).status).toBe(200);
      const seen = SHOP_UNITS.flatMap((unit) => receivedWith(unit, mark)).map((r) => r.url);
      expect(seen).toEqual(["/public"]);
    } finally {
      await route({ deny_paths: "" });
    }
    expect((await get("/private")).status).toBe(200);
  });

  it("timeout.server: an answer slower than it is a 504", async () => {
    await route({ timeout: json({ server: 1 }) });
    try {
      expect((await get("/?delay=3000")).status).toBe(504);
      expect((await get("/?delay=0")).status).toBe(200);
    } finally {
      await route({ timeout: "" });
    }
    expect((await get("/?delay=2000")).status).toBe(200);
  });

  it("timeout.connect: a server that never accepts the connection is given up on after it, with a 503", async () => {
    const unaccepting = { host: unitAddress("shop/1"), port: 8097 };
    await model.runServer("shop/1", [
      "python3",
      "-c",
      UNACCEPTING_SERVER,
      unaccepting.host,
      String(unaccepting.port),
    ]);
    // One connection fills its queue: every later attempt goes unanswered.
    expect(await connectFrom(model, "shop/0", unaccepting, [{ waitMs: 500 }])).toEqual(["open"]);
    await route({
      hosts: json([unaccepting.host]),
      ports: json([unaccepting.port]),
      retry: json({ count: 0, redispatch: false }),
    });
    try {
      // The route's default connect timeout (60 s) outlasts the client's 3 s.
      await expect(get("/", { timeoutMs: 3000 })).rejects.toThrow(/curl .* failed/);
      await route({ timeout: json({ connect: 1 }) });
      expect((await get("/", { timeoutMs: 8000 })).status).toBe(503);
    } finally {
      await route({ hosts: "", ports: json([APP_PORT]), retry: "", timeout: "" });
    }
    expect((await get("/")).status).toBe(200);
  });

  it("server_maxconn and timeout.queue: a request beyond every server's maxconn waits, then gets 503", async () => {
    await route({ server_maxconn: "1", timeout: json({ server: 30, queue: 1 }) });
    try {
      for (const unit of SHOP_UNITS) {
        expect((await serverStat(`${unit.replace("/", "-")}_8080`)).slim).toBe("1");
      }
      // Two slow requests, one after the other has arrived, take the one connection
      // each server allows...
      const slow: ReturnType<typeof get>[] = [];
      const busy: string[] = [];
      for (let i = 0; i < 2; i++) {
        const mark = newMark();
        slow.push(get("/?delay=8000", { headers: { "X-Mark": mark }, timeoutMs: 20_000 }));
        busy.push(await untilReceived(mark));
      }
      expect(busy.sort()).toEqual(SHOP_UNITS);
      // ...so a third one queues, and the queue's timeout answers it before either is free.
      const mark = newMark();
      const queued = await get("/", { headers: { "X-Mark": mark }, timeoutMs: 15_000 });
      expect(queued.status).toBe(503);
      expect(SHOP_UNITS.flatMap((unit) => receivedWith(unit, mark))).toEqual([]);
      for (const response of await Promise.all(slow)) expect(response.status).toBe(200);
    } finally {
      await route({ server_maxconn: "", timeout: "" });
    }
  });

  it("http_server_close: two requests on one client connection reach the backend on two connections", async () => {
    // source: both requests of the connection go to the same unit.
    await route({ load_balancing: json({ algorithm: "source" }) });
    /**
     * Of two requests on one curl connection, those that came on a backend connection
     * that carried another request too. Without the option haproxy keeps its server
     * connections open and sends the second request on one (its own, or an idle one
     * another client left); with it, every request gets a connection of its own.
     */
    const onSharedConnections = async () => {
      const mark = newMark();
      await get("/second", { headers: { "X-Mark": mark }, curlArgs: [`http://${SHOP}/first`] });
      const seen = SHOP_UNITS.flatMap((unit) =>
        receivedWith(unit, mark).map((request) => ({ unit, ...request })),
      );
      expect(seen.map((request) => request.url).sort()).toEqual(["/first", "/second"]);
      const shared = seen.filter(
        ({ unit, remotePort }) =>
          model
            .backendServer(unit, APP_PORT)
            .requests()
            .filter((other) => other.remotePort === remotePort).length > 1,
      );
      return shared.map((request) => request.url).sort();
    };
    try {
      expect(await onSharedConnections()).toContain("/second");
      await route({ http_server_close: "true" });
      expect(await onSharedConnections()).toEqual([]);
    } finally {
      await route({ load_balancing: "", http_server_close: "" });
    }
  });

  it("bandwidth_limit: haproxy 2.6 cannot apply it, so the unit warns and still serves the route", async () => {
    await route({ bandwidth_limit: json({ download: 1000 }) });
    try {
      const warnings = model
        .requireUnit("haproxy/0")
        .log.filter((line) => line.level === "WARNING" && line.message.includes("bandwidth_limit"))
        .map((line) => line.message);
      expect(warnings.at(-1)).toBe(
        `haproxy-route:${routeId}: haproxy-route shop: bandwidth_limit is not applied: it needs haproxy 2.7 or later`,
      );
      expect(await unitsAnswering(4)).toEqual(SHOP_UNITS);
    } finally {
      await route({ bandwidth_limit: "" });
    }
  });
});

describe("haproxy-route's bandwidth_limit where haproxy can apply it (3.0)", () => {
  it.skipIf(haproxy3Problem() !== undefined)(
    "holds a download to its rate",
    async () => {
      const big = await LocalModel.create({ name: "bwlim", haproxyBinary: HAPROXY3_BINARY });
      try {
        await big.deploy(charm.file, { units: 1 });
        await big.deployScripted("media", {
          units: 1,
          endpoints: { "haproxy-route": { interface: "haproxy-route", role: "requires" } },
          unitSettings: (unit) => ({ address: json(unit.address) }),
        });
        // Its own server: the model's web servers echo their reply in a header too, and 20 kB
        // of header is more than haproxy takes.
        const body = "x".repeat(20_000);
        const server = `require("node:http").createServer((q, r) => r.end(${json(body)}))
          .listen(${APP_PORT}, () => process.stdout.write("listening\\n"));`;
        await big.runServer("media/0", [process.execPath, "-e", server]);
        const id = await big.integrate("media:haproxy-route", "haproxy:haproxy-route");
        await big.setRelationData("media", id, {
          service: json("media"),
          ports: json([APP_PORT]),
          hostname: json("media.example.com"),
          allow_http: "true",
          bandwidth_limit: json({ download: 8000 }),
        });
        const address = big.requireUnit("haproxy/0").machine.address;
        const started = Date.now();
        const response = await big.http("http://media.example.com/", {
          curlArgs: ["--resolve", `media.example.com:80:${address}`],
          timeoutMs: 15_000,
        });
        const took = Date.now() - started;
        expect(response.status).toBe(200);
        expect(response.body.trim()).toBe(body);
        // 20 kB at 8 kB a second: more than two periods of the limit, whatever came at once.
        expect(took).toBeGreaterThan(1500);
        expect(
          big
            .requireUnit("haproxy/0")
            .log.filter((line) => line.message.includes("bandwidth_limit")),
        ).toEqual([]);
      } finally {
        big.destroy();
      }
    },
    120_000,
  );
});
