// The hook exactly as production wires it: dispatch, hooks/<event> and the
// bundled CLI with productionPaths, system paths included, so the metrics
// schedule, the nrpe checks and the machine options run as on a unit (other
// hook-layer tests leave the system paths out). It all happens inside a
// private view of the file system, which the host never sees.
import { existsSync } from "node:fs";

import { execa } from "execa";

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { makeCertificate } from "../helpers/certificates.js";
import { type Backend, httpGet, startBackend } from "../helpers/httpBackends.js";
import { findFreePort } from "../helpers/haproxyProcess.js";
import { type PrivateBundle, buildPrivateBundle } from "../helpers/privateBundle.js";
import { type ProductionUnit, startProductionUnit } from "../helpers/productionUnit.js";
import { handshake } from "../helpers/tlsHandshake.js";

const RELATION = "reverseproxy:1";
const NRPE = "nrpe-external-master:2";

let bundle: PrivateBundle;
let backend: Backend;
let unit: ProductionUnit;
let port: number;
let monitoringPort: number;

beforeAll(async () => {
  [bundle, backend] = await Promise.all([buildPrivateBundle(), startBackend("web/0")]);
}, 60_000);
afterAll(async () => {
  await Promise.all([bundle?.cleanup(), backend?.close()]);
});

beforeEach(async () => {
  port = await findFreePort();
  monitoringPort = await findFreePort();
  unit = await startProductionUnit({ bundle, probePorts: [port] });
  unit.tools.addUnit(RELATION, "web/0", {
    "private-address": "127.0.0.1",
    port: String(backend.port),
  });
});
afterEach(() => unit?.cleanup());

/** Runs events in Juju's order, each expected to succeed. */
async function dispatchAll(...events: string[]): Promise<void> {
  for (const event of events) {
    const result = await unit.dispatch(event);
    expect(result, event).toMatchObject({ exitCode: 0 });
  }
}

