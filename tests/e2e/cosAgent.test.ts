// cos-agent end to end, as the subordinate uses it: the packed charm in the
// local model, a scripted grafana-agent reading haproxy/0's published document,
// and a real Prometheus inside haproxy/0's machine scraping the loopback
// exporter with the published job and evaluating the published alert rules.
// Every query of the published dashboard must return data, and the rule for a
// backend without servers must fire once every my-web-app server is stopped.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { BackendServer } from "../localJuju/model.js";
import { LocalModel } from "../localJuju/model.js";
import { type PackedCharm, packCharm } from "./packedCharm.js";
import { eventually } from "../helpers/eventually.js";

const UNIT = "haproxy/0";
const BACKEND = "haproxy_service";
// Frontends are named after the unit and the port.
const FRONTEND = "haproxy-0-80";
const NO_SERVER_UP = "HaproxyBackendNoServerUp";
// What Grafana would put in $__rate_interval; 30 one-second scrapes.
const RATE_INTERVAL = "30s";
// Beyond the rule's `for`: haproxy's health checks take a few seconds to mark servers down.
const ALERT_MARGIN_MS = 40_000;

interface ScrapeJob {
  readonly job_name: string;
  readonly metrics_path: string;
  readonly static_configs: readonly {
    readonly targets: readonly string[];
    readonly labels?: Record<string, string>;
  }[];
}
interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
}
interface PublishedConfig {
  readonly metrics_scrape_jobs: readonly ScrapeJob[];
  readonly metrics_alert_rules: { readonly groups: readonly { readonly rules: AlertRule[] }[] };
  readonly dashboards: readonly string[];
}
interface Panel {
  readonly title: string;
  readonly targets?: readonly { readonly expr: string }[];
  readonly panels?: readonly Panel[];
}
interface Variable {
  readonly name: string;
  readonly type: string;
  readonly query?: string | { readonly query: string };
}
interface Dashboard {
  readonly panels: readonly Panel[];
  readonly templating: { readonly list: readonly Variable[] };
}
interface Sample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}
interface RuleState {
  readonly name: string;
  readonly health: "ok" | "err" | "unknown";
}
interface Alert {
  readonly labels: Record<string, string>;
  readonly state: "pending" | "firing";
}

let charm: PackedCharm;
let model: LocalModel;
let scratch: string;
let servers: BackendServer[] = [];
let published: PublishedConfig;
let dashboard: Dashboard;
let prometheus: ChildProcess | undefined;
let prometheusOutput = "";
let prometheusPort = 0;
/** The labels grafana-agent puts on everything it scrapes from its principal unit. */
let topology: Record<string, string>;

/** The panel query that has data only while a backend has no server up. */
const noServerUpPanel = "Backends with no server up";

/** The document haproxy/0 wrote in its cos-agent unit bag, decoded as the library does. */
async function readPublished(relationId: number): Promise<{
  config: PublishedConfig;
  dashboards: Dashboard[];
}> {
  const raw = model.relation(relationId)?.unitSettings.get(UNIT)?.get("config");
  if (raw === undefined) throw new Error(`${UNIT} published no cos-agent config`);
  const config = JSON.parse(raw) as PublishedConfig;
  const dashboards = await Promise.all(
    config.dashboards.map(async (encoded) => {
      const { stdout } = await execa("xz", ["--decompress", "--stdout"], {
        input: Buffer.from(encoded, "base64"),
        encoding: "buffer",
      });
      return JSON.parse(Buffer.from(stdout).toString("utf8")) as Dashboard;
    }),
  );
  return { config, dashboards };
}

/** A port nothing listens on in haproxy/0's network namespace. */
async function freeLoopbackPort(): Promise<number> {
  const probe =
    "const s = require('node:net').createServer().listen(0, '127.0.0.1', () => " +
    "{ console.log(s.address().port); s.close(); })";
  const result = await model.exec(UNIT, [process.execPath, "-e", probe]);
  const port = Number(result.stdout.trim());
  if (result.exitCode !== 0 || !(port > 0)) throw new Error(`no free port: ${result.stderr}`);
  return port;
}

