// The statistics relation data and the nrpe checks on a unit with a real
// haproxy: what the subordinates read, and the check scripts run against the
// live statistics page as the nrpe server would run them.
import { execFile } from "node:child_process";
import { access, mkdir, readFile, readdir, stat } from "node:fs/promises";
import { type ServerResponse, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { promisify } from "node:util";

import { load } from "js-yaml";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { type CharmUnit, REVERSEPROXY, startCharmUnit } from "../../helpers/charmUnit.js";

const run = promisify(execFile);

/** GET / through haproxy, waiting as long as haproxy queues it; resolves to the status. */
function heldGet(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/", agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

/** A server that holds every request until released, then answers them all. */
async function startHeldBackend(): Promise<{
  readonly port: number;
  held(): number;
  release(): void;
  close(): Promise<void>;
}> {
  const waiting: ServerResponse[] = [];
  let released = false;
  const answer = (response: ServerResponse) => {
    response.writeHead(200, { connection: "close" });
    response.end("slow/0");
  };
  const server = createServer((_request, response) => {
    if (released) answer(response);
    else waiting.push(response);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    held: () => waiting.length,
    release: () => {
      released = true;
      waiting.splice(0).forEach(answer);
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

let unit: CharmUnit;

beforeEach(async () => {
  unit = await startCharmUnit({ backends: 2 });
});
afterEach(async () => {
  await unit.cleanup();
});

describe("the statistics relation", () => {
  it("tells the subordinate where the page is and how to log in", async () => {
    await unit.configure({ monitoring_username: "stats", monitoring_password: "Pa55-word" });
    unit.tools.addUnit("statistics:3", "telegraf/0", {});
    await unit.hook("statistics-relation-joined", {
      JUJU_RELATION_ID: "statistics:3",
      JUJU_REMOTE_UNIT: "telegraf/0",
    });
    expect(unit.tools.local.get("statistics:3")).toEqual({
      enabled: "True",
      "listener-address": "127.0.0.1",
      port: String(unit.monitoringPort),
      user: "stats",
      password: "Pa55-word",
    });
  });

  it("shares the generated password for `changeme`, the one the page accepts", async () => {
    unit.tools.addUnit("statistics:3", "telegraf/0", {});
    await unit.configure({});
    const cfg = await readFile(unit.paths.haproxyConfig, "utf8");
    const password = /stats auth haproxy:(\S+)/.exec(cfg)?.[1];
    expect(password).toBeDefined();
    expect(unit.tools.local.get("statistics:3")?.password).toBe(password);
  });

  it("says enabled=False and withdraws the credentials when monitoring is turned off", async () => {
    unit.tools.addUnit("statistics:3", "telegraf/0", {});
    await unit.configure({});
    await unit.configure({ enable_monitoring: false });
    expect(unit.tools.local.get("statistics:3")).toEqual({ enabled: "False" });
  });
});

describe("nrpe checks", () => {
  const system = () => unit.paths.system;
  const nrpeDir = () => path.join(system().nagiosConfig, "nrpe.d");
  const plugin = (name: string) => path.join(system().nagiosPlugins, name);

  /** The nrpe subordinate is installed: its package made nrpe.d/ and the export directory. */
  async function installNrpe(): Promise<void> {
    await mkdir(nrpeDir(), { recursive: true });
    await mkdir(system().nagiosExport, { recursive: true });
  }

  async function runCheck(file: string, args: string[] = []) {
    return run(file, args).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
    );
  }

  /** Runs the check until it prints `stdout`, or 20 s have passed; its last result. */
  async function checkSays(file: string, stdout: string) {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const result = await runCheck(file);
      if (result.stdout === stdout || Date.now() > deadline) return result;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async function waitForCheck(file: string, args: string[], code: number) {
    const deadline = Date.now() + 8000;
    for (;;) {
      const result = await runCheck(file, args);
      if (result.code === code || Date.now() > deadline) return result;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  it("writes nothing while no nrpe server is installed", async () => {
    await unit.configure({});
    await expect(access(system().nagiosConfig)).rejects.toThrow();
    await expect(access(system().nagiosPlugins)).rejects.toThrow();
  });

  it("installs the checks under the old charm's names for nrpe and the subordinate", async () => {
    await installNrpe();
    unit.tools.addUnit("nrpe-external-master:4", "nrpe/0", {});
    await unit.configure({ nagios_context: "prod", nagios_servicegroups: "lb,web" });

    expect((await readdir(nrpeDir())).sort()).toEqual([
      "check_haproxy.cfg",
      "check_haproxy_queue.cfg",
    ]);
    const command = await readFile(path.join(nrpeDir(), "check_haproxy.cfg"), "utf8");
    expect(command).toContain(`command[check_haproxy]=${plugin("check_haproxy.sh")} -c true\n`);
    expect(command).toContain("# servicegroups: lb,web");
    const service = await readFile(
      path.join(system().nagiosExport, "service__prod-haproxy-0_check_haproxy_queue.cfg"),
      "utf8",
    );
    expect(service).toMatch(/host_name\s+prod-haproxy-0\n/);
    expect(service).toMatch(/check_command\s+check_nrpe!check_haproxy_queue\n/);
    expect(service).toMatch(
      /service_description\s+prod-haproxy-0\[haproxy_queue\] Check HAProxy queue depth\n/,
    );

    const monitors = load(unit.tools.local.get("nrpe-external-master:4")?.monitors ?? "");
    expect(monitors).toEqual({
      monitors: {
        remote: {
          nrpe: {
            haproxy: { command: "check_haproxy" },
            haproxy_queue: { command: "check_haproxy_queue" },
          },
        },
      },
    });
  });

  it("keeps the password in a file only root and nagios read, never in a command", async () => {
    await installNrpe();
    await unit.configure({ monitoring_password: "Pa55-word" });
    const credentials = path.join(system().nagiosConfig, "haproxy-charm-stats.conf");
    expect((await stat(credentials)).mode & 0o777).toBe(0o640);
    expect(await readFile(credentials, "utf8")).toContain('user = "haproxy:Pa55-word"');
    for (const name of await readdir(nrpeDir())) {
      expect(await readFile(path.join(nrpeDir(), name), "utf8")).not.toContain("Pa55-word");
    }
    expect((await stat(plugin("check_haproxy.sh"))).mode & 0o777).toBe(0o755);
    expect(JSON.stringify(unit.tools.logs)).not.toContain("Pa55-word");
  });

  it("reports servers that go down: CRITICAL, or WARNING while the backend has others", async () => {
    await installNrpe();
    await unit.configure({});
    const check = plugin("check_haproxy.sh");
    expect(await runCheck(check, ["-c", "true"])).toEqual({
      code: 0,
      stdout: "OK: every haproxy server is up\n",
    });

    await unit.backends[0]?.close();
    const critical = await waitForCheck(check, ["-c", "true"], 2);
    expect(critical.code).toBe(2);
    expect(critical.stdout).toMatch(/^CRITICAL: 1 servers down: web: web-0-\d+;/);

    const warning = await runCheck(check, ["-c", "false"]);
    expect(warning.code).toBe(1);
    expect(warning.stdout).toMatch(/^WARNING: 1 servers down/);

    await unit.backends[1]?.close();
    expect((await waitForCheck(check, ["-c", "false"], 2)).code).toBe(2);
  });

  it("checks queue depth per backend: OK, WARNING above 10 queued requests, CRITICAL above 50", async () => {
    // One slow server that takes one request at a time: the rest queue in its backend.
    const slow = await startHeldBackend();
    try {
      await installNrpe();
      for (const backend of unit.backends) unit.tools.removeUnit(REVERSEPROXY, backend.name);
      unit.tools.addUnit(REVERSEPROXY, "slow/0", {
        "private-address": "127.0.0.1",
        port: String(slow.port),
      });
      await unit.configure({
        services:
          `- service_name: web\n  service_host: 127.0.0.1\n  service_port: ${unit.frontendPort}\n` +
          "  server_options: [maxconn 1]\n",
        // Queued requests wait for as long as the test may take to look at them.
        default_timeouts: "queue 120s, client 120s, connect 5s, server 120s",
      });
      const check = plugin("check_haproxy_queue_depth.sh");
      expect(await runCheck(check)).toEqual({ code: 0, stdout: "OK: no backend queue above 10\n" });

      const pending: Promise<number>[] = [];
      const send = (count: number) => {
        for (let i = 0; i < count; i++) pending.push(heldGet(unit.frontendPort));
      };
      send(13);
      expect(await checkSays(check, "WARNING: queued requests: web=12\n")).toEqual({
        code: 1,
        stdout: "WARNING: queued requests: web=12\n",
      });
      send(44);
      expect(await checkSays(check, "CRITICAL: queued requests: web=56\n")).toEqual({
        code: 2,
        stdout: "CRITICAL: queued requests: web=56\n",
      });
      expect(slow.held()).toBe(1);

      slow.release();
      expect(await Promise.all(pending)).toEqual(Array.from({ length: 57 }, () => 200));
      expect(await runCheck(check)).toEqual({ code: 0, stdout: "OK: no backend queue above 10\n" });
    } finally {
      slow.release();
      await slow.close();
    }
  });

  it("answers UNKNOWN, naming the allowed networks, when the page refuses loopback", async () => {
    await installNrpe();
    await unit.configure({ monitoring_allowed_cidr: "10.9.9.9/32" });
    const result = await runCheck(plugin("check_haproxy.sh"));
    expect(result.code).toBe(3);
    expect(result.stdout).toContain("monitoring_allowed_cidr");
  });

  it("adds a certificate expiry check for each TLS frontend", async () => {
    await installNrpe();
    const tlsPort = unit.frontendPort + 1;
    await unit.configure({
      ssl_cert: "SELFSIGNED",
      services:
        `- service_name: web\n  service_host: 127.0.0.1\n  service_port: ${unit.frontendPort}\n` +
        `- service_name: web_tls\n  service_host: 0.0.0.0\n  service_port: ${tlsPort}\n` +
        "  crts: [DEFAULT]\n",
      tls_warn_days: 21,
      tls_crit_days: 7,
    });
    const check = await readFile(path.join(nrpeDir(), "check_https_cert.cfg"), "utf8");
    expect(check).toContain(
      `command[check_https_cert]=/usr/lib/nagios/plugins/check_http -I 127.0.0.1 -p ${tlsPort} -S -C 21,7\n`,
    );
  });

  it("removes the checks when monitoring is turned off, and tells the subordinate", async () => {
    await installNrpe();
    unit.tools.addUnit("local-monitors:5", "nagios/0", {});
    await unit.configure({});
    await unit.configure({ enable_monitoring: false });
    expect(await readdir(nrpeDir())).toEqual([]);
    expect(await readdir(system().nagiosExport)).toEqual([]);
    await expect(access(plugin("check_haproxy.sh"))).rejects.toThrow();
    expect(unit.tools.local.get("local-monitors:5")?.monitors).toBeUndefined();
    expect(unit.host.commands).toContain("systemctl try-reload-or-restart nagios-nrpe-server");
  });

  it("writes the checks once the subordinate's nrpe server appears", async () => {
    await unit.configure({});
    await installNrpe();
    unit.tools.addUnit("nrpe-external-master:4", "nrpe/0", {});
    await unit.hook("nrpe-external-master-relation-changed", {
      JUJU_RELATION_ID: "nrpe-external-master:4",
      JUJU_REMOTE_UNIT: "nrpe/0",
    });
    expect(await readdir(nrpeDir())).toContain("check_haproxy.cfg");
    expect(unit.tools.local.get("nrpe-external-master:4")?.monitors).toContain("check_haproxy");
  });
});
