// The `config` document a unit publishes on cos-agent, read back the way the
// subordinate reads it (JSON, base64, xz -d, JSON) and held against the
// library's CosAgentProviderUnitData.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

import { build } from "esbuild";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { embeddedAssetsPlugin } from "../../../scripts/embedAsset.mjs";
import { bundledAssets } from "../../../src/relations/cosAgent/bundledAssets.js";
import { blake2bHex } from "../../../src/relations/cosAgent/blake2b.js";
import { cosAgentConfig } from "../../../src/relations/cosAgent/cosAgentConfig.js";
import { COS_AGENT_EXPORTER_PORT } from "../../../src/relations/cosAgent/exporterListener.js";
import { exporterScrapeJob, pythonJsonDumps } from "../../../src/relations/cosAgent/scrapeJob.js";
import type { JujuTopology } from "../../../src/relations/cosAgent/topology.js";

const cosAgentDir = new URL("../../../src/relations/cosAgent/", import.meta.url);

const topology: JujuTopology = {
  model: "prod-web",
  modelUuid: "0123abcd-4567-4890-abcd-ef0123456789",
  application: "haproxy",
  charm: "haproxy",
};

// grafana-agent-operator lib/charms/grafana_agent/v0/cos_agent.py, CosAgentProviderUnitData:
// every field, its type, and whether it may be absent (a default).
const providerUnitData: [string, (value: unknown) => boolean, "required" | "optional"][] = [
  ["metrics_alert_rules", isDict, "required"],
  ["log_alert_rules", isDict, "required"],
  [
    "dashboards",
    (value) => isList(value) && value.every((item) => typeof item === "string"),
    "required",
  ],
  ["subordinate", (value) => value === null || typeof value === "boolean", "optional"],
  ["metrics_scrape_jobs", (value) => isList(value) && value.every(isDict), "required"],
  [
    "log_slots",
    (value) => isList(value) && value.every((item) => typeof item === "string"),
    "required",
  ],
  [
    "tracing_protocols",
    (value) => value === null || (isList(value) && value.every((item) => typeof item === "string")),
    "optional",
  ],
];

let published: Record<string, unknown>;

beforeAll(() => {
  const config = cosAgentConfig({
    topology,
    scrapePort: COS_AGENT_EXPORTER_PORT,
    assets: bundledAssets(),
  });
  published = JSON.parse(config) as Record<string, unknown>;
});

