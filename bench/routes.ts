// `npm run bench:routes`: what haproxy-route costs at scale. For N hostnames
// routed to N applications (or N/K applications of K hostnames each):
//   1. plan + render time, haproxy.cfg and route map sizes, `haproxy -c`, and
//      the start and reload of a real haproxy with that configuration;
//   2. request latency through a real haproxy to the first and the last
//      hostname, at 10, 100 and N hostnames: the charm's one map lookup
//      (map_beg) beside the ACL chain Canonical's charm writes (one `acl` and
//      one `use_backend` per backend, tried in order);
//   3. in the local model (packed charm, real hook tools, real haproxy; root),
//      M haproxy-route applications related one after another: the M-th
//      haproxy-route-relation-changed's wall time, hook-tool calls and reloads.
// Figures are medians; the machine may be shared, so compare ratios.
//
//   npm run bench:routes                       # N = 1000, one hostname each, M = 20
//   npm run bench:routes -- 1000 --hostnames 5 # 200 applications × 5 hostnames
//   npm run bench:routes -- 1000 --model-apps 0  # without the local model
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, type Server, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";

import type { HookInputs, RemoteApp, RemoteUnit } from "../src/juju/hookInputs.js";
import type { Plan } from "../src/plan/planConfiguration.js";
import { routeMapPath } from "../src/relations/haproxyRoute/haproxyRoutePlacement.js";
import { renderHaproxyConfig } from "../src/render/renderHaproxyConfig.js";
import { packCharm } from "../tests/e2e/packedCharm.js";
import { HaproxyProcess, findFreePort } from "../tests/helpers/haproxyProcess.js";
import { HAPROXY3_BINARY, haproxyVersionOf } from "../tests/helpers/haproxyVersions.js";
import { planFromInputs } from "../tests/helpers/planFromInputs.js";
import { LocalModel } from "../tests/localJuju/model.js";

