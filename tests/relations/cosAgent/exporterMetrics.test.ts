// The names the dashboard and the alert rules query are names a real haproxy
// (Debian's, 2.6) exports: a haproxy with the charm's exporter listener, a
// frontend, a backend with a live server and a dead one, and a backend with
// only the dead one, after some traffic. A misspelled metric or label fails here.
import { type ChildProcess, spawn } from "node:child_process";
import { readFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  COS_AGENT_METRICS_PATH,
  exporterListener,
} from "../../../src/relations/cosAgent/exporterListener.js";
import { findFreePort } from "../../helpers/haproxyProcess.js";
import { type Backend, httpGet, startBackend } from "../../helpers/httpBackends.js";
import { type Selector, labelValuesSelector, parsePromql } from "./promql.js";

const cosAgentDir = new URL("../../../src/relations/cosAgent/", import.meta.url);
// Added by the subordinate and by Prometheus, never by haproxy.
const TARGET_LABELS = new Set([
  "juju_model",
  "juju_model_uuid",
  "juju_application",
  "juju_unit",
  "juju_charm",
  "instance",
  "job",
]);

type Series = Readonly<Record<string, string>>;

let dir: string;
let live: Backend;
let haproxy: ChildProcess;
let haproxyStderr = "";
let exporterPort: number;
let scraped: Map<string, Series[]>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "cos-agent-exporter-"));
  live = await startBackend("live");
  const [webPort, deadPort] = [await findFreePort(), await findFreePort()];
  exporterPort = await findFreePort();
  const listener = exporterListener(exporterPort);
  const config = [
    "global",
    "    maxconn 200",
    "defaults",
    "    mode http",
    "    timeout connect 1s",
    "    timeout client 5s",
    "    timeout server 5s",
    `frontend ${listener.name}`,
    `    bind ${listener.bind}`,
    ...listener.options.map((line) => `    ${line}`),
    "frontend web",
    `    bind 127.0.0.1:${webPort}`,
    "    http-request deny if { path /forbidden }",
    "    default_backend app",
    "backend app",
    `    server live 127.0.0.1:${live.port} check inter 200ms`,
    `    server dead 127.0.0.1:${deadPort} check inter 200ms fall 1`,
    "backend gone",
    `    server dead 127.0.0.1:${deadPort} check inter 200ms fall 1`,
    "",
  ].join("\n");
  const configFile = join(dir, "haproxy.cfg");
  await writeFile(configFile, config);

  // In the foreground, so that its stderr (where ALERT lines go) reaches the test.
  haproxy = spawn("haproxy", ["-db", "-f", configFile], { stdio: ["ignore", "ignore", "pipe"] });
  haproxy.stderr?.setEncoding("utf8");
  haproxy.stderr?.on("data", (chunk: string) => (haproxyStderr += chunk));

  await waitFor("the web frontend", async () => (await httpGet(webPort, "/")).status === 200);
  for (let i = 0; i < 5; i++) await httpGet(webPort, "/");
  expect((await httpGet(webPort, "/forbidden")).status).toBe(403);
  await waitFor("the dead servers to be marked down", async () => {
    scraped = parseExposition((await httpGet(exporterPort, COS_AGENT_METRICS_PATH)).body);
    const down = (scraped.get("haproxy_server_status") ?? []).filter(
      (series) => series.server === "dead" && series.state === "DOWN" && series.value === "1",
    );
    return down.length === 2;
  });
});