describe("cosAgentConfig", () => {
  it("publishes exactly the library's fields, each of its type", () => {
    expect(Object.keys(published)).toEqual(providerUnitData.map(([field]) => field));
    for (const [field, valid] of providerUnitData) {
      expect(valid(published[field]), `${field}: ${JSON.stringify(published[field])}`).toBe(true);
    }
    expect(published).toMatchObject({ log_slots: [], subordinate: null, tracing_protocols: null });
  });

  it("publishes the dashboard the subordinate can decompress: base64, xz, JSON", async () => {
    const dashboards = published.dashboards as string[];
    expect(dashboards).toHaveLength(1);
    const compressed = Buffer.from(dashboards[0] ?? "", "base64");
    const { stdout } = await execa("xz", ["--decompress", "--stdout"], {
      input: compressed,
      encoding: "buffer",
    });
    const dashboard = JSON.parse(Buffer.from(stdout).toString("utf8"));
    const source = JSON.parse(
      await readFile(new URL("haproxy-dashboard.json", cosAgentDir), "utf8"),
    );
    expect(dashboard).toEqual(source);
    // The requirer files dashboards by title.
    expect(dashboard.title).toBe("HAProxy");
    // Minified before compression: the document travels in a relation bag.
    expect(compressed.length).toBeLessThan(JSON.stringify(source).length / 4);
  });

  it("names the scrape job as the library does for metrics_endpoints", () => {
    // Python: hashlib.blake2b(json.dumps(job, sort_keys=True).encode(), digest_size=4).hexdigest()
    expect(published.metrics_scrape_jobs).toEqual([
      {
        metrics_path: "/metrics",
        static_configs: [{ targets: ["localhost:8404"] }],
        job_name: "haproxy_default_4dc6913e",
      },
    ]);
  });

  it("hashes the job as Python's json.dumps(sort_keys=True) writes it, so the name follows the port", async () => {
    const python =
      '{"metrics_path": "/metrics", "static_configs": [{"targets": ["localhost:9000"]}]}';
    const job = exporterScrapeJob("lb", 9000);
    expect(
      pythonJsonDumps({ static_configs: job.static_configs, metrics_path: job.metrics_path }),
    ).toBe(python);
    expect(job.job_name).toBe(`lb_default_${await b2sum(Buffer.from(python), 32)}`);
    expect(job.job_name).not.toBe(exporterScrapeJob("lb", 8404).job_name);
    expect(pythonJsonDumps({ b: "é\u007f", a: [1, null, true] })).toBe(
      '{"a": [1, null, true], "b": "\\u00e9\\u007f"}',
    );
  });

  it("renames alert rule groups and labels rules with the topology, as the library does", () => {
    const metrics = published.metrics_alert_rules as {
      groups: { name: string; rules: { alert: string; expr: string; labels: object }[] }[];
    };
    expect(metrics.groups.map((group) => group.name)).toEqual([
      "prod_web_0123abcd_haproxy_haproxy_rules",
    ]);
    const topologyLabels = {
      juju_model: "prod-web",
      juju_model_uuid: "0123abcd-4567-4890-abcd-ef0123456789",
      juju_application: "haproxy",
      juju_charm: "haproxy",
    };
    const source = bundledAssets().metricsAlertRules.groups[0]?.rules ?? [];
    expect(metrics.groups[0]?.rules).toHaveLength(source.length);
    metrics.groups[0]?.rules.forEach((rule, i) => {
      expect(rule.labels).toEqual({ ...source[i]?.labels, ...topologyLabels });
      expect(rule.expr).toBe(source[i]?.expr);
    });
    const logs = published.log_alert_rules as { groups: { name: string; rules: object[] }[] };
    expect(logs.groups.map((group) => group.name)).toEqual([
      "prod_web_0123abcd_haproxy_haproxy_log_rules",
    ]);
    expect(logs.groups[0]?.rules[0]).toMatchObject({ labels: topologyLabels });
  });

  it("publishes rules promtool still accepts", async () => {
    const dir = await mkdtemp(join(tmpdir(), "cos-agent-rules-"));
    try {
      // JSON is YAML: the rule file exactly as published.
      const file = join(dir, "published.rules.yaml");
      await writeFile(file, JSON.stringify(published.metrics_alert_rules));
      const result = await execa("promtool", ["check", "rules", file], { reject: false });
      expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("publishes {} for a rule file without groups", () => {
    const empty = { groups: [] };
    const input = {
      topology,
      scrapePort: 8404,
      assets: { metricsAlertRules: empty, logAlertRules: empty, dashboards: [] },
    };
    expect(JSON.parse(cosAgentConfig(input))).toMatchObject({
      metrics_alert_rules: {},
      log_alert_rules: {},
      dashboards: [],
    });
  });
});

describe("blake2bHex", () => {
  it.each([0, 1, 3, 127, 128, 129, 256, 1000])(
    "agrees with coreutils b2sum on %i bytes, at 4, 32 and 64 byte digests",
    async (length) => {
      const input = Buffer.from(Array.from({ length }, (_, i) => (i * 37 + length) % 256));
      for (const bytes of [4, 32, 64]) {
        expect(blake2bHex(input, bytes)).toBe(await b2sum(input, bytes * 8));
      }
    },
  );
});

describe("the bundled form", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "cos-agent-bundle-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("is what the tests import: esbuild with the bundle's plugin gives the same assets", async () => {
    const outfile = join(dir, "assets.mjs");
    const { metafile } = await build({
      entryPoints: [fileURLToPath(new URL("bundledAssets.ts", cosAgentDir))],
      outfile,
      bundle: true,
      platform: "node",
      format: "esm",
      logLevel: "silent",
      metafile: true,
      plugins: [embeddedAssetsPlugin],
    });
    const bundled = (await import(pathToFileURL(outfile).href)) as {
      bundledAssets: typeof bundledAssets;
    };
    expect(bundled.bundledAssets()).toEqual(bundledAssets());
    // Parsed at build time: no YAML parser (nor any other package) comes along.
    const inputs = Object.keys(metafile.inputs);
    expect(inputs.filter((input) => input.includes("node_modules"))).toEqual([]);
    expect(inputs.filter((input) => input.startsWith("embedded-asset:"))).toHaveLength(3);
  });
});

async function b2sum(input: Buffer, bits: number): Promise<string> {
  const { stdout } = await execa("b2sum", ["--length", String(bits)], { input });
  return stdout.split(" ")[0] ?? "";
}

function isDict(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isList(value: unknown): value is unknown[] {
  return Array.isArray(value);
}