const args = process.argv.slice(2);
function option(name: string, fallback: number): number {
  const at = args.indexOf(name);
  const value = at >= 0 ? Number(args[at + 1]) : fallback;
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} takes a whole number`);
  return value;
}
const hostnamesPerApp = Math.max(1, option("--hostnames", 1));
const modelApps = option("--model-apps", 20);
const positional = args.filter(
  (arg, i) => !arg.startsWith("--") && !(args[i - 1] ?? "").startsWith("--"),
);
const total = Number(positional[0] ?? 1000);
if (!Number.isInteger(total) || total < hostnamesPerApp) {
  throw new Error("N, the number of hostnames, must be a whole number of at least --hostnames");
}

/** Sequential keep-alive requests per route and size, after a warm-up. */
const REQUESTS = 2000;
const WARMUP = 200;
/** The routes are asked in turn, this many requests each (measureInTurn). */
const BLOCK = 20;
const LATENCY_SIZES = [...new Set([10, 100, total])]
  .filter((size) => size >= hostnamesPerApp && size <= total)
  .sort((a, b) => a - b);
/** The loopback addresses the applications' units are spread over. */
const UPSTREAM_HOSTS = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"];
const upstreamHost = (i: number) => `127.0.0.${2 + (i % UPSTREAM_HOSTS.length)}`;

const median = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const percentile = (values: readonly number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.max(0, Math.ceil(values.length * p) - 1)] ?? NaN;

function timeMs(action: () => void): number {
  const started = process.hrtime.bigint();
  action();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

async function timeMsAsync(action: () => Promise<void>): Promise<number> {
  const started = process.hrtime.bigint();
  await action();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

// ------------------------------------------------------------------ the routes

interface Route {
  readonly service: string;
  readonly hostnames: readonly string[];
  readonly path: string;
  readonly address: string;
}

/**
 * `hostnames` hostnames over hostnames/K applications, K each. Names are
 * zero-padded so that hostname order is application order: the first route
 * is app-0000's, the last the last application's.
 */
function routes(hostnames: number, perApp: number, addressOf: (i: number) => string): Route[] {
  const width = String(hostnames).length;
  const pad = (i: number) => String(i).padStart(width, "0");
  return Array.from({ length: Math.floor(hostnames / perApp) }, (_, i) => ({
    service: `app-${pad(i)}`,
    hostnames: Array.from({ length: perApp }, (__, j) => `h-${pad(i * perApp + j)}.example.com`),
    path: "/app",
    address: addressOf(i),
  }));
}

/** The bench's applications as haproxy-route requirers write their bags: every value JSON. */
function routeInputs(list: readonly Route[], port: number): HookInputs {
  const apps: RemoteApp[] = list.map((route, i) => ({
    relationId: `haproxy-route:${i + 1}`,
    app: route.service,
    settings: requestBag(route, port),
  }));
  const units: RemoteUnit[] = list.map((route, i) => ({
    relationId: `haproxy-route:${i + 1}`,
    unit: `${route.service}/0`,
    settings: { address: JSON.stringify(route.address) },
  }));
  return {
    unitName: "haproxy/0",
    privateAddress: "10.200.0.1",
    publicAddress: "10.200.0.1",
    // Loopback units (the real backends) are refused unless relation data is trusted.
    config: { services: "", trust_relation_data: true },
    reverseproxy: [],
    peers: [],
    haproxyRouteApps: apps,
    haproxyRouteUnits: units,
  };
}

function requestBag(route: Route, port: number): Record<string, string> {
  const [hostname, ...additional] = route.hostnames;
  return {
    service: JSON.stringify(route.service),
    ports: JSON.stringify([port]),
    hostname: JSON.stringify(hostname),
    ...(additional.length > 0 && { additional_hostnames: JSON.stringify(additional) }),
    paths: JSON.stringify([route.path]),
    allow_http: "true",
  };
}

/**
 * The same routes written the way Canonical's charm writes them
 * (haproxy_route.cfg.j2): per backend an `acl` on its paths and one on its
 * hostnames (`req.hdr(host),field(1,:) -i`), then `use_backend ... if` both;
 * haproxy tries the `use_backend` lines one after another. Everything else
 * (global, defaults, backends) is the charm's own text, so that only the
 * routing differs.
 */
function withAclChain(charmText: string, list: readonly Route[]): string {
  const chain = list.flatMap((route) => [
    `    acl acl_path_${route.service} path_beg -i ${route.path}`,
    `    acl acl_host_${route.service} req.hdr(host),field(1,:) -i ${route.hostnames.join(" ")}`,
    `    use_backend ${route.service} if acl_path_${route.service} acl_host_${route.service}`,
  ]);
  const mapLookup =
    /^\s+(http-request set-var\(txn\.route_|use_backend %\[var\(txn\.route_backend\)\])/;
  const lines = charmText.split("\n");
  const firstLookup = lines.findIndex((line) => mapLookup.test(line));
  if (firstLookup < 0) throw new Error("the charm's configuration has no route map lookup");
  const text = [
    ...lines.slice(0, firstLookup),
    ...chain,
    ...lines.slice(firstLookup).filter((line) => !mapLookup.test(line)),
  ].join("\n");
  if (text.includes("map_beg")) throw new Error("a route map lookup is left in the ACL chain");
  return text;
}

// ------------------------------------------------------- files and processes

interface Rendered {
  readonly plan: Plan;
  readonly text: string;
  readonly dir: string;
}

function planAndRender(list: readonly Route[], port: number): Rendered {
  const dir = mkdtempSync(path.join(tmpdir(), "bench-routes-"));
  const paths = { haproxyLib: path.join(dir, "lib"), haproxyRun: path.join(dir, "run") };
  mkdirSync(paths.haproxyRun, { recursive: true });
  const plan = planFromInputs(routeInputs(list, port), paths);
  for (const file of plan.files) {
    mkdirSync(path.dirname(file.path), { recursive: true });
    writeFileSync(file.path, file.content, { mode: file.mode });
  }
  return { plan, text: renderHaproxyConfig(plan.config), dir };
}

/** The charm's configuration with its public 80 and 443 moved to free loopback ports. */
async function onLoopback(text: string): Promise<{ text: string; httpPort: number }> {
  const httpPort = await findFreePort();
  const httpsPort = await findFreePort();
  return {
    httpPort,
    text: text
      .replaceAll("0.0.0.0:80\n", `127.0.0.1:${httpPort}\n`)
      .replaceAll("0.0.0.0:80 ", `127.0.0.1:${httpPort} `)
      .replaceAll("0.0.0.0:443 ", `127.0.0.1:${httpsPort} `),
  };
}

function startHaproxy(dir: string, text: string, binary: string, port: number): HaproxyProcess {
  const configFile = path.join(dir, "haproxy.cfg");
  writeFileSync(configFile, text);
  return new HaproxyProcess({
    configFile,
    pidFile: path.join(dir, `haproxy-${port}.pid`),
    probePorts: [port],
    haproxyBinary: binary,
  });
}

interface Upstreams {
  readonly port: number;
  close(): Promise<void>;
}

/** Keep-alive HTTP servers on each of UPSTREAM_HOSTS, one port for all. */
async function startUpstreams(): Promise<Upstreams> {
  const servers: Server[] = [];
  let port = 0;
  for (const host of UPSTREAM_HOSTS) {
    const server = createServer((req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(`${host} ${req.url ?? ""}`);
    });
    await new Promise<void>((resolve) => server.listen(port, host, resolve));
    port = (server.address() as AddressInfo).port;
    servers.push(server);
  }
  return {
    port,
    close: async () => {
      await Promise.all(
        servers.map((server) => {
          server.closeAllConnections();
          return new Promise<void>((resolve) => server.close(() => resolve()));
        }),
      );
    },
  };
}

/** One GET over the agent's kept-alive connection; its latency in ms. */
function timedGet(agent: Agent, port: number, host: string, urlPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = request({ host: "127.0.0.1", port, path: urlPath, agent, headers: { host } });
    req.on("response", (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`${host}${urlPath}: status ${res.statusCode}`));
        res.resume();
        return;
      }
      res.resume();
      res.on("end", () => resolve(Number(process.hrtime.bigint() - started) / 1e6));
    });
    req.on("error", reject);
    req.end();
  });
}

interface Latency {
  readonly median: number;
  readonly p99: number;
}

/** One route of one running configuration, asked over its own kept-alive connection. */
interface Target {
  readonly port: number;
  readonly host: string;
  readonly urlPath: string;
  readonly agent: Agent;
  readonly times: number[];
}

function target(port: number, route: Route | undefined, which: "first" | "last"): Target {
  if (route === undefined) throw new Error("no routes");
  return {
    port,
    host: (which === "first" ? route.hostnames[0] : route.hostnames.at(-1)) ?? "",
    urlPath: `${route.path}/x`,
    agent: new Agent({ keepAlive: true, maxSockets: 1 }),
    times: [],
  };
}

/**
 * REQUESTS sequential requests to each target, in blocks of BLOCK taken in
 * turn over all of them, so that the machine's drift hits every target alike.
 * Each block starts with one request left out of the figures: the haproxy
 * process it reaches may have been idle since its last block. The turn runs
 * backwards every other round, so that no target always follows the same one.
 */
async function measureInTurn(targets: readonly Target[]): Promise<void> {
  for (const { agent, port, host, urlPath } of targets) {
    for (let i = 0; i < WARMUP; i += 1) await timedGet(agent, port, host, urlPath);
  }
  for (let round = 0; round * BLOCK < REQUESTS; round += 1) {
    const turn = round % 2 === 0 ? targets : [...targets].reverse();
    for (const { agent, port, host, urlPath, times } of turn) {
      await timedGet(agent, port, host, urlPath);
      for (let i = 0; i < BLOCK; i += 1) times.push(await timedGet(agent, port, host, urlPath));
    }
  }
}

const latencyOf = (values: readonly number[]): Latency => ({
  median: median(values),
  p99: percentile(values, 0.99),
});

// ------------------------------------------------------------------ the parts

interface Scale {
  readonly planRenderMs: number;
  readonly bytes: number;
  readonly lines: number;
  readonly mapEntries: number;
  readonly mapBytes: number;
  readonly check: readonly { version: string; ms: number; startMs: number; reloadMs: number }[];
}

async function scale(binaries: readonly string[], upstreams: Upstreams): Promise<Scale> {
  const list = routes(total, hostnamesPerApp, upstreamHost);
  // Twice before timing, so that compilation is not counted.
  for (let i = 0; i < 2; i += 1)
    rmSync(planAndRender(list, upstreams.port).dir, { recursive: true });
  const runs: Rendered[] = [];
  const planRenderMs = median(
    Array.from({ length: 9 }, () => timeMs(() => runs.push(planAndRender(list, upstreams.port)))),
  );
  for (const run of runs.slice(1)) rmSync(run.dir, { recursive: true, force: true });
  const rendered = runs[0] as Rendered;
  try {
    const map = rendered.plan.files.find(
      (file) => file.path === routeMapPath(path.join(rendered.dir, "lib")),
    );
    const mapText = String(map?.content ?? "");
    const { text, httpPort } = await onLoopback(rendered.text);
    const check = [];
    for (const binary of binaries) {
      const haproxy = startHaproxy(rendered.dir, text, binary, httpPort);
      const configFile = path.join(rendered.dir, "haproxy.cfg");
      const ms = median(
        Array.from({ length: 5 }, () =>
          timeMs(() => execFileSync(binary, ["-c", "-q", "-f", configFile])),
        ),
      );
      const startMs = await timeMsAsync(() => haproxy.start());
      try {
        const reloads: number[] = [];
        for (let i = 0; i < 3; i += 1) reloads.push(await timeMsAsync(() => haproxy.reload()));
        check.push({
          version: haproxyVersionOf(binary) ?? binary,
          ms,
          startMs,
          reloadMs: median(reloads),
        });
      } finally {
        await haproxy.stop();
      }
    }
    return {
      planRenderMs,
      bytes: Buffer.byteLength(rendered.text),
      lines: rendered.text.split("\n").length,
      mapEntries: mapText.split("\n").filter((line) => line.trim() !== "").length,
      mapBytes: Buffer.byteLength(mapText),
      check,
    };
  } finally {
    rmSync(rendered.dir, { recursive: true, force: true });
  }
}

interface LatencyRow {
  readonly version: string;
  readonly routing: "map" | "acl";
  readonly hostnames: number;
  readonly first: Latency;
  readonly last: Latency;
}

/** Every size and both routings run at once per haproxy version, measured in turn. */
async function latencies(binaries: readonly string[], upstreams: Upstreams): Promise<LatencyRow[]> {
  const rows: LatencyRow[] = [];
  for (const binary of binaries) {
    const version = haproxyVersionOf(binary) ?? binary;
    process.stderr.write(`latency: haproxy ${version}, ${LATENCY_SIZES.join(", ")} hostnames\n`);
    const running: { haproxy: HaproxyProcess; dir: string }[] = [];
    try {
      const measured = [];
      for (const hostnames of LATENCY_SIZES) {
        const list = routes(hostnames, hostnamesPerApp, upstreamHost);
        for (const routing of ["map", "acl"] as const) {
          const rendered = planAndRender(list, upstreams.port);
          const { text, httpPort } = await onLoopback(rendered.text);
          const config = routing === "map" ? text : withAclChain(text, list);
          const haproxy = startHaproxy(rendered.dir, config, binary, httpPort);
          running.push({ haproxy, dir: rendered.dir });
          await haproxy.start();
          const first = target(httpPort, list[0], "first");
          const last = target(httpPort, list.at(-1), "last");
          measured.push({ routing, hostnames, first, last });
        }
      }
      const targets = measured.flatMap(({ first, last }) => [first, last]);
      try {
        await measureInTurn(targets);
      } finally {
        for (const { agent } of targets) agent.destroy();
      }
      for (const { routing, hostnames, first, last } of measured) {
        rows.push({
          version,
          routing,
          hostnames,
          first: latencyOf(first.times),
          last: latencyOf(last.times),
        });
      }
    } finally {
      for (const { haproxy, dir } of running) {
        await haproxy.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  return rows;
}

interface HookFigures {
  readonly apps: number;
  readonly lastHookMs: number;
  readonly lastHookToolCalls: number;
  readonly lastReloaded: boolean;
  readonly reloads: number;
  /** haproxy is not started before the first route. */
  readonly starts: number;
  readonly changedMedianMs: number;
}

/** M applications related one after another, each then writing its request. */
async function hookCost(apps: number): Promise<HookFigures> {
  const charm = packCharm();
  const model = await LocalModel.create({ name: "bench-routes", hookTimeoutMs: 120_000 });
  try {
    await model.deploy(charm.file, { config: { services: "" } });
    const haproxyService = model.system("haproxy/0").haproxy;
    const count = (what: string) => haproxyService.history.filter((entry) => entry === what).length;
    const reloadsBefore = count("reload");
    const startsBefore = count("start");
    const durations: number[] = [];
    let lastHookToolCalls = 0;
    let lastReloaded = false;
    let lastHookMs = NaN;
    const list = routes(apps, 1, () => "");
    for (const [i, route] of list.entries()) {
      await model.deployScripted(route.service, {
        units: 1,
        endpoints: { "haproxy-route": { interface: "haproxy-route", role: "requires" } },
        unitSettings: (unit) => ({ address: JSON.stringify(unit.address) }),
      });
      const relationId = await model.integrate(
        `${route.service}:haproxy-route`,
        "haproxy:haproxy-route",
      );
      const callsBefore = model.toolCalls.length;
      const reloadsBeforeRequest = count("reload");
      const runsBefore = model.requireUnit("haproxy/0").hookRuns.length;
      await model.setRelationData(route.service, relationId, requestBag(route, 8080));
      const run = model
        .requireUnit("haproxy/0")
        .hookRuns.slice(runsBefore)
        .filter((hook) => hook.hook === "haproxy-route-relation-changed")
        .at(-1);
      if (run === undefined || run.exitCode !== 0) {
        throw new Error(`haproxy-route-relation-changed of ${route.service}: ${run?.output}`);
      }
      // Context ids name the unit and hook: haproxy/0-haproxy-route-relation-changed-<n>.
      const calls = model.toolCalls
        .slice(callsBefore)
        .filter((call) => call.context.startsWith("haproxy/0-haproxy-route-relation-changed-"));
      const lastContext = calls.at(-1)?.context;
      lastHookToolCalls = calls.filter((call) => call.context === lastContext).length;
      lastReloaded = count("reload") > reloadsBeforeRequest;
      lastHookMs = run.durationMs;
      durations.push(run.durationMs);
      if ((i + 1) % 5 === 0) process.stderr.write(`  ${i + 1}/${apps} applications related\n`);
    }
    return {
      apps,
      lastHookMs,
      lastHookToolCalls,
      lastReloaded,
      reloads: count("reload") - reloadsBefore,
      starts: count("start") - startsBefore,
      changedMedianMs: median(durations),
    };
  } finally {
    model.destroy();
    charm.cleanup();
  }
}

// ------------------------------------------------------------------- the report

const ms = (value: number, digits = 0) => `${value.toFixed(digits)} ms`;
const ratio = (a: number, b: number) => (a / b).toFixed(2);

function latencyTable(rows: readonly LatencyRow[]): string[] {
  const largest = LATENCY_SIZES.at(-1);
  const smallest = LATENCY_SIZES[0];
  const find = (row: LatencyRow, hostnames: number | undefined, routing = row.routing) =>
    rows.find(
      (other) =>
        other.version === row.version && other.routing === routing && other.hostnames === hostnames,
    );
  return [
    `| haproxy | routing | hostnames | first route, median | first, p99 | last route, median | last, p99 | last / first (medians) | last route, ${largest} / ${smallest} hostnames | last route, ACL chain / map |`,
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map((row) => {
      const base = find(row, smallest);
      const growth =
        row.hostnames === largest && base !== undefined && row !== base
          ? ratio(row.last.median, base.last.median)
          : "";
      const map = find(row, row.hostnames, "map");
      const overMap =
        row.routing === "acl" && map !== undefined ? ratio(row.last.median, map.last.median) : "";
      const routing = row.routing === "map" ? "map_beg (this charm)" : "ACL chain (Canonical's)";
      return `| ${row.version} | ${routing} | ${row.hostnames} | ${ms(row.first.median, 3)} | ${ms(row.first.p99, 3)} | ${ms(row.last.median, 3)} | ${ms(row.last.p99, 3)} | ${ratio(row.last.median, row.first.median)} | ${growth} | ${overMap} |`;
    }),
  ];
}

const binaries = ["haproxy", ...(haproxyVersionOf(HAPROXY3_BINARY) ? [HAPROXY3_BINARY] : [])];
const apps = Math.floor(total / hostnamesPerApp);
const command = `npm run bench:routes -- ${total}${hostnamesPerApp > 1 ? ` --hostnames ${hostnamesPerApp}` : ""}${modelApps !== 20 ? ` --model-apps ${modelApps}` : ""}`;
const upstreams = await startUpstreams();
let scaleFigures: Scale;
let latencyRows: LatencyRow[];
try {
  process.stderr.write(`plan, render, check, start and reload: ${apps} × ${hostnamesPerApp}\n`);
  scaleFigures = await scale(binaries, upstreams);
  latencyRows = await latencies(binaries, upstreams);
} finally {
  await upstreams.close();
}
let hooks: HookFigures | undefined;
if (modelApps > 0) {
  process.stderr.write(`local model: ${modelApps} haproxy-route applications\n`);
  hooks = await hookCost(modelApps);
}

const lines = [
  `Measured ${new Date().toISOString().slice(0, 10)} on ${execFileSync("nproc").toString().trim()} cores shared with other work (load average ${loadavg()[0]?.toFixed(1)} at the end) with \`${command}\`: ${apps} applications × ${hostnamesPerApp} hostname${hostnamesPerApp > 1 ? "s" : ""}, each with the path \`/app\` and one unit.`,
  "",
  "| what | figure |",
  "| --- | ---: |",
  `| plan + render (median of 9) | ${ms(scaleFigures.planRenderMs, 1)} |`,
  `| haproxy.cfg | ${scaleFigures.bytes} bytes, ${scaleFigures.lines} lines |`,
  `| route map | ${scaleFigures.mapEntries} entries, ${scaleFigures.mapBytes} bytes |`,
  ...scaleFigures.check.flatMap((check) => [
    `| haproxy ${check.version}: \`haproxy -c\` (median of 5) | ${ms(check.ms)} |`,
    `| haproxy ${check.version}: start, until it listens | ${ms(check.startMs)} |`,
    `| haproxy ${check.version}: reload, until the old worker let go (median of 3) | ${ms(check.reloadMs)} |`,
  ]),
  "",
  `Latency of ${REQUESTS} sequential keep-alive requests (after ${WARMUP} to warm up) to the first and to the last hostname, through a real haproxy to keep-alive loopback backends. Per haproxy version every configuration below runs at once and the requests go to each route in turn, ${BLOCK} at a time after one left out, so that the machine's drift hits all alike.`,
  "",
  ...latencyTable(latencyRows),
  ...(hooks === undefined
    ? []
    : [
        "",
        `Local model: ${hooks.apps} haproxy-route applications (one unit each) related one after another, each then writing its request (one hostname, \`/app\`):`,
        "",
        "| what | figure |",
        "| --- | ---: |",
        `| haproxy-route-relation-changed after the last (M = ${hooks.apps}) application's request | ${ms(hooks.lastHookMs)} |`,
        `| hook-tool calls in it | ${hooks.lastHookToolCalls} |`,
        `| did it reload haproxy | ${hooks.lastReloaded ? "yes" : "no"} |`,
        `| reloads (starts) of haproxy over the ${hooks.apps} requests | ${hooks.reloads} (${hooks.starts}) |`,
        `| haproxy-route-relation-changed after a request, median of ${hooks.apps} | ${ms(hooks.changedMedianMs)} |`,
      ]),
];
process.stdout.write(`${lines.join("\n")}\n`);
