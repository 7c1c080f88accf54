// A haproxy-route hostname's certificate that is renewed, or arrives for a
// hostname already routed, goes into the running haproxy without a reload:
// the planner's configuration and files, applied by applyPlan to a real
// haproxy of each version (ports 80 and 443 moved to free loopback ports).
// A TLS client sending the name by SNI sees the new certificate from the
// same worker, one gone is forgotten, the files say the same (a restart
// serves it), and what the runtime API cannot take is reloaded, with the
// reason in the result.
import { X509Certificate } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:tls";

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { type ApplyEnvironment, applyPlan } from "../../src/apply/applyPlan.js";
import type { HookInputs } from "../../src/juju/hookInputs.js";
import { askAdminSocket } from "../../src/metrics/statsSocket.js";
import { hostnameCrtListPath } from "../../src/model/hostnameCrtList.js";
import { adminSocketPath } from "../../src/model/runtimeFiles.js";
import type { Paths } from "../../src/paths.js";
import { hostnameCertificatePath } from "../../src/plan/defaultCertificate.js";
import { renderHaproxyConfig } from "../../src/render/renderHaproxyConfig.js";
import { type HaproxyProcess, findFreePort, haproxyIn } from "../helpers/haproxyProcess.js";
import { haproxyVersions } from "../helpers/haproxyVersions.js";
import { planFromInputs } from "../helpers/planFromInputs.js";
import { onTestPorts } from "../helpers/planOnHaproxy.js";
import { TestCa, makeCsrWithKey } from "../helpers/testCa.js";
import { temporaryPaths } from "../helpers/temporaryPaths.js";

const SHOP = "shop.example.com";
// Sorts after SHOP: its line is added at the end of the crt-list.
const TEA = "tea.example.com";
// Sorts before SHOP: its line would become the bind's default certificate.
const ART = "art.example.com";

interface Issued {
  /** Leaf, chain and key, as the certificates relation hands them over. */
  readonly pem: string;
  readonly leaf: X509Certificate;
}

let ca: TestCa;
let upstream: Server;
let upstreamPort: number;

function issue(hostname: string): Issued {
  const { csr, key } = makeCsrWithKey(hostname);
  const certificate = ca.sign(csr);
  return { pem: certificate + ca.certificate + key, leaf: new X509Certificate(certificate) };
}

beforeAll(async () => {
  ca = TestCa.create();
  upstream = createServer((_req, res) => res.end("app"));
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  upstreamPort = (upstream.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => upstream.close(resolve));
  ca.cleanup();
});