afterAll(async () => {
  if (haproxy?.pid !== undefined && haproxy.exitCode === null) {
    const exited = new Promise((resolve) => haproxy.once("exit", resolve));
    process.kill(haproxy.pid, "SIGTERM");
    await exited;
  }
  await live?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe("haproxy's exporter behind the cos-agent listener", () => {
  it("answers on loopback at /metrics, with no credentials", async () => {
    const response = await httpGet(exporterPort, COS_AGENT_METRICS_PATH);
    expect(response.status).toBe(200);
    expect(response.body).toMatch(/^haproxy_process_nbthread \d+$/m);
  });

  it("exports every metric and label the dashboard queries", async () => {
    const dashboard = JSON.parse(
      await readFile(new URL("haproxy-dashboard.json", cosAgentDir), "utf8"),
    );
    const expressions: string[] = [];
    for (const panel of dashboard.panels as { targets?: { expr: string }[] }[]) {
      for (const target of panel.targets ?? []) expressions.push(target.expr);
    }
    for (const variable of dashboard.templating.list as { type: string; query: unknown }[]) {
      if (variable.type !== "query") continue;
      const query = (variable.query as { query: string }).query;
      const { selector, label } = labelValuesSelector(query);
      expressions.push(selector);
      if (!TARGET_LABELS.has(label)) expect(allLabels(scraped), query).toContain(label);
    }
    expect(expressions.length).toBeGreaterThan(20);
    expectKnownToHaproxy(expressions, 30);
  });

  it("exports every metric and label the alert rules query", async () => {
    const rules = yaml.load(await readFile(new URL("alert-rules.yaml", cosAgentDir), "utf8")) as {
      groups: { rules: { expr: string }[] }[];
    };
    const expressions = rules.groups.flatMap((group) => group.rules.map((rule) => rule.expr));
    expect(expressions).toHaveLength(7);
    expectKnownToHaproxy(expressions, 12);
  });

  it("shows the live and dead servers as the alert rules read them", () => {
    const status = (proxy: string, state: string) =>
      (scraped.get("haproxy_server_status") ?? [])
        .filter((series) => series.proxy === proxy && series.state === state)
        .map((series) => `${series.server}=${series.value}`)
        .sort();
    expect(status("app", "UP")).toEqual(["dead=0", "live=1"]);
    expect(status("gone", "DOWN")).toEqual(["dead=1"]);
    const activeServers = (proxy: string) =>
      scraped.get("haproxy_backend_active_servers")?.find((series) => series.proxy === proxy)
        ?.value;
    expect([activeServers("app"), activeServers("gone")]).toEqual(["1", "0"]);
  });

  it("writes ALERT lines the Loki rule's line filter matches", async () => {
    const rules = yaml.load(
      await readFile(new URL("log-alert-rules.yaml", cosAgentDir), "utf8"),
    ) as { groups: { rules: { expr: string }[] }[] };
    const expr = rules.groups[0]?.rules[0]?.expr ?? "";
    const filter = /\|~ `([^`]+)`/.exec(expr)?.[1];
    expect(filter, expr).toBeDefined();
    const pattern = new RegExp(filter ?? "");

    await waitFor("haproxy's ALERT about backend gone", async () =>
      haproxyStderr.includes("backend 'gone' has no server available"),
    );
    const lines = haproxyStderr.split("\n");
    const alerts = lines.filter((line) => line.includes("has no server available"));
    expect(alerts.length, haproxyStderr).toBeGreaterThan(0);
    for (const line of alerts) expect(line).toMatch(pattern);
    // WARNING and NOTICE lines (a server going down, startup) do not match.
    const others = lines.filter((line) => /^\[(WARNING|NOTICE)\]/.test(line));
    expect(others.length, haproxyStderr).toBeGreaterThan(0);
    for (const line of others) expect(line).not.toMatch(pattern);
  });
});

/** Every selector names a metric haproxy exports, with labels and values it exports. */
function expectKnownToHaproxy(expressions: readonly string[], minimumSelectors: number) {
  const selectors: Selector[] = [];
  const grouping: string[] = [];
  for (const expr of expressions) {
    const parsed = parsePromql(expr);
    selectors.push(...parsed.selectors);
    grouping.push(...parsed.groupingLabels);
  }
  expect(selectors.length).toBeGreaterThanOrEqual(minimumSelectors);
  const labels = allLabels(scraped);
  for (const { metric, matchers } of selectors) {
    // `up` is Prometheus's own series about the scrape.
    if (metric === "up") continue;
    expect(scraped.has(metric), `metric ${metric} is not exported by haproxy`).toBe(true);
    const series = scraped.get(metric) ?? [];
    for (const { label, op, value } of matchers) {
      if (TARGET_LABELS.has(label)) continue;
      const values = series.map((one) => one[label]).filter((one) => one !== undefined);
      expect(values.length, `${metric} has no label ${label}`).toBeGreaterThan(0);
      // A Grafana variable's value is chosen among what is exported.
      if (value.includes("$")) continue;
      if (op === "=") expect(values, `${metric}{${label}="${value}"}`).toContain(value);
      if (op === "=~") {
        const pattern = new RegExp(`^(?:${value})$`);
        expect(
          values.some((one) => pattern.test(one)),
          `${metric}{${label}=~"${value}"}`,
        ).toBe(true);
      }
    }
  }
  for (const label of grouping) {
    if (!TARGET_LABELS.has(label)) expect(labels, `grouping label ${label}`).toContain(label);
  }
}

/** Prometheus's text format: each sample as its labels plus `value`, by metric name. */
function parseExposition(text: string): Map<string, Series[]> {
  const metrics = new Map<string, Series[]>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (sample === null) throw new Error(`unreadable sample: ${line}`);
    const [, name = "", labelText = "", value = ""] = sample;
    const labels: Record<string, string> = { value };
    for (const [, label = "", text] of labelText.matchAll(
      /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g,
    )) {
      labels[label] = text ?? "";
    }
    metrics.set(name, [...(metrics.get(name) ?? []), labels]);
  }
  return metrics;
}

function allLabels(metrics: Map<string, Series[]>): Set<string> {
  const labels = new Set<string>();
  for (const series of metrics.values()) {
    for (const one of series) for (const label of Object.keys(one)) labels.add(label);
  }
  labels.delete("value");
  return labels;
}

async function waitFor(what: string, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      if (await condition()) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