describe("a unit wired as in production, in a private file system", () => {
  it("config-changed installs the metrics schedule, the nrpe checks and the sysctl file, applies them, and haproxy serves", async () => {
    const hostFiles = [
      "/etc/cron.d/haproxy-charm-metrics",
      "/etc/sysctl.d/50-haproxy.conf",
      "/etc/nagios",
      "/usr/local/lib/nagios",
    ];
    const onHostBefore = hostFiles.filter((file) => existsSync(file));

    // What the nrpe subordinate's packages leave on the machine.
    expect(
      await unit.exec(["mkdir", "-p", "/etc/nagios/nrpe.d", "/var/lib/nagios/export"]),
    ).toMatchObject({
      exitCode: 0,
    });
    unit.tools.addUnit(NRPE, "nrpe/0", { "private-address": "127.0.0.1" });
    unit.tools.config = {
      services: `- {service_name: web, service_host: 127.0.0.1, service_port: ${port}}`,
      enable_monitoring: true,
      monitoring_port: monitoringPort,
      metrics_target: "127.0.0.1:8125",
      sysctl: "{ net.ipv4.tcp_max_syn_backlog: 65536 }",
    };
    await dispatchAll("install", "leader-elected", "config-changed", "start");

    expect(unit.tools.status).toEqual({ status: "active", message: "Unit is ready" });
    expect((await httpGet(port)).body).toBe("web/0");

    expect(await unit.readFile("/etc/cron.d/haproxy-charm-metrics")).toEqual(
      expect.stringContaining(`${unit.charmDir}/dist/haproxy-charm.mjs metrics push`),
    );
    expect(await unit.readFile("/etc/sysctl.d/50-haproxy.conf")).toEqual(
      expect.stringContaining("net.ipv4.tcp_max_syn_backlog=65536"),
    );
    expect(unit.commands).toContain("sysctl -p /etc/sysctl.d/50-haproxy.conf");

    const commandFile = await unit.readFile("/etc/nagios/nrpe.d/check_haproxy.cfg");
    expect(commandFile).toEqual(
      expect.stringContaining("/usr/local/lib/nagios/plugins/check_haproxy.sh"),
    );
    expect(await unit.readFile("/etc/nagios/nrpe.d/check_haproxy_queue.cfg")).toBeDefined();
    const exported = await unit.exec(["ls", "/var/lib/nagios/export"]);
    expect(
      exported.stdout
        .split("\n")
        .filter((name) => name !== "")
        .sort(),
    ).toEqual([
      expect.stringMatching(/^service__.+_check_haproxy\.cfg$/),
      expect.stringMatching(/^service__.+_check_haproxy_queue\.cfg$/),
    ]);
    expect(unit.commands).toContain("systemctl try-reload-or-restart nagios-nrpe-server");
    expect(unit.tools.local.get(NRPE)?.monitors).toContain("check_haproxy");

    // The check runs as the nrpe server would run it, against the live page.
    const command = /^command\[check_haproxy\]=(.+)$/m.exec(commandFile ?? "")?.[1] ?? "";
    const check = await unit.exec(["/bin/sh", "-c", command]);
    expect(check, command).toMatchObject({ exitCode: 0, stdout: expect.stringMatching(/^OK/) });

    // None of it reached the host.
    expect(hostFiles.filter((file) => existsSync(file))).toEqual(onHostBefore);
  }, 300_000);

  it("keeps keys and certificates root's, 0600, and haproxy, running as haproxy, serves them", async () => {
    const certificate = makeCertificate("shop.example.com");
    unit.tools.config = {
      services:
        `- {service_name: web, service_host: 127.0.0.1, service_port: ${port}, ` +
        "crts: [DEFAULT], service_options: [mode http]}",
      ssl_cert: certificate.base64Certificate,
      ssl_key: certificate.base64Key,
    };
    await dispatchAll("install", "leader-elected", "config-changed", "start");
    expect(unit.tools.status).toEqual({ status: "active", message: "Unit is ready" });
    const owner = async () =>
      (await unit.exec(["stat", "-c", "%U:%G %a", "/var/lib/haproxy/default.pem"])).stdout.trim();
    expect(await owner()).toBe("root:root 600");
    expect(await unit.readFile("/etc/haproxy/haproxy.cfg")).toMatch(/^ {4}user haproxy$/m);
    // The worker holding the listener runs as haproxy: it could not open the file.
    const listener = await execa("ss", ["-Hltnp", `sport = :${port}`]);
    const pids = [...listener.stdout.matchAll(/pid=(\d+)/g)].map((match) => match[1] ?? "");
    const users = await execa("ps", ["-o", "user=", "-p", pids.join(",")]);
    expect(users.stdout.split("\n").map((user) => user.trim())).toContain("haproxy");
    expect((await handshake(port, "shop.example.com", [])).protocol).toMatch(/^TLSv1\.[23]$/);

    // A reload reads them again, as root.
    unit.tools.config = { ...unit.tools.config, global_maxconn: 2048 };
    await dispatchAll("config-changed");
    expect(unit.haproxy.reloads).toBeGreaterThan(0);
    expect(await owner()).toBe("root:root 600");
    expect((await handshake(port, "shop.example.com", [])).protocol).toMatch(/^TLSv1\.[23]$/);
  }, 300_000);

  it("keeps the admin socket and the server state where only root writes, also after a reboot", async () => {
    unit.tools.config = {
      services: `- {service_name: web, service_host: 127.0.0.1, service_port: ${port}}`,
    };
    await dispatchAll("install", "leader-elected", "config-changed", "start");
    const config = (await unit.readFile("/etc/haproxy/haproxy.cfg")) ?? "";
    expect(config).toContain("stats socket /run/haproxy-charm/admin.sock mode 600 level admin");
    expect(config).toContain("server-state-file /run/haproxy-charm/server-state");
    const directory = async () =>
      (await unit.exec(["stat", "-c", "%U:%G %a", "/run/haproxy-charm"])).stdout.trim();
    expect(await directory()).toBe("root:root 755");
    const showInfo = async () =>
      unit.exec([
        process.execPath,
        "-e",
        'const s=require("net").connect("/run/haproxy-charm/admin.sock");' +
          's.end("show info\\n");s.pipe(process.stdout);',
      ]);
    expect((await showInfo()).stdout).toMatch(/^Name: HAProxy$/m);

    // A reboot empties /run; systemd-tmpfiles makes the directory again before haproxy starts.
    await unit.haproxy.stop();
    expect(await unit.exec(["rm", "-r", "/run/haproxy-charm"])).toMatchObject({ exitCode: 0 });
    const tmpfiles = await unit.exec([
      "systemd-tmpfiles",
      "--create",
      "/etc/tmpfiles.d/haproxy-charm.conf",
    ]);
    expect(tmpfiles).toMatchObject({ exitCode: 0 });
    expect(await directory()).toBe("root:root 755");
    await unit.haproxy.start();
    expect((await showInfo()).stdout).toMatch(/^Name: HAProxy$/m);
    expect((await httpGet(port)).body).toBe("web/0");
  }, 300_000);
});
