// The hook layer end to end, minus Juju: relation data and config in memory,
// everything else real (haproxy, its files, HTTP backends and clients).
import { readFile, readdir, stat } from "node:fs/promises";
import path from "node:path";

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

import type { Paths } from "../../src/paths.js";
import { makeCertificate } from "../helpers/certificates.js";
import { type Backend, answeringBackends, startBackend } from "../helpers/httpBackends.js";
import { type HaproxyProcess, findFreePort } from "../helpers/haproxyProcess.js";
import { MemoryHookTools } from "../helpers/memoryHookTools.js";
import { type UnitSandbox, createUnitSandbox } from "../helpers/unitSandbox.js";

const RELATION = "reverseproxy:7";

let sandbox: UnitSandbox;
let root: string;
let paths: Paths;
let tools: MemoryHookTools;
let haproxy: HaproxyProcess;
let frontendPort: number;
const backends: Backend[] = [];

const services = (port: number, options = "[balance roundrobin]") =>
  `- service_name: web\n  service_host: 127.0.0.1\n  service_port: ${port}\n  service_options: ${options}\n`;

const hook = (name: string, env: Record<string, string> = {}) => sandbox.hook(name, env);

/**
 * Every file haproxy reads (its configuration, certificates and error pages),
 * with what a rewrite changes: a rename may reuse the inode number, not the times.
 */
async function fileIdentities(): Promise<Record<string, string>> {
  const identities: Record<string, string> = {};
  for (const dir of ["etc", "lib"]) {
    const names = await readdir(path.join(root, dir), { recursive: true });
    for (const name of names.sort()) {
      const info = await stat(path.join(root, dir, name), { bigint: true });
      if (!info.isFile()) continue;
      identities[path.join(dir, name)] =
        `inode ${info.ino} mtime ${info.mtimeNs} ctime ${info.ctimeNs} size ${info.size}`;
    }
  }
  return identities;
}

beforeAll(async () => {
  for (const name of ["web/0", "web/1", "web/2"]) backends.push(await startBackend(name));
});
afterAll(async () => {
  await Promise.all(backends.map((backend) => backend.close()));
});

beforeEach(async () => {
  frontendPort = await findFreePort();
  tools = new MemoryHookTools();
  tools.config = { services: services(frontendPort) };
  sandbox = await createUnitSandbox(tools, { probePorts: [frontendPort] });
  ({ root, paths, haproxy } = sandbox);
  backends.forEach((backend) =>
    tools.addUnit(RELATION, backend.name, {
      "private-address": "127.0.0.1",
      port: String(backend.port),
    }),
  );
});
afterEach(() => sandbox.cleanup());