/** Prometheus configured as grafana-agent would be from the published document. */
async function startPrometheus(config: PublishedConfig): Promise<void> {
  const rulesFile = path.join(scratch, "haproxy-rules.json");
  writeFileSync(rulesFile, JSON.stringify(config.metrics_alert_rules));
  const scrapeConfigs = config.metrics_scrape_jobs.map((job) => ({
    ...job,
    scrape_interval: "1s",
    scrape_timeout: "1s",
    static_configs: job.static_configs.map((group) => ({
      ...group,
      labels: { ...group.labels, ...topology },
    })),
  }));
  const configFile = path.join(scratch, "prometheus.json");
  writeFileSync(
    configFile,
    JSON.stringify({
      global: { scrape_interval: "1s", evaluation_interval: "1s" },
      rule_files: [rulesFile],
      scrape_configs: scrapeConfigs,
    }),
  );
  prometheusPort = await freeLoopbackPort();
  // Long-running: spawned in the unit's machine (exec would wait for it to end).
  prometheus = model
    .requireUnit(UNIT)
    .machine.spawn([
      "/usr/bin/prometheus",
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(scratch, "data")}`,
      `--web.listen-address=127.0.0.1:${prometheusPort}`,
    ]);
  const keep = (chunk: Buffer) => (prometheusOutput = (prometheusOutput + chunk).slice(-4000));
  prometheus.stdout?.on("data", keep);
  prometheus.stderr?.on("data", keep);
  prometheus.on("exit", () => (prometheus = undefined));
  await eventually(async () => {
    if (prometheus === undefined) throw new Error(`prometheus exited: ${prometheusOutput}`);
    const ready = await model.exec(UNIT, ["curl", "-sf", prometheusUrl("/-/ready")]);
    if (ready.exitCode !== 0) throw new Error(`prometheus not ready: ${prometheusOutput}`);
  }, 20_000);
}

function prometheusUrl(apiPath: string): string {
  return `http://127.0.0.1:${prometheusPort}${apiPath}`;
}

/** A Prometheus API call with curl inside haproxy/0's machine, where it listens. */
async function prometheusApi<T>(apiPath: string, params: [string, string][] = []): Promise<T> {
  const args = ["curl", "-sS", "--max-time", "5", "--get"];
  for (const [name, value] of params) args.push("--data-urlencode", `${name}=${value}`);
  const result = await model.exec(UNIT, [...args, prometheusUrl(apiPath)]);
  if (result.exitCode !== 0) throw new Error(`curl ${apiPath}: ${result.stderr}`);
  const body = JSON.parse(result.stdout) as { status: string; data: T; error?: string };
  if (body.status !== "success") throw new Error(`${apiPath} ${params}: ${body.error}`);
  return body.data;
}

async function query(expr: string): Promise<Sample[]> {
  const data = await prometheusApi<{ result: Sample[] }>("/api/v1/query", [["query", expr]]);
  return data.result;
}

async function activeAlerts(): Promise<Alert[]> {
  return (await prometheusApi<{ alerts: Alert[] }>("/api/v1/alerts")).alerts;
}

/** Grafana's regex escaping of a variable value inside a PromQL string. */
function grafanaRegex(values: readonly string[]): string {
  const escaped = values.map((value) =>
    value.replace(/\\/g, "\\\\\\\\").replace(/[$^*{}[\]'+?.()|]/g, "\\\\$&"),
  );
  return escaped.length === 1 ? (escaped[0] ?? "") : `(${escaped.join("|")})`;
}

/** Fills in Grafana's variables; an unknown one fails rather than reaching Prometheus. */
function substitute(expr: string, values: ReadonlyMap<string, string>): string {
  return expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced?: string, bare?: string) => {
    const name = braced ?? bare ?? "";
    const value = values.get(name);
    if (value === undefined) throw new Error(`unknown variable ${whole} in ${expr}`);
    return value;
  });
}

/** Grafana's values for the interval variables and the selected values of the others. */
function substitutions(selected: ReadonlyMap<string, readonly string[]>): Map<string, string> {
  return new Map([
    ["__rate_interval", RATE_INTERVAL],
    ["__interval", RATE_INTERVAL],
    ...[...selected].map(([name, values]): [string, string] => [name, grafanaRegex(values)]),
  ]);
}

/**
 * The dashboard's query variables resolved in order, as Grafana does:
 * `label_values(selector, label)` through the label values API, each
 * selector filled in with the selections before it. A variable selects every
 * value it offers ("All") unless `chosen` picks some, which it must offer.
 */
async function selectVariables(
  chosen: Readonly<Record<string, readonly string[]>> = {},
): Promise<Map<string, string[]>> {
  const selected = new Map<string, string[]>();
  for (const variable of dashboard.templating.list.filter((entry) => entry.type === "query")) {
    const text = typeof variable.query === "string" ? variable.query : variable.query?.query;
    const found = /^label_values\((.*),\s*(\w+)\s*\)$/s.exec(text?.trim() ?? "");
    if (found === null) throw new Error(`${variable.name}: not a label_values query: ${text}`);
    const selector = substitute(found[1] ?? "", substitutions(selected));
    const offered = await prometheusApi<string[]>(`/api/v1/label/${found[2]}/values`, [
      ["match[]", selector],
    ]);
    const picked = chosen[variable.name] ?? offered;
    const unknown = picked.filter((value) => !offered.includes(value));
    if (offered.length === 0 || unknown.length > 0) {
      throw new Error(`${variable.name} offers ${JSON.stringify(offered)}, not ${unknown}`);
    }
    selected.set(variable.name, [...picked]);
  }
  return selected;
}

function panelQueries(panels: readonly Panel[]): { title: string; expr: string }[] {
  return panels.flatMap((panel) => [
    ...(panel.targets ?? []).map((target) => ({ title: panel.title, expr: target.expr })),
    ...panelQueries(panel.panels ?? []),
  ]);
}

function durationMs(duration: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const [, amount, unit] of duration.matchAll(/(\d+)(ms|s|m|h)/g)) {
    total += Number(amount) * (units[unit ?? ""] ?? Number.NaN);
  }
  if (!(total > 0)) throw new Error(`cannot read the duration ${duration}`);
  return total;
}

