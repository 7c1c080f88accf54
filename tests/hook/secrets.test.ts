// Secrets (the statistics password, userlist passwords, private keys) reach
// haproxy through files only root or haproxy can read, and never through
// juju-log, a status message, relation data or a program's arguments.
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { hookContextFromEnv } from "../../src/hook/hookContext.js";
import type { HookDeps } from "../../src/hook/reconcile.js";
import type { StatusName } from "../../src/juju/hookTools.js";
import { runHook } from "../../src/hook/runHook.js";
import type { Paths } from "../../src/paths.js";
import { makeCertificate } from "../helpers/certificates.js";
import { HaproxyProcess, findFreePort } from "../helpers/haproxyProcess.js";
import { type Backend, startBackend } from "../helpers/httpBackends.js";
import { MemoryHookTools } from "../helpers/memoryHookTools.js";
import { recordingWrapper } from "../helpers/recordingWrapper.js";

const RELATION = "reverseproxy:2";
const STATS_PASSWORD = "St4tsPassw0rdNobodySees";
const USERLIST_PASSWORD = "Us3rlistPassw0rdNobodySees";
const certificate = makeCertificate("secrets.example");

/** Pieces of the key no message may hold: every body line and runs of its base64 form. */
const keyFragments = [
  ...certificate.key.split("\n").filter((line) => line !== "" && !line.startsWith("-----")),
  ...[40, 80, 120, 160].map((at) => certificate.base64Key.slice(at, at + 24)),
];

/** Keeps every status the charm set, not just the last. */
class RecordingHookTools extends MemoryHookTools {
  statuses: { status: StatusName; message: string }[] = [];
  override async statusSet(status: StatusName, message: string): Promise<void> {
    this.statuses.push({ status, message });
    await super.statusSet(status, message);
  }
}

let root: string;
let paths: Paths;
let tools: RecordingHookTools;
let haproxy: HaproxyProcess;
let deps: HookDeps;
let backend: Backend;
/** Arguments of every haproxy and openssl the charm started, one line per run. */
let argvLog: string;
let savedPath: string | undefined;

function hook(name: string, env: Record<string, string> = {}) {
  return runHook(deps, hookContextFromEnv(name, { JUJU_UNIT_NAME: "haproxy/0", ...env }));
}

async function modeOf(file: string): Promise<number> {
  return (await stat(file)).mode & 0o777;
}

beforeAll(async () => {
  backend = await startBackend("web/0");
});
afterAll(async () => {
  await backend.close();
});

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), "charm-secrets-"));
  paths = {
    haproxyConfig: path.join(root, "etc", "haproxy.cfg"),
    haproxyLib: path.join(root, "lib"),
    haproxyRun: path.join(root, "run"),
    charmState: path.join(root, "state"),
  };
  await mkdir(path.join(root, "etc"));
  const bin = path.join(root, "bin");
  await mkdir(bin);
  argvLog = path.join(root, "argv.log");
  const haproxyBinary = await recordingWrapper(bin, "haproxy", "/usr/sbin/haproxy", argvLog);
  await recordingWrapper(bin, "openssl", "/usr/bin/openssl", argvLog);
  savedPath = process.env.PATH;
  process.env.PATH = `${bin}:${savedPath ?? ""}`;

  const [tlsPort, statsPort] = [await findFreePort(), await findFreePort()];
  tools = new RecordingHookTools();
  tools.config = {
    services: [
      "- service_name: web",
      "  service_host: 127.0.0.1",
      `  service_port: ${tlsPort}`,
      "  crts: [DEFAULT]",
    ].join("\n"),
    ssl_cert: certificate.base64Certificate,
    ssl_key: certificate.base64Key,
    enable_monitoring: true,
    monitoring_port: statsPort,
    monitoring_password: STATS_PASSWORD,
    userlists: `- {admins: {users: [admin insecure-password ${USERLIST_PASSWORD}]}}`,
  };
  tools.addUnit(RELATION, "web/0", { "private-address": "127.0.0.1", port: String(backend.port) });
  haproxy = new HaproxyProcess({
    configFile: paths.haproxyConfig,
    pidFile: path.join(root, "haproxy.pid"),
    probePorts: [tlsPort, statsPort],
  });
  deps = { tools, paths, service: haproxy, haproxyBinary, fileOwner: "haproxy" };
});
afterEach(async () => {
  process.env.PATH = savedPath;
  await haproxy.stop();
  await rm(root, { recursive: true, force: true });
});

