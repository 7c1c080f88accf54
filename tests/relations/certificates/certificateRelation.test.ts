// The certificates relation (tls-certificates v4, unit mode) at the hook
// layer: the charm's hooks with a real openssl CA answering its CSRs, a real
// haproxy serving the result and a real TLS client verifying it.
import { execFileSync } from "node:child_process";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { readFile, readdir, stat } from "node:fs/promises";
import path from "node:path";
import { connect } from "node:tls";

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { stateFilePath } from "../../../src/stateFiles.js";
import { type Backend, startBackend } from "../../helpers/httpBackends.js";
import { findFreePort } from "../../helpers/haproxyProcess.js";
import {
  type HookToolCall,
  MemoryHookTools,
  recordingCalls,
} from "../../helpers/memoryHookTools.js";
import { type CertificateEntry, TestCa, requestedCsrs } from "../../helpers/testCa.js";
import { type UnitSandbox, createUnitSandbox } from "../../helpers/unitSandbox.js";

const HOST = "shop.example.com";
const RELATION = "certificates:7";
const DAY = 86_400_000;

let sandbox: UnitSandbox;
let tools: MemoryHookTools;
/** Every hook-tool call of the charm, with its arguments. */
let calls: HookToolCall[];
let backend: Backend;
let ca: TestCa;
let port: number;
let clock: number;

const hook = (name: string) =>
  sandbox.hook(
    name,
    name.startsWith("certificates-")
      ? { JUJU_RELATION_ID: RELATION, JUJU_REMOTE_APP: "self-signed-certificates" }
      : {},
  );

/** What haproxy/0 asks for right now. */
const ourCsrs = () => requestedCsrs(tools.local.get(RELATION)?.certificate_signing_requests);

function onlyCsr(): string {
  const csrs = ourCsrs();
  expect(csrs).toHaveLength(1);
  return csrs[0] as string;
}

/** The provider writes its app bag; the charm hears relation-changed. */
async function provide(entries: readonly CertificateEntry[]): Promise<void> {
  // The unit's clock runs on: a certificate issued just now is valid for it.
  clock = Math.max(clock, Date.now());
  tools.setRemoteApp(RELATION, "self-signed-certificates", {
    certificates: JSON.stringify(entries),
  });
  await hook("certificates-relation-changed");
}

/** The certificate haproxy presents for HOST, verified against the CA. */
function served(): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: "127.0.0.1", port, servername: HOST, ca: ca.certificate },
      () => {
        const raw = socket.getPeerX509Certificate();
        socket.end();
        if (raw === undefined) reject(new Error("no certificate"));
        else resolve(raw);
      },
    );
    socket.on("error", reject);
  });
}

/** The CSR as openssl prints it; openssl fails when its signature does not verify. */
function csrText(csr: string): string {
  execFileSync("openssl", ["req", "-noout", "-verify"], {
    input: csr,
    stdio: ["pipe", "ignore", "ignore"],
  });
  return execFileSync("openssl", ["req", "-noout", "-text"], { input: csr, encoding: "utf8" });
}

beforeAll(async () => {
  backend = await startBackend("shop/0");
  ca = TestCa.create();
});
afterAll(async () => {
  await backend.close();
  ca.cleanup();
});

beforeEach(async () => {
  port = await findFreePort();
  clock = Date.now();
  tools = new MemoryHookTools();
  const recording = recordingCalls(tools);
  calls = recording.calls;
  tools.config = {
    external_hostname: HOST,
    services: `- {service_name: shop, service_host: 127.0.0.1, service_port: ${port}, crts: [DEFAULT], service_options: [mode http], servers: [[shop-0, 127.0.0.1, ${backend.port}, check]]}`,
  };
  tools.setRemoteApp(RELATION, "self-signed-certificates", {});
  sandbox = await createUnitSandbox(recording.tools, { probePorts: [port], now: () => clock });
});
afterEach(() => sandbox.cleanup());