beforeAll(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), "e2e-cos-agent-"));
  charm = packCharm();
  model = await LocalModel.create({ name: "cos" });
  await model.deploy(charm.file);
  // my-web-app as deployMyWebApp deploys it, but the test owns its web servers to stop them.
  await model.deployScripted("my-web-app", {
    units: 2,
    endpoints: { website: { interface: "http", role: "provides" } },
    unitSettings: (unit) => ({ hostname: unit.address, port: "80" }),
  });
  servers = await Promise.all(
    ["my-web-app/0", "my-web-app/1"].map((unit) => model.serveHttp(unit, 80)),
  );
  await model.integrate("my-web-app:website", "haproxy:reverseproxy");
  await model.deployScripted("grafana-agent", {
    units: 1,
    endpoints: { "cos-agent": { interface: "cos_agent", role: "requires" } },
  });
  const cosAgentId = await model.integrate("grafana-agent:cos-agent", "haproxy:cos-agent");
  const decoded = await readPublished(cosAgentId);
  published = decoded.config;
  const [first] = decoded.dashboards;
  if (first === undefined) throw new Error("no dashboard published");
  dashboard = first;
  topology = {
    juju_model: model.name,
    juju_model_uuid: model.uuid,
    juju_application: "haproxy",
    juju_unit: UNIT,
    juju_charm: "haproxy",
  };
  await startPrometheus(published);
}, 120_000);

