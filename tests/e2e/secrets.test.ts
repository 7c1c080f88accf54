// Secrets end to end: the packed charm in the local model, configured with a
// statistics password, a userlist password and a TLS key, through joins,
// config changes, a refused value and update-status. None of them may appear
// in juju-log, a status, a hook's output or the arguments of any program the
// charm ran (hook tools, systemctl, apt-get...), and the files holding them
// are readable by their owner only.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { makeCertificate } from "../helpers/certificates.js";
import { LocalModel } from "../localJuju/model.js";
import { type PackedCharm, packCharm } from "./packedCharm.js";

const STATS_PASSWORD = "St4tsPassw0rdNobodySees";
const USERLIST_PASSWORD = "Us3rlistPassw0rdNobodySees";
const certificate = makeCertificate("secrets.example");
const keyLines = certificate.key
  .split("\n")
  .filter((line) => line !== "" && !line.startsWith("-----"));

let charm: PackedCharm;
let model: LocalModel;
let generatedPassword: string;

const goodConfig = {
  enable_monitoring: true,
  monitoring_password: STATS_PASSWORD,
  ssl_cert: certificate.base64Certificate,
  ssl_key: certificate.base64Key,
  userlists: `- {admins: {users: [admin insecure-password ${USERLIST_PASSWORD}]}}`,
  services:
    "- {service_name: web, service_host: 0.0.0.0, service_port: 443, crts: [DEFAULT], service_options: [mode http]}",
};

beforeAll(async () => {
  charm = packCharm();
  model = await LocalModel.create({ name: "secrets" });
  await model.deploy(charm.file, { config: goodConfig });
  await model.deployScripted("web", {
    units: 2,
    endpoints: { website: { interface: "http", role: "provides" } },
    unitSettings: (unit) => ({ hostname: unit.address, port: "80", service_name: "web" }),
    httpPort: 80,
  });
  await model.integrate("web:website", "haproxy:reverseproxy");
  // Refused values are where secrets tend to get quoted back.
  await model.config("haproxy", {
    userlists: `- {admins: "user admin insecure-password ${USERLIST_PASSWORD}"}`,
  });
  await model.config("haproxy", { monitoring_password: `${STATS_PASSWORD} two words` });
  await model.config("haproxy", goodConfig);
  await model.trigger("haproxy/0", "update-status");
  // A password the charm generates is as secret as one the operator sets.
  await model.config("haproxy", { monitoring_password: "changeme" });
  generatedPassword = (
    await model.readFile("haproxy/0", "/var/lib/haproxy-charm/monitoring-password")
  ).trim();
}, 240_000);

afterAll(() => {
  model?.destroy();
  charm?.cleanup();
});

describe("secrets in the packed charm", () => {
  it("went through the refusals and ended active", () => {
    const unit = model.requireUnit("haproxy/0");
    expect(unit.workload).toMatchObject({ status: "active" });
    const refusals = unit.log.map((line) => line.message).filter((m) => m.includes("not applied"));
    expect(refusals).toEqual([
      expect.stringContaining("config option userlists: [0].admins"),
      expect.stringContaining("config option monitoring_password"),
    ]);
    expect(generatedPassword).toMatch(/^\S{16,}$/);
  });

  it("never appear in juju-log, statuses, hook output or any program's arguments", () => {
    const unit = model.requireUnit("haproxy/0");
    const said = [
      ...unit.log.map((line) => line.message),
      ...unit.hookRuns.map((run) => run.output),
      ...model.toolCalls.flatMap((call) => [...call.args, call.input ?? ""]),
      ...model.system("haproxy/0").commands,
      model.formatStatus(),
    ];
    expect(unit.log.length).toBeGreaterThan(0);
    for (const secret of [STATS_PASSWORD, USERLIST_PASSWORD, generatedPassword, ...keyLines]) {
      expect(
        said.filter((text) => text.includes(secret)),
        secret,
      ).toEqual([]);
    }
  });

  it("are kept in files only their owner reads", async () => {
    const result = await model.exec("haproxy/0", [
      "stat",
      "-c",
      "%n %a %U",
      "/etc/haproxy/haproxy.cfg",
      "/var/lib/haproxy/default.pem",
      "/var/lib/haproxy-charm/monitoring-password",
      "/var/lib/haproxy-charm",
    ]);
    expect(result.stdout.trim().split("\n")).toEqual([
      "/etc/haproxy/haproxy.cfg 600 root",
      "/var/lib/haproxy/default.pem 600 root",
      "/var/lib/haproxy-charm/monitoring-password 600 root",
      "/var/lib/haproxy-charm 700 root",
    ]);
    const config = await model.readFile("haproxy/0", "/etc/haproxy/haproxy.cfg");
    expect(config).toContain(`stats auth haproxy:${generatedPassword}`);
  });
});