describe("the certificates relation", () => {
  it("asks for a certificate for external_hostname with a key that never leaves the unit", async () => {
    await hook("certificates-relation-joined");
    const csr = onlyCsr();
    const text = csrText(csr);
    expect(text).toMatch(
      new RegExp(
        `Subject: CN ?= ?${HOST.replaceAll(".", "\\.")}, x500UniqueIdentifier ?= ?[0-9a-f-]{36}`,
      ),
    );
    expect(text).toContain(`DNS:${HOST}`);
    expect(text).toMatch(/Public-Key: \(2048 bit\)/);
    expect(text).toContain("sha256WithRSAEncryption");
    expect(JSON.parse(tools.local.get(RELATION)?.certificate_signing_requests ?? "")).toEqual([
      { certificate_signing_request: csr.trim(), ca: false },
    ]);

    // The key: 0600, in the charm's state directory, nowhere else.
    const stateDir = path.join(sandbox.paths.charmState, "certificates");
    const keyFile = path.join(
      stateDir,
      (await readdir(stateDir)).find((f) => f.includes("key")) ?? "",
    );
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    const key = await readFile(keyFile, "utf8");
    expect(createPrivateKey(key).asymmetricKeyDetails?.modulusLength).toBe(2048);

    // Nothing is requested again while nothing changed.
    await hook("certificates-relation-changed");
    await hook("config-changed");
    expect(onlyCsr()).toBe(csr);

    // Nor while it is served: the hook tools never carry it, in any argument or bag.
    await provide([ca.entry(csr)]);
    expect((await served()).subject).toContain(`CN=${HOST}`);
    const everythingSaid = JSON.stringify([
      calls,
      tools.logs,
      tools.status,
      [...tools.local],
      [...tools.localApp],
    ]);
    expect(calls.map((call) => call.tool)).toEqual(
      expect.arrayContaining(["relationSet", "statusSet"]),
    );
    const keyLines = key.split("\n").filter((line) => line !== "" && !line.startsWith("-----"));
    for (const line of keyLines) expect(everythingSaid).not.toContain(line);
  });

  it("serves the provider's certificate as the default certificate, with its chain", async () => {
    await hook("certificates-relation-joined");
    await provide([ca.entry(onlyCsr())]);
    expect(tools.status).toEqual({ status: "active", message: "Unit is ready" });
    const certificate = await served();
    expect(certificate.subject).toContain(`CN=${HOST}`);
    expect(certificate.checkIssued(new X509Certificate(ca.certificate))).toBe(true);
    const file = path.join(sandbox.paths.haproxyLib, "certificates-relation.pem");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, "utf8")).toMatch(
      /BEGIN CERTIFICATE[\s\S]*BEGIN CERTIFICATE[\s\S]*BEGIN PRIVATE KEY/,
    );
  });

  it("lets an operator's ssl_cert win over the relation's certificate", async () => {
    const { makeCertificate } = await import("../../helpers/certificates.js");
    const own = makeCertificate(HOST);
    await hook("certificates-relation-joined");
    await provide([ca.entry(onlyCsr())]);
    tools.config = { ...tools.config, ssl_cert: own.base64Certificate, ssl_key: own.base64Key };
    await hook("config-changed");
    const presented = await new Promise<X509Certificate | undefined>((resolve, reject) => {
      const socket = connect(
        { host: "127.0.0.1", port, servername: HOST, ca: own.certificate },
        () => {
          resolve(socket.getPeerX509Certificate());
          socket.end();
        },
      );
      socket.on("error", reject);
    });
    expect(presented?.fingerprint256).toBe(new X509Certificate(own.certificate).fingerprint256);
  });

  it("ignores, with a warning, a certificate for our CSR that is not for our key, and a revoked one", async () => {
    await hook("certificates-relation-joined");
    const csr = onlyCsr();
    const { makeCsrWithKey } = await import("../../helpers/testCa.js");
    const foreign = ca.sign(makeCsrWithKey(HOST).csr);
    await provide([{ ...ca.entry(csr), certificate: foreign }]);
    expect(tools.logs.map((log) => log.message).join("\n")).toMatch(
      /does not match our private key; ignored/,
    );
    expect(await readdir(sandbox.paths.haproxyLib)).not.toContain("certificates-relation.pem");

    await provide([ca.entry(csr)]);
    const first = await served();
    await provide([{ ...ca.entry(csr), certificate: first.toString(), revoked: true }]);
    expect(tools.logs.map((log) => `${log.level} ${log.message}`).join("\n")).toMatch(
      /WARNING .*revoked our certificate/,
    );
    // A fresh request goes out for the revoked one.
    expect(onlyCsr()).not.toBe(csr);
  });

  it("ignores, with a warning, a certificate not valid now or not for our name, and keeps serving the good one", async () => {
    await hook("certificates-relation-joined");
    const csr = onlyCsr();
    await provide([ca.entry(csr)]);
    const good = await served();
    const warnings = () =>
      tools.logs
        .filter((log) => log.level === "WARNING")
        .map((log) => log.message)
        .join("\n");

    await provide([ca.entry(csr, { startsIn: -2 * 86_400, endsIn: -86_400 })]);
    expect(warnings()).toMatch(/certificate for our request \(serial \w+\) is not valid now/);
    expect((await served()).fingerprint256).toBe(good.fingerprint256);

    await provide([ca.entry(csr, { startsIn: 86_400, endsIn: 30 * 86_400 })]);
    expect((await served()).fingerprint256).toBe(good.fingerprint256);

    // Our own key, but signed for another name than the one we asked for.
    const keyFile = stateFilePath(sandbox.paths.charmState, "certificateKey");
    const otherName = execFileSync(
      "openssl",
      [
        "req",
        "-new",
        "-key",
        keyFile,
        "-subj",
        "/CN=evil.example.net",
        "-addext",
        "subjectAltName=DNS:evil.example.net",
      ],
      { encoding: "utf8" },
    );
    tools.logs.length = 0;
    await provide([{ ...ca.entry(csr), certificate: ca.sign(otherName) }]);
    expect(warnings()).toMatch(new RegExp(`is not for ${HOST.replaceAll(".", "\\.")}; ignored`));
    expect((await served()).fingerprint256).toBe(good.fingerprint256);
    expect(tools.status).toEqual({ status: "active", message: "Unit is ready" });
  });

  it("renews at 90 % of the validity with the same key, and serves the old one until the new arrives", async () => {
    await hook("certificates-relation-joined");
    const firstCsr = onlyCsr();
    await provide([ca.entry(firstCsr, { endsIn: 10 * 86_400 })]);
    const first = await served();

    clock += 8.9 * DAY; // 89 %: nothing happens
    await hook("update-status");
    expect(onlyCsr()).toBe(firstCsr);

    clock += 0.2 * DAY; // 91 %: update-status asks again
    await hook("update-status");
    const secondCsr = onlyCsr();
    expect(secondCsr).not.toBe(firstCsr);
    const publicKey = (csr: string) =>
      execFileSync("openssl", ["req", "-noout", "-pubkey"], { input: csr, encoding: "utf8" });
    expect(publicKey(secondCsr)).toBe(publicKey(firstCsr));
    // The provider drops the old entry when it sees the new CSR: the old certificate still serves.
    await provide([]);
    expect((await served()).fingerprint256).toBe(first.fingerprint256);
    await hook("update-status");
    expect(onlyCsr()).toBe(secondCsr);

    await provide([ca.entry(secondCsr)]);
    expect((await served()).fingerprint256).not.toBe(first.fingerprint256);
  });

  it("asks anew when external_hostname changes, withdrawing the old request", async () => {
    await hook("certificates-relation-joined");
    const old = onlyCsr();
    await provide([ca.entry(old)]);
    tools.config = { ...tools.config, external_hostname: "www.example.com" };
    await hook("config-changed");
    const fresh = onlyCsr();
    expect(fresh).not.toBe(old);
    expect(csrText(fresh)).toContain("DNS:www.example.com");
    // Until the new certificate arrives the unit waits, and what was live keeps serving.
    expect(tools.status).toEqual({
      status: "waiting",
      message: "Waiting for a certificate for www.example.com on the certificates relation",
    });
    expect((await served()).subject).toContain(`CN=${HOST}`);
    await provide([ca.entry(fresh)]);
    const renamed = await new Promise<X509Certificate | undefined>((resolve, reject) => {
      const socket = connect(
        { host: "127.0.0.1", port, servername: "www.example.com", ca: ca.certificate },
        () => {
          resolve(socket.getPeerX509Certificate());
          socket.end();
        },
      );
      socket.on("error", reject);
    });
    expect(renamed?.subject).toContain("CN=www.example.com");

    tools.config = { ...tools.config, external_hostname: "" };
    await hook("config-changed");
    expect(ourCsrs()).toEqual([]);
  });

  it("falls back when the relation goes, and keeps serving plain HTTP throughout", async () => {
    const plainPort = await findFreePort();
    tools.config = {
      ...tools.config,
      services: `${tools.config.services as string}\n- {service_name: plain, service_host: 127.0.0.1, service_port: ${plainPort}, service_options: [mode http], servers: [[shop-0, 127.0.0.1, ${backend.port}, check]]}`,
    };
    const { httpGet } = await import("../../helpers/httpBackends.js");
    await hook("certificates-relation-joined");
    await provide([ca.entry(onlyCsr())]);
    expect((await httpGet(plainPort)).body).toBe("shop/0");
    await served();

    tools.endpoints.delete(RELATION);
    tools.remoteApps.delete(RELATION);
    await sandbox.hook("certificates-relation-broken", {
      JUJU_RELATION_ID: RELATION,
      JUJU_REMOTE_APP: "self-signed-certificates",
    });
    expect((await httpGet(plainPort)).body).toBe("shop/0");
    // DEFAULT has no certificate any more: the unit says so, and what was live keeps serving.
    expect(tools.status).toEqual({
      status: "blocked",
      message: expect.stringMatching(
        /shop lists DEFAULT in crts, but there is no default certificate/,
      ),
    });
    expect((await httpGet(plainPort)).body).toBe("shop/0");

    // An operator's certificate is the fallback.
    const { makeCertificate } = await import("../../helpers/certificates.js");
    const own = makeCertificate(HOST);
    tools.config = { ...tools.config, ssl_cert: own.base64Certificate, ssl_key: own.base64Key };
    await hook("config-changed");
    expect(tools.status).toEqual({ status: "active", message: "Unit is ready" });
    expect(await readdir(sandbox.paths.haproxyLib)).not.toContain("certificates-relation.pem");
  });

  it("reads a provider bag that is not JSON, not a list, or megabytes of junk, without failing", async () => {
    await hook("certificates-relation-joined");
    const csr = onlyCsr();
    for (const certificates of [
      "not json",
      '{"a": 1}',
      JSON.stringify([{ certificate: "x".repeat(100), certificate_signing_request: csr }]),
      JSON.stringify([
        ...Array.from({ length: 3000 }, (_, i) => ({
          certificate: `-----BEGIN CERTIFICATE-----\n${"A".repeat(1500)}${i}\n-----END CERTIFICATE-----`,
          certificate_signing_request: "junk",
        })),
        ca.entry(csr),
      ]),
    ]) {
      tools.setRemoteApp(RELATION, "self-signed-certificates", { certificates });
      clock = Math.max(clock, Date.now()); // a certificate issued just now is valid for the unit
      await hook("certificates-relation-changed");
    }
    const warnings = tools.logs.filter((log) => log.level === "WARNING").map((log) => log.message);
    expect(warnings.join("\n")).toMatch(/not JSON; ignored/);
    expect(warnings.join("\n")).toMatch(/not a JSON list; ignored/);
    expect(warnings.join("\n")).toMatch(/1 of 1 entries are not PEM/);
    // The good entry among megabytes of others is found.
    expect((await served()).subject).toContain(`CN=${HOST}`);
  });

  it("ignores a provider bag over 16 MiB, even with our certificate in it, and reads one of 16 MiB", async () => {
    await hook("certificates-relation-joined");
    const ours = ca.entry(onlyCsr());
    const cap = 16 * 1024 * 1024;
    /** A list of our entry after one junk entry that pads it to exactly `size` characters. */
    const bagOfSize = (size: number) => {
      const junk = (fill: string) => ({
        certificate: `-----BEGIN CERTIFICATE-----\n${fill}\n-----END CERTIFICATE-----`,
        certificate_signing_request: "junk",
      });
      const bare = JSON.stringify([junk(""), ours]).length;
      return JSON.stringify([junk("A".repeat(size - bare)), ours]);
    };

    tools.setRemoteApp(RELATION, "self-signed-certificates", { certificates: bagOfSize(cap + 1) });
    await hook("certificates-relation-changed");
    expect(tools.logs.map((log) => `${log.level} ${log.message}`)).toContain(
      `WARNING self-signed-certificates (${RELATION}): certificates: ${cap + 1} bytes, more than ${cap}; ignored`,
    );
    expect(await readdir(sandbox.paths.haproxyLib)).not.toContain("certificates-relation.pem");

    tools.setRemoteApp(RELATION, "self-signed-certificates", { certificates: bagOfSize(cap) });
    // The unit's clock runs on, as in provide(): the certificate was issued after it was set.
    clock = Math.max(clock, Date.now());
    await hook("certificates-relation-changed");
    expect((await served()).subject).toContain(`CN=${HOST}`);
  });
});