describe("hooks against a real haproxy", () => {
  it("serves every related unit after config-changed, opens the port, reports active", async () => {
    await hook("install");
    await hook("config-changed");
    expect(await answeringBackends(frontendPort, 6)).toEqual(["web/0", "web/1", "web/2"]);
    expect(tools.status).toEqual({ status: "active", message: "Unit is ready" });
    expect([...tools.opened]).toEqual([frontendPort]);
  });

  it("takes a departed unit out of the backend", async () => {
    await hook("config-changed");
    tools.removeUnit(RELATION, "web/2");
    await hook("reverseproxy-relation-departed", {
      JUJU_RELATION_ID: RELATION,
      JUJU_DEPARTING_UNIT: "web/2",
    });
    expect(await answeringBackends(frontendPort, 6)).toEqual(["web/0", "web/1"]);
  });

  it("does not reload or rewrite anything when a hook sees unchanged inputs", async () => {
    // A certificate and an error page too, so that haproxy's library has files.
    const certificate = makeCertificate("web.example");
    tools.config = {
      services:
        services(frontendPort) +
        "  crts: [DEFAULT]\n" +
        `  errorfiles: [{http_status: 503, content: ${Buffer.from("HTTP/1.0 503 x\r\n\r\n").toString("base64")}}]\n`,
      ssl_cert: certificate.base64Certificate,
      ssl_key: certificate.base64Key,
    };
    await hook("config-changed");
    const before = {
      reloads: haproxy.reloads,
      starts: haproxy.starts,
      files: await fileIdentities(),
    };
    expect(Object.keys(before.files)).toEqual(
      expect.arrayContaining(["etc/haproxy.cfg", "lib/default.pem", "lib/service_web/503.http"]),
    );
    await hook("reverseproxy-relation-changed", {
      JUJU_RELATION_ID: RELATION,
      JUJU_REMOTE_UNIT: "web/0",
    });
    await hook("config-changed");
    await hook("update-status");
    expect({ reloads: haproxy.reloads, starts: haproxy.starts }).toEqual({
      reloads: before.reloads,
      starts: before.starts,
    });
    // Not rewritten with the same text either.
    expect(await fileIdentities()).toEqual(before.files);
  });

  it("keeps the live config serving when haproxy rejects a new one, and recovers on a good one", async () => {
    await hook("config-changed");
    const live = await readFile(paths.haproxyConfig, "utf8");

    tools.config = { services: services(frontendPort, "[balance roundrobin, frobnicate always]") };
    await hook("config-changed");
    expect(tools.status?.status).toBe("blocked");
    expect(tools.status?.message).toContain("frobnicate");
    expect(await readFile(paths.haproxyConfig, "utf8")).toBe(live);
    expect(await answeringBackends(frontendPort, 6)).toEqual(["web/0", "web/1", "web/2"]);

    tools.config = { services: services(frontendPort, "[balance first]") };
    await hook("config-changed");
    expect(tools.status).toEqual({ status: "active", message: "Unit is ready" });
    expect(await answeringBackends(frontendPort, 3)).toEqual(["web/0"]);
  });

  it("blocks on an invalid config value, naming it, and keeps serving", async () => {
    await hook("config-changed");
    tools.config = { services: "- service_name: web\n  service_port: [not a port\n" };
    await hook("config-changed");
    expect(tools.status?.status).toBe("blocked");
    expect(tools.status?.message).toMatch(/^config option services: .*not valid YAML/);
    expect(await answeringBackends(frontendPort, 6)).toEqual(["web/0", "web/1", "web/2"]);
  });

  it("blocks on an option of the wrong type in every hook that reads it, naming it, and keeps serving", async () => {
    await hook("config-changed");
    tools.config = { ...tools.config, global_maxconn: "lots" };
    const blocked = {
      status: "blocked",
      message: 'config option global_maxconn: expected an integer, got "lots"',
    };
    await hook("config-changed");
    expect(tools.status).toEqual(blocked);
    await hook("reverseproxy-relation-joined", {
      JUJU_RELATION_ID: RELATION,
      JUJU_REMOTE_UNIT: "web/0",
    });
    expect(tools.status).toEqual(blocked);
    expect(await answeringBackends(frontendPort, 6)).toEqual(["web/0", "web/1", "web/2"]);
  });

  it("skips hostile units with a warning naming unit and field, serves the rest, writes nothing outside its directories", async () => {
    tools.addUnit(RELATION, "evil/0", {
      "private-address": "127.0.0.1",
      port: "80\n    server x 127.0.0.1:1",
    });
    tools.addUnit(RELATION, "evil/1", {
      "private-address": "127.0.0.1",
      services:
        "- {service_name: ../../../tmp/pwned, service_port: 81, errorfiles: [{http_status: 503, content: aGk=}]}",
    });
    tools.addUnit(RELATION, "evil/2", {
      "private-address": "127.0.0.1",
      services: "x".repeat(1024 * 1024),
    });
    await hook("config-changed");

    expect(await answeringBackends(frontendPort, 6)).toEqual(["web/0", "web/1", "web/2"]);
    const warnings = tools.logs.filter((log) => log.level === "WARNING").map((log) => log.message);
    expect(warnings).toEqual([
      expect.stringMatching(/evil\/1 .*service_name/),
      expect.stringMatching(/evil\/2 .*larger than/),
      expect.stringMatching(/evil\/0 .*port/),
    ]);
    expect(tools.status?.message).toContain("ignoring 3 units with invalid relation data");
    // haproxy.pid and haproxy.pid.log are the test's haproxy manager's.
    expect((await readdir(root)).sort()).toEqual([
      "etc",
      "haproxy.pid",
      "haproxy.pid.log",
      "lib",
      "run",
      "state",
    ]);
    expect(await readdir(paths.haproxyLib)).toEqual([]);
  });

  it("restarts a haproxy that died on update-status", async () => {
    await hook("config-changed");
    await haproxy.stop();
    await hook("update-status");
    expect(await haproxy.isRunning()).toBe(true);
    expect(await answeringBackends(frontendPort, 3)).toHaveLength(3);
  });

  it("publishes public-address and ssl_cert when a reverseproxy unit joins", async () => {
    tools.config = { ...tools.config, ssl_cert: "Q0VSVA==", ssl_key: "S0VZ" };
    await hook("reverseproxy-relation-joined", {
      JUJU_RELATION_ID: RELATION,
      JUJU_REMOTE_UNIT: "web/0",
    });
    expect(tools.local.get(RELATION)).toEqual({
      "public-address": "203.0.113.10",
      ssl_cert: "Q0VSVA==",
    });
  });

  it("logs and ignores an event it does not know", async () => {
    await hook("some-future-event");
    expect(tools.logs).toEqual([
      { level: "INFO", message: "no handler for hook some-future-event; nothing to do" },
    ]);
  });
});