afterAll(async () => {
  const running = prometheus;
  if (running !== undefined) {
    const exited = new Promise((resolve) => running.once("exit", resolve));
    running.kill("SIGTERM");
    await exited;
  }
  model?.destroy();
  charm?.cleanup();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe("cos-agent with a real Prometheus in haproxy's machine", () => {
  it("publishes one loopback scrape job, rules labelled with the topology and a dashboard", () => {
    expect(published.metrics_scrape_jobs).toHaveLength(1);
    expect(published.metrics_scrape_jobs[0]?.static_configs).toEqual([
      { targets: ["localhost:8404"] },
    ]);
    const rules = published.metrics_alert_rules.groups.flatMap((group) => group.rules);
    expect(rules.map((rule) => rule.alert)).toContain(NO_SERVER_UP);
    // The library labels rules with the application's topology: no unit.
    const appTopology = Object.fromEntries(
      Object.entries(topology).filter(([label]) => label !== "juju_unit"),
    );
    for (const rule of rules) expect(rule.labels, rule.alert).toMatchObject(appTopology);
    expect(panelQueries(dashboard.panels).length).toBeGreaterThan(20);
  });

  it("scrapes haproxy's exporter through the published job and loads the published rules", async () => {
    const job = published.metrics_scrape_jobs[0]?.job_name ?? "";
    await eventually(async () => {
      const up = await query(`up{job="${job}"}`);
      expect(up.map((sample) => [sample.metric, sample.value[1]])).toEqual([
        [{ __name__: "up", job, instance: "localhost:8404", ...topology }, "1"],
      ]);
    }, 15_000);
    const names = published.metrics_alert_rules.groups.flatMap((group) =>
      group.rules.map((rule) => rule.alert),
    );
    // Every published rule is loaded and, once evaluated, evaluates without error.
    await eventually(async () => {
      const { groups } = await prometheusApi<{ groups: { rules: RuleState[] }[] }>("/api/v1/rules");
      const rules = groups.flatMap((group) => group.rules);
      expect(rules.map((rule) => [rule.name, rule.health])).toEqual(
        names.map((name) => [name, "ok"]),
      );
    }, 10_000);
    expect((await activeAlerts()).map((alert) => alert.labels.alertname)).toEqual([]);
  }, 40_000);

  it("returns data for every dashboard query once traffic has gone through haproxy", async () => {
    const url = `http://${model.requireUnit(UNIT).machine.address}/`;
    const requests = 30;
    for (let index = 0; index < requests; index += 1) {
      const response = await model.http(url, { timeoutMs: 3000 });
      expect(response.status).toBe(200);
    }
    // Wait until a scrape has seen all of them, so that rates cover the traffic.
    await eventually(async () => {
      const [total] = await query(`sum(haproxy_frontend_http_requests_total{proxy="${FRONTEND}"})`);
      expect(Number(total?.value[1])).toBeGreaterThanOrEqual(requests);
    }, 15_000);
    // A user picking the service's frontend and backend; "All" for the rest.
    const selected = await selectVariables({ frontend: [FRONTEND], backend: [BACKEND] });
    expect(selected.get("juju_model")).toEqual([model.name]);
    expect(selected.get("juju_application")).toEqual(["haproxy"]);
    expect(selected.get("juju_unit")).toEqual([UNIT]);
    expect(selected.get("server")).toHaveLength(2);
    const values = substitutions(selected);
    const missing: string[] = [];
    for (const { title, expr } of panelQueries(dashboard.panels)) {
      const filled = substitute(expr, values);
      const samples = await query(filled);
      if (title === noServerUpPanel) {
        // Every server is up: it has data once none is, checked in the next test.
        expect(samples, filled).toEqual([]);
      } else if (!samples.some((sample) => Number.isFinite(Number(sample.value[1])))) {
        missing.push(`${title}: ${filled} -> ${JSON.stringify(samples)}`);
      }
    }
    expect(missing).toEqual([]);
  }, 60_000);

  it("fires HaproxyBackendNoServerUp for haproxy_service once every my-web-app server is stopped", async () => {
    const rule = published.metrics_alert_rules.groups
      .flatMap((group) => group.rules)
      .find((candidate) => candidate.alert === NO_SERVER_UP);
    const holdMs = durationMs(rule?.for ?? "");
    const stoppedAt = Date.now();
    for (const server of servers) server.stop();
    // haproxy's health checks mark both servers down within seconds, then the rule holds `for`.
    const deadline = stoppedAt + holdMs + ALERT_MARGIN_MS;
    let seen: Alert[] = [];
    let firing: Alert | undefined;
    while (firing === undefined) {
      if (Date.now() > deadline) {
        const active = seen.map(
          ({ labels, state }) => `${labels.alertname} ${labels.proxy} ${state}`,
        );
        throw new Error(
          `${NO_SERVER_UP} not firing for ${BACKEND} within ${holdMs + ALERT_MARGIN_MS} ms; ` +
            `active alerts: ${active.join(", ") || "none"}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
      seen = await activeAlerts();
      firing = seen.find(
        (alert) =>
          alert.labels.alertname === NO_SERVER_UP &&
          alert.labels.proxy === BACKEND &&
          alert.state === "firing",
      );
    }
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(holdMs);
    expect(firing.labels).toMatchObject({ severity: "critical", ...topology });
    const down = await model.http(`http://${model.requireUnit(UNIT).machine.address}/`);
    expect(down.status).toBe(503);

    const panel = panelQueries(dashboard.panels).find(({ title }) => title === noServerUpPanel);
    const values = substitutions(await selectVariables({ backend: [BACKEND] }));
    const samples = await query(substitute(panel?.expr ?? "", values));
    expect(samples.map((sample) => [sample.metric.proxy, sample.value[1]])).toEqual([
      [BACKEND, "1"],
    ]);
  }, 150_000);
});
