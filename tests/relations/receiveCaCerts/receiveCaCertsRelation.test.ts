// The receive-ca-certs relation (certificate_transfer, haproxy the requirer)
// at the hook layer: the charm's hooks against in-memory hook tools and a real
// haproxy; the CAs providers send end up in one bundle file, the leader tells
// them it reads v1, and the file goes when the last CA does.
import { X509Certificate } from "node:crypto";
import { readFile, readdir, stat } from "node:fs/promises";
import path from "node:path";

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { type Backend, httpGet, startBackend } from "../../helpers/httpBackends.js";
import { findFreePort } from "../../helpers/haproxyProcess.js";
import { MemoryHookTools } from "../../helpers/memoryHookTools.js";
import { TestCa } from "../../helpers/testCa.js";
import { type UnitSandbox, createUnitSandbox } from "../../helpers/unitSandbox.js";

const VAULT = "receive-ca-certs:5";
const LEGACY = "receive-ca-certs:6";
const BUNDLE = "receive-ca-certs.pem";

let sandbox: UnitSandbox;
let tools: MemoryHookTools;
let backend: Backend;
let vaultCa: TestCa;
let legacyCa: TestCa;
let port: number;

/** A hook of `relationId`, about `unit` of the provider, as Juju runs it. */
const relationHook = (kind: string, relationId: string, unit: string) =>
  sandbox.hook(`receive-ca-certs-relation-${kind}`, {
    JUJU_RELATION_ID: relationId,
    JUJU_REMOTE_APP: unit.split("/")[0] as string,
    JUJU_REMOTE_UNIT: unit,
  });

/** A v1 provider's leader lists its CAs in its app bag; its unit's join and change follow. */
async function vaultSends(pems: readonly string[]): Promise<void> {
  tools.setRemoteApp(VAULT, "vault", { certificates: JSON.stringify(pems), version: "1" });
  tools.addUnit(VAULT, "vault/0", {});
  await relationHook("joined", VAULT, "vault/0");
  await relationHook("changed", VAULT, "vault/0");
}

const bundleFile = () => path.join(sandbox.paths.haproxyLib, BUNDLE);

/** The fingerprints of the certificates the bundle on disk holds, in its order. */
async function bundleFingerprints(): Promise<string[]> {
  const text = await readFile(bundleFile(), "utf8");
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g);
  expect(blocks?.join("")).toBe(text);
  return (blocks ?? []).map((pem) => new X509Certificate(pem).fingerprint256);
}

const fingerprintOf = (ca: TestCa) => new X509Certificate(ca.certificate).fingerprint256;

beforeAll(async () => {
  backend = await startBackend("web/0");
  vaultCa = TestCa.create("Vault CA");
  legacyCa = TestCa.create("Legacy CA");
});
afterAll(async () => {
  await backend.close();
  vaultCa.cleanup();
  legacyCa.cleanup();
});

beforeEach(async () => {
  port = await findFreePort();
  tools = new MemoryHookTools();
  tools.config = {
    services: `- {service_name: web, service_host: 127.0.0.1, service_port: ${port}, service_options: [mode http], servers: [[web-0, 127.0.0.1, ${backend.port}, check]]}`,
  };
  sandbox = await createUnitSandbox(tools, { probePorts: [port] });
  for (const hook of ["install", "config-changed", "start"]) await sandbox.hook(hook);
});
afterEach(() => sandbox.cleanup());

describe("the receive-ca-certs relation", () => {
  it("writes the CAs a provider sends to one world-readable bundle, and tells it we read v1", async () => {
    expect(await readdir(sandbox.paths.haproxyLib)).not.toContain(BUNDLE);
    await vaultSends([vaultCa.certificate]);
    expect(await bundleFingerprints()).toEqual([fingerprintOf(vaultCa)]);
    expect((await stat(bundleFile())).mode & 0o777).toBe(0o644);
    expect(tools.localApp.get(VAULT)).toEqual({ version: "1" });
    // haproxy kept serving throughout.
    expect(tools.status).toEqual({ status: "active", message: "Unit is ready" });
    expect((await httpGet(port)).body).toBe("web/0");
  });

  it("trusts a v0 provider's units beside a v1 provider, and leaves out what is not a certificate", async () => {
    await vaultSends([vaultCa.certificate]);
    // A v0 provider: plain PEM in its unit's bag; one unit sends its private key by mistake.
    tools.setRemoteApp(LEGACY, "legacy", {});
    tools.addUnit(LEGACY, "legacy/0", {
      ca: legacyCa.certificate,
      chain: JSON.stringify([legacyCa.certificate]),
    });
    tools.addUnit(LEGACY, "legacy/1", {
      ca: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    });
    await relationHook("joined", LEGACY, "legacy/0");
    await relationHook("joined", LEGACY, "legacy/1");

    expect(await bundleFingerprints()).toEqual(
      [fingerprintOf(vaultCa), fingerprintOf(legacyCa)].sort(),
    );
    expect(await readFile(bundleFile(), "utf8")).not.toContain("PRIVATE KEY");
    const warnings = tools.logs.filter((log) => log.level === "WARNING").map((log) => log.message);
    expect(warnings).toContain(
      `receive-ca-certs application legacy, unit legacy/1 (${LEGACY}): ca: holds a private key; left out`,
    );
    expect(tools.localApp.get(LEGACY)).toEqual({ version: "1" });
  });

  it("lets only the leader write the version, and every unit write the bundle", async () => {
    tools.leader = false;
    await vaultSends([vaultCa.certificate]);
    expect(tools.localApp.get(VAULT)).toBeUndefined();
    expect(await bundleFingerprints()).toEqual([fingerprintOf(vaultCa)]);
  });

  it("removes the bundle when the provider empties its list, and when the relation is gone", async () => {
    await vaultSends([vaultCa.certificate]);
    tools.setRemoteApp(VAULT, "vault", { certificates: "[]", version: "1" });
    await relationHook("changed", VAULT, "vault/0");
    expect(await readdir(sandbox.paths.haproxyLib)).not.toContain(BUNDLE);

    await vaultSends([vaultCa.certificate, legacyCa.certificate]);
    expect(await bundleFingerprints()).toHaveLength(2);
    tools.removeUnit(VAULT, "vault/0");
    await relationHook("departed", VAULT, "vault/0");
    tools.endpoints.delete(VAULT);
    tools.remoteApps.delete(VAULT);
    await sandbox.hook("receive-ca-certs-relation-broken", {
      JUJU_RELATION_ID: VAULT,
      JUJU_REMOTE_APP: "vault",
    });
    expect(await readdir(sandbox.paths.haproxyLib)).not.toContain(BUNDLE);
    expect(tools.status).toEqual({ status: "active", message: "Unit is ready" });
    expect((await httpGet(port)).body).toBe("web/0");
  });
});
