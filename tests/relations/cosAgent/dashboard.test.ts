// The Grafana dashboard's shape: COS's datasource variable, the Juju topology
// variables and a filter on them in every query. Its metric names are checked
// against a real haproxy in exporterMetrics.test.ts.
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { execa } from "execa";

import yaml from "js-yaml";
import { beforeAll, describe, expect, it } from "vitest";

import { labelValuesSelector, parsePromql } from "./promql.js";

interface Target {
  readonly expr: string;
  readonly legendFormat?: string;
  readonly datasource?: { readonly uid?: string };
}
interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly datasource?: { readonly uid?: string };
  readonly gridPos: { readonly x: number; readonly w: number };
  readonly targets?: readonly Target[];
}
interface Variable {
  readonly name: string;
  readonly type: string;
  readonly query: string | { readonly query: string };
  readonly datasource?: { readonly uid?: string };
}

const DATASOURCE = "${prometheusds}";
const TOPOLOGY = ["juju_model", "juju_application", "juju_unit"];
const dashboardPath = "src/relations/cosAgent/haproxy-dashboard.json";

let dashboard: {
  uid: string;
  title: string;
  tags: string[];
  panels: Panel[];
  templating: { list: Variable[] };
};
let charmName: string;

beforeAll(async () => {
  const root = new URL("../../..", import.meta.url);
  dashboard = JSON.parse(await readFile(new URL(dashboardPath, root), "utf8"));
  charmName = (
    yaml.load(await readFile(new URL("metadata.yaml", root), "utf8")) as { name: string }
  ).name;
});

const graphs = () => dashboard.panels.filter((panel) => panel.type !== "row");

describe("haproxy-dashboard.json", () => {
  it("has the uid and tag the cos_agent library would give it", () => {
    // cos-lib's DashboardPath40UID.generate(charm name, path in the charm): shake_256, 20 bytes.
    const uid = createHash("shake256", { outputLength: 20 })
      .update(`${charmName}-${dashboardPath}`)
      .digest("hex");
    expect(dashboard.uid).toBe(uid);
    expect(dashboard.tags).toContain(`charm: ${charmName}`);
  });

  it("takes its datasource from the ${prometheusds} variable COS provides", () => {
    const datasource = dashboard.templating.list.find(
      (variable) => variable.name === "prometheusds",
    );
    expect(datasource).toMatchObject({ type: "datasource", query: "prometheus" });
    for (const panel of graphs()) {
      expect(panel.datasource?.uid, panel.title).toBe(DATASOURCE);
      for (const target of panel.targets ?? []) expect(target.datasource?.uid).toBe(DATASOURCE);
    }
  });

  it("offers the topology, frontend, backend and server variables as label_values queries", () => {
    const variables = dashboard.templating.list.filter((variable) => variable.type === "query");
    expect(variables.map((variable) => variable.name)).toEqual([
      ...TOPOLOGY,
      "frontend",
      "backend",
      "server",
    ]);
    const labels = variables.map((variable) => {
      expect(variable.datasource?.uid).toBe(DATASOURCE);
      const query = typeof variable.query === "string" ? variable.query : variable.query.query;
      return labelValuesSelector(query).label;
    });
    expect(labels).toEqual([...TOPOLOGY, "proxy", "proxy", "server"]);
  });

  it("filters every query on the topology, and each kind of metric on its own variable", () => {
    const targets = graphs().flatMap((panel) => panel.targets ?? []);
    expect(targets.length).toBeGreaterThan(20);
    for (const target of targets) {
      expect(target.legendFormat, target.expr).toBeTruthy();
      const { selectors } = parsePromql(target.expr);
      expect(selectors.length, target.expr).toBeGreaterThan(0);
      for (const { metric, matchers } of selectors) {
        const filters = matchers.map(({ label, op, value }) => `${label}${op}${value}`);
        for (const label of TOPOLOGY) expect(filters, metric).toContain(`${label}=~$${label}`);
        if (metric.startsWith("haproxy_frontend_"))
          expect(filters, metric).toContain("proxy=~$frontend");
        if (/^haproxy_(backend|server)_/.test(metric)) {
          expect(filters, metric).toContain("proxy=~$backend");
        }
      }
    }
  });

  it("queries only valid PromQL (promtool, with Grafana's variables filled in)", async () => {
    const exprs = graphs()
      .flatMap((panel) => panel.targets ?? [])
      .map((target) =>
        target.expr.replaceAll("$__rate_interval", "5m").replace(/\$[a-z_]+/g, ".*"),
      );
    // Each query as a recording rule: promtool parses every expression of a rule file.
    const rules = {
      groups: [{ name: "dashboard", rules: exprs.map((expr, i) => ({ record: `q${i}`, expr })) }],
    };
    const dir = await mkdtemp(join(tmpdir(), "cos-agent-dashboard-"));
    try {
      const file = join(dir, "queries.yaml");
      await writeFile(file, JSON.stringify(rules));
      const result = await execa("promtool", ["check", "rules", file], { reject: false });
      expect(result.exitCode, result.stdout + result.stderr).toBe(0);
      expect(result.stdout).toContain(`SUCCESS: ${exprs.length} rules found`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("covers traffic, status codes, servers, queues, timings, errors, denials, limits and TLS", () => {
    const metrics = new Set(
      graphs()
        .flatMap((panel) => panel.targets ?? [])
        .flatMap((target) => parsePromql(target.expr).selectors.map((selector) => selector.metric)),
    );
    for (const metric of [
      "haproxy_frontend_http_requests_total",
      "haproxy_frontend_bytes_in_total",
      "haproxy_frontend_bytes_out_total",
      "haproxy_frontend_http_responses_total",
      "haproxy_server_status",
      "haproxy_server_current_sessions",
      "haproxy_server_current_queue",
      "haproxy_backend_response_time_average_seconds",
      "haproxy_backend_queue_time_average_seconds",
      "haproxy_backend_connection_errors_total",
      "haproxy_backend_retry_warnings_total",
      "haproxy_backend_redispatch_warnings_total",
      "haproxy_frontend_requests_denied_total",
      "haproxy_process_current_connections",
      "haproxy_frontend_limit_sessions",
      "haproxy_process_current_ssl_rate",
      "haproxy_process_ssl_connections_total",
    ]) {
      expect(metrics, metric).toContain(metric);
    }
  });

  it("lays panels out on Grafana's 24 columns with unique ids", () => {
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of dashboard.panels) {
      expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24);
    }
  });
});
