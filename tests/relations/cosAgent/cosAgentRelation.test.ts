// The cos-agent relation at the hook layer: the unit's `config` document,
// written once per change, and haproxy's exporter on loopback while the
// subordinate is related, scraped for real.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { COS_AGENT_EXPORTER_PORT } from "../../../src/relations/cosAgent/exporterListener.js";
import { type Backend, httpGet, startBackend } from "../../helpers/httpBackends.js";
import { findFreePort } from "../../helpers/haproxyProcess.js";
import { MemoryHookTools } from "../../helpers/memoryHookTools.js";
import { type UnitSandbox, createUnitSandbox } from "../../helpers/unitSandbox.js";

const RELATION = "cos-agent:5";
let sandbox: UnitSandbox;
let tools: MemoryHookTools;
let backend: Backend;
let port: number;

const cosHook = (kind: string) =>
  sandbox.hook(`cos-agent-relation-${kind}`, {
    JUJU_RELATION_ID: RELATION,
    JUJU_REMOTE_APP: "grafana-agent",
    JUJU_REMOTE_UNIT: "grafana-agent/0",
    JUJU_MODEL_NAME: "prod",
    JUJU_MODEL_UUID: "0123abcd-0000-4000-8000-000000000000",
  });

const metrics = () => httpGet(COS_AGENT_EXPORTER_PORT, "/metrics");

beforeAll(async () => {
  backend = await startBackend("shop/0");
});
afterAll(() => backend.close());

beforeEach(async () => {
  port = await findFreePort();
  tools = new MemoryHookTools();
  tools.config = {
    services: `- {service_name: shop, service_host: 127.0.0.1, service_port: ${port}, service_options: [mode http], servers: [[shop-0, 127.0.0.1, ${backend.port}, check]]}`,
  };
  tools.addUnit(RELATION, "grafana-agent/0", {});
  sandbox = await createUnitSandbox(tools, { probePorts: [port] });
});
afterEach(() => sandbox.cleanup());

describe("the cos-agent relation", () => {
  it("publishes one scrape job for haproxy's exporter on loopback, which answers", async () => {
    await cosHook("joined");
    expect(tools.status).toEqual({ status: "active", message: "Unit is ready" });
    const document = JSON.parse(tools.local.get(RELATION)?.config ?? "{}") as {
      metrics_scrape_jobs: { metrics_path: string; static_configs: { targets: string[] }[] }[];
      metrics_alert_rules: { groups: { name: string }[] };
      dashboards: string[];
    };
    expect(document.metrics_scrape_jobs).toHaveLength(1);
    const [job] = document.metrics_scrape_jobs;
    expect(job?.static_configs).toEqual([{ targets: [`localhost:${COS_AGENT_EXPORTER_PORT}`] }]);
    expect(document.metrics_alert_rules.groups[0]?.name).toMatch(/^prod_0123abcd_haproxy_/);
    expect(document.dashboards).toHaveLength(1);

    await httpGet(port); // some traffic to count
    const scraped = await metrics();
    expect(scraped.status).toBe(200);
    expect(scraped.body).toMatch(
      /^haproxy_frontend_http_requests_total\{proxy="haproxy-0-\d+"\} [1-9]/m,
    );
    // The exporter listens on loopback only: no Juju port is opened for it.
    expect([...tools.opened]).toEqual([port]);
  });

  it("rewrites its document only when the content changes", async () => {
    await cosHook("joined");
    const sets = () => tools.local.get(RELATION)?.config;
    const first = sets();
    let writes = 0;
    const original = tools.relationSet.bind(tools);
    tools.relationSet = async (id, settings) => {
      if (id === RELATION) writes++;
      return original(id, settings);
    };
    await cosHook("changed");
    await sandbox.hook("config-changed", {
      JUJU_MODEL_NAME: "prod",
      JUJU_MODEL_UUID: "0123abcd-0000-4000-8000-000000000000",
    });
    expect(writes).toBe(0);
    await sandbox.hook("config-changed", {
      JUJU_MODEL_NAME: "staging",
      JUJU_MODEL_UUID: "0123abcd-0000-4000-8000-000000000000",
    });
    expect(writes).toBe(1);
    expect(sets()).not.toBe(first);
  });

  it("stops serving the exporter when the relation goes", async () => {
    await cosHook("joined");
    expect((await metrics()).status).toBe(200);
    tools.endpoints.delete(RELATION);
    tools.remote.delete(RELATION);
    await cosHook("broken");
    await expect(metrics()).rejects.toThrow();
    expect((await httpGet(port)).body).toBe("shop/0");
  });
});