describe.each(haproxyVersions)("hostname certificates on haproxy $version", ({ binary }) => {
  let root: string;
  let paths: Paths;
  let haproxy: HaproxyProcess;
  let httpPort: number;
  let httpsPort: number;

  beforeEach(async () => {
    ({ root, paths } = await temporaryPaths("runtime-certificate-updates-"));
    httpPort = await findFreePort();
    do httpsPort = await findFreePort();
    while (httpsPort === httpPort);
    haproxy = haproxyIn(paths, { probePorts: [httpPort], haproxyBinary: binary });
  });

  afterEach(async () => {
    await haproxy.stop();
    await rm(root, { recursive: true, force: true });
  });

  const environment = (): ApplyEnvironment => ({
    paths,
    haproxyBinary: binary,
    service: haproxy,
    fileOwner: "haproxy",
  });

  /** One haproxy-route application per hostname, each with its certificate when given. */
  function inputs(hostnames: readonly string[], pems: Record<string, string>): HookInputs {
    const apps = hostnames.map((hostname, i) => ({
      relationId: `haproxy-route:${i + 1}`,
      app: hostname.split(".")[0] as string,
      hostname,
    }));
    return {
      unitName: "haproxy/0",
      privateAddress: "10.1.1.1",
      publicAddress: "10.1.1.1",
      // A loopback upstream: certificates, not the relation data policy, are what this is about.
      config: { services: "", trust_relation_data: true },
      reverseproxy: [],
      peers: [],
      haproxyRouteApps: apps.map(({ relationId, app, hostname }) => ({
        relationId,
        app,
        settings: {
          service: JSON.stringify(app),
          ports: JSON.stringify([upstreamPort]),
          hostname: JSON.stringify(hostname),
        },
      })),
      haproxyRouteUnits: apps.map(({ relationId, app }) => ({
        relationId,
        unit: `${app}/0`,
        settings: { address: JSON.stringify("127.0.0.1") },
      })),
      hostnameCertificates: pems,
      awaitingHostnames: hostnames.filter((hostname) => pems[hostname] === undefined),
    };
  }

  /** What the charm plans for these hostnames and certificates, applied. */
  const apply = (hostnames: readonly string[], pems: Record<string, string>) =>
    applyInputs(inputs(hostnames, pems));

  /** What the charm plans for these inputs, applied; 80 and 443 on the test's ports. */
  async function applyInputs(hookInputs: HookInputs) {
    const live = await readFile(paths.haproxyConfig, "utf8").catch(() => undefined);
    const plan = planFromInputs(hookInputs, paths, live);
    const haproxyCfg = onTestPorts(
      renderHaproxyConfig(plan.config),
      new Map([
        [80, httpPort],
        [443, httpsPort],
      ]),
    );
    return {
      haproxyCfg,
      result: await applyPlan({ haproxyCfg, files: plan.files }, environment()),
    };
  }

  /**
   * The leaf haproxy presents to a client asking for `servername`, verified
   * against the CA and, unless `anyName`, against the name.
   */
  function presented(servername: string, anyName = false): Promise<X509Certificate> {
    return new Promise((resolve, reject) => {
      const socket = connect(
        {
          host: "127.0.0.1",
          port: httpsPort,
          servername,
          ca: ca.certificate,
          ...(anyName && { checkServerIdentity: () => undefined }),
        },
        () => {
          const certificate = socket.getPeerX509Certificate();
          socket.end();
          if (certificate === undefined) reject(new Error("no certificate"));
          else resolve(certificate);
        },
      );
      socket.on("error", reject);
    });
  }

  const workerPid = async () =>
    /^Pid: (\d+)$/m.exec(await askAdminSocket(adminSocketPath(paths.haproxyRun), "show info"))?.[1];
  const fileOf = (hostname: string) =>
    readFile(hostnameCertificatePath(paths.haproxyLib, hostname), "utf8");

  it("takes a renewal and a new hostname's certificate without a reload; a restart serves the same", async () => {
    const shop1 = issue(SHOP);
    const first = await apply([SHOP, TEA], { [SHOP]: shop1.pem });
    expect(first.result.action).toBe("started");
    // One crt-list for the hostnames on the 443 bind.
    expect(first.haproxyCfg).toContain(
      `127.0.0.1:${httpsPort} ssl crt-list ${hostnameCrtListPath(paths.haproxyLib)}\n`,
    );
    expect((await presented(SHOP)).fingerprint256).toBe(shop1.leaf.fingerprint256);
    await expect(presented(TEA)).rejects.toThrow(/does not match/);
    const pid = await workerPid();
    expect(pid).toBeDefined();

    // (a) The certificates relation renews SHOP's certificate.
    const shop2 = issue(SHOP);
    const renewed = await apply([SHOP, TEA], { [SHOP]: shop2.pem });
    expect(renewed.haproxyCfg).toBe(first.haproxyCfg);
    expect(renewed.result).toMatchObject({
      configChanged: false,
      action: "updated",
      runtimeChange: "certificates",
    });
    expect(renewed.result.runtimeFallback).toBeUndefined();
    expect((await presented(SHOP)).fingerprint256).toBe(shop2.leaf.fingerprint256);
    expect(await workerPid()).toBe(pid);
    expect(haproxy.reloads).toBe(0);
    expect(await fileOf(SHOP)).toBe(shop2.pem);

    // (b) TEA, routed already, gets its first certificate: a line of the crt-list.
    const tea = issue(TEA);
    const added = await apply([SHOP, TEA], { [SHOP]: shop2.pem, [TEA]: tea.pem });
    expect(added.haproxyCfg).toBe(first.haproxyCfg);
    expect(added.result).toMatchObject({ action: "updated", runtimeChange: "certificates" });
    expect((await presented(TEA)).fingerprint256).toBe(tea.leaf.fingerprint256);
    expect((await presented(SHOP)).fingerprint256).toBe(shop2.leaf.fingerprint256);
    expect(await workerPid()).toBe(pid);
    expect(haproxy.reloads).toBe(0);
    expect(await fileOf(TEA)).toBe(tea.pem);
    expect(await readFile(hostnameCrtListPath(paths.haproxyLib), "utf8")).toBe(
      [SHOP, TEA].map((name) => `${hostnameCertificatePath(paths.haproxyLib, name)}\n`).join(""),
    );
    // Nothing left to do: the next hook neither reloads nor updates.
    expect((await apply([SHOP, TEA], { [SHOP]: shop2.pem, [TEA]: tea.pem })).result.action).toBe(
      "none",
    );

    // (c) A restart reads the files: the same certificates.
    await haproxy.stop();
    await haproxy.start();
    expect((await presented(SHOP)).fingerprint256).toBe(shop2.leaf.fingerprint256);
    expect((await presented(TEA)).fingerprint256).toBe(tea.leaf.fingerprint256);
  });

  it("takes external_hostname's renewed certificate, which the bind loads with crt, without a reload", async () => {
    const EXTERNAL = "ext.example.com";
    /** An ingress application served at external_hostname, with the certificates relation's certificate. */
    const withCertificate = (pem: string): HookInputs => ({
      unitName: "haproxy/0",
      privateAddress: "10.1.1.1",
      publicAddress: "10.1.1.1",
      config: { services: "", trust_relation_data: true, external_hostname: EXTERNAL },
      reverseproxy: [],
      peers: [],
      ingressApps: [
        {
          relationId: "ingress:1",
          app: "shop",
          settings: { model: '"m"', name: '"shop"', port: String(upstreamPort) },
        },
      ],
      ingressUnits: [
        { relationId: "ingress:1", unit: "shop/0", settings: { host: '"127.0.0.1"' } },
      ],
      relationCertificatePem: pem,
    });
    const first = issue(EXTERNAL);
    const started = await applyInputs(withCertificate(first.pem));
    expect(started.result.action).toBe("started");
    expect(started.haproxyCfg).toMatch(/ssl crt \S+/);
    expect((await presented(EXTERNAL)).fingerprint256).toBe(first.leaf.fingerprint256);
    const pid = await workerPid();

    const renewed = issue(EXTERNAL);
    const { haproxyCfg, result } = await applyInputs(withCertificate(renewed.pem));
    expect(haproxyCfg).toBe(started.haproxyCfg);
    expect(result).toMatchObject({ action: "updated", runtimeChange: "certificates" });
    expect(result.runtimeFallback).toBeUndefined();
    expect((await presented(EXTERNAL)).fingerprint256).toBe(renewed.leaf.fingerprint256);
    expect(await workerPid()).toBe(pid);
    expect(haproxy.reloads).toBe(0);

    // A restart reads the file: the same certificate.
    await haproxy.stop();
    await haproxy.start();
    expect((await presented(EXTERNAL)).fingerprint256).toBe(renewed.leaf.fingerprint256);
  });

  it("forgets a certificate gone from the crt-list without a reload", async () => {
    const shop = issue(SHOP);
    const tea = issue(TEA);
    await apply([SHOP, TEA], { [SHOP]: shop.pem, [TEA]: tea.pem });
    expect((await presented(TEA)).fingerprint256).toBe(tea.leaf.fingerprint256);
    const pid = await workerPid();

    const { result } = await apply([SHOP, TEA], { [SHOP]: shop.pem });
    expect(result).toMatchObject({ action: "updated", runtimeChange: "certificates" });
    expect(result.runtimeFallback).toBeUndefined();
    // TEA's clients now get the default certificate, SHOP's: not one for their name.
    await expect(presented(TEA)).rejects.toThrow(/does not match/);
    expect((await presented(TEA, true)).fingerprint256).toBe(shop.leaf.fingerprint256);
    expect(await workerPid()).toBe(pid);
    expect(haproxy.reloads).toBe(0);
    expect(await readFile(hostnameCrtListPath(paths.haproxyLib), "utf8")).not.toContain(TEA);
    const loaded = await askAdminSocket(adminSocketPath(paths.haproxyRun), "show ssl cert");
    expect(loaded).toContain(SHOP);
    expect(loaded).not.toContain(TEA);

    await haproxy.stop();
    await haproxy.start();
    await expect(presented(TEA)).rejects.toThrow(/does not match/);
    expect((await presented(SHOP)).fingerprint256).toBe(shop.leaf.fingerprint256);
  });

  it("reloads, and says why, when haproxy cannot take the certificate at run time", async () => {
    await apply([SHOP], { [SHOP]: issue(SHOP).pem });
    const pid = await workerPid();

    // Key before certificate: haproxy loads it from the file, but the admin
    // socket takes only a PEM that starts with its certificate.
    const renewed = issue(SHOP);
    const keyFirst = /-----BEGIN PRIVATE KEY-----[\s\S]+$/.exec(renewed.pem)?.[0] ?? "";
    const reordered = keyFirst + renewed.pem.slice(0, renewed.pem.length - keyFirst.length);
    const { result } = await apply([SHOP], { [SHOP]: reordered });
    expect(result).toMatchObject({
      configChanged: false,
      action: "reloaded",
      runtimeChange: "certificates",
    });
    expect(result.runtimeFallback).toMatch(/does not start with a certificate/);
    expect(haproxy.reloads).toBe(1);
    expect(await workerPid()).not.toBe(pid);
    expect((await presented(SHOP)).fingerprint256).toBe(renewed.leaf.fingerprint256);
    expect(await fileOf(SHOP)).toBe(reordered);
  });

  it("reloads when the default certificate changes: one listed first arrives, or goes", async () => {
    const shop = issue(SHOP);
    await apply([ART, SHOP], { [SHOP]: shop.pem });

    const art = issue(ART);
    const first = await apply([ART, SHOP], { [ART]: art.pem, [SHOP]: shop.pem });
    expect(first.result).toMatchObject({ action: "reloaded", runtimeChange: "certificates" });
    expect(first.result.runtimeFallback).toMatch(/the default certificate would change/);
    expect((await presented(ART)).fingerprint256).toBe(art.leaf.fingerprint256);
    // A client with a name no certificate has gets the crt-list's first, as after a restart.
    expect((await presented("unknown.example.com", true)).fingerprint256).toBe(
      art.leaf.fingerprint256,
    );
    expect((await presented(SHOP)).fingerprint256).toBe(shop.leaf.fingerprint256);

    const removed = await apply([ART, SHOP], { [SHOP]: shop.pem });
    expect(removed.result).toMatchObject({ action: "reloaded", runtimeChange: "certificates" });
    expect(removed.result.runtimeFallback).toMatch(/the default certificate would change/);
    expect(haproxy.reloads).toBe(2);
    await expect(presented(ART)).rejects.toThrow(/does not match/);
    expect((await presented(ART, true)).fingerprint256).toBe(shop.leaf.fingerprint256);
  });
});