/** Everything the charm told Juju or anyone else, and every command line it ran. */
async function everythingSaid(): Promise<string[]> {
  return [
    ...tools.logs.map((log) => log.message),
    ...tools.statuses.map((status) => status.message),
    ...[...tools.local.values()].flatMap((settings) => Object.values(settings)),
    ...(await readFile(argvLog, "utf8")).split("\n"),
  ];
}

function expectNoSecretIn(said: readonly string[], secrets: readonly string[]): void {
  for (const secret of secrets) {
    expect(
      said.filter((text) => text.includes(secret)),
      `a message holds ${secret}`,
    ).toEqual([]);
  }
}

describe("secrets", () => {
  it("never appear in logs, statuses, relation data or command lines, whatever the hooks meet", async () => {
    await hook("install");
    await hook("config-changed");
    expect(tools.status).toEqual({ status: "active", message: "Unit is ready" });
    await hook("reverseproxy-relation-joined", {
      JUJU_RELATION_ID: RELATION,
      JUJU_REMOTE_UNIT: "web/0",
    });
    await hook("update-status");

    // Errors are where values tend to get quoted back.
    const good = { ...tools.config };
    tools.config = {
      ...good,
      userlists: `- {admins: "user admin insecure-password ${USERLIST_PASSWORD}"}`,
    };
    await hook("config-changed");
    expect(tools.status?.status).toBe("blocked");
    tools.config = {
      ...good,
      userlists: `- {admins: {users: [admin insecure-password ${USERLIST_PASSWORD} oops]}}`,
    };
    await hook("config-changed");
    expect(tools.status?.message).toMatch(/haproxy rejected/);
    tools.config = { ...good, monitoring_password: `${STATS_PASSWORD} two words` };
    await hook("config-changed");
    expect(tools.status?.status).toBe("blocked");
    tools.config = {
      ...good,
      ssl_key: Buffer.from(certificate.key.replace(/[A-Z]/g, "x")).toString("base64"),
    };
    await hook("config-changed");
    expect(tools.status?.status).toBe("blocked");

    // A generated password and a self-signed key must stay as quiet.
    tools.config = {
      ...good,
      monitoring_password: "changeme",
      ssl_cert: "SELFSIGNED",
      ssl_key: "",
    };
    await hook("config-changed");
    expect(tools.status).toEqual({ status: "active", message: "Unit is ready" });
    const generated = (
      await readFile(path.join(paths.charmState, "monitoring-password"), "utf8")
    ).trim();
    const selfSigned = await readFile(path.join(paths.haproxyLib, "default.pem"), "utf8");
    const selfSignedKey = selfSigned
      .slice(selfSigned.indexOf("-----BEGIN PRIVATE KEY-----"))
      .split("\n")
      .filter((line) => line !== "" && !line.startsWith("-----"));
    expect(generated).toMatch(/^\S{16,}$/);
    expect(selfSignedKey.length).toBeGreaterThan(5);

    const said = await everythingSaid();
    expect(said.some((line) => line.startsWith("haproxy -c -f"))).toBe(true);
    expect(said.some((line) => line.startsWith("openssl req"))).toBe(true);
    expectNoSecretIn(said, [
      STATS_PASSWORD,
      USERLIST_PASSWORD,
      generated,
      ...keyFragments,
      ...selfSignedKey,
    ]);
  });

  it("are written 0600 (their directory 0700), haproxy.cfg included", async () => {
    // The package's own haproxy.cfg is world-readable; the charm's is not.
    await writeFile(paths.haproxyConfig, "global\n", { mode: 0o644 });
    await hook("install");
    tools.config = { ...tools.config, monitoring_password: "changeme" };
    await hook("config-changed");
    expect(tools.status).toEqual({ status: "active", message: "Unit is ready" });

    expect(await readFile(paths.haproxyConfig, "utf8")).toContain("stats auth haproxy:");
    expect(await modeOf(paths.haproxyConfig)).toBe(0o600);
    expect(await modeOf(path.join(paths.haproxyLib, "default.pem"))).toBe(0o600);
    expect(await modeOf(path.join(paths.charmState, "monitoring-password"))).toBe(0o600);
    expect(await modeOf(paths.charmState)).toBe(0o700);

    // A live file opened up by hand is closed again without being rewritten.
    await chmod(paths.haproxyConfig, 0o644);
    const before = await stat(paths.haproxyConfig);
    await hook("config-changed");
    const after = await stat(paths.haproxyConfig);
    expect(after.mode & 0o777).toBe(0o600);
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect(haproxy.reloads).toBe(0);
  });
});
