// Certificates into the running haproxy, without a reload, against a real
// haproxy of each version: a TLS client sees the old certificate, then the
// new one from the same worker; a new hostname added to a crt-list is served
// by SNI, and one removed is forgotten; a restart serves what the files say. A PEM that could carry a
// second command to the admin socket is refused before anything is sent.
import { X509Certificate } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { connect } from "node:tls";

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

import {
  addCertificate,
  pemPayloadProblem,
  removeCertificate,
  replaceCertificate,
} from "../../src/apply/runtimeCertificates.js";
import { askAdminSocket } from "../../src/metrics/statsSocket.js";
import { type HaproxyProcess, findFreePort, haproxyIn } from "../helpers/haproxyProcess.js";
import { haproxyVersions } from "../helpers/haproxyVersions.js";
import { TestCa, makeCsrWithKey } from "../helpers/testCa.js";
import { temporaryPaths } from "../helpers/temporaryPaths.js";

const SHOP = "shop.example.com";
const ROUTE = "default.example.com";
const NEW = "new.example.com";

let ca: TestCa;

/** Leaf, chain and key for `hostname`, signed by the test CA, as haproxy reads them. */
function issue(hostname: string): { pem: string; leaf: X509Certificate } {
  const { csr, key } = makeCsrWithKey(hostname);
  const certificate = ca.sign(csr);
  return { pem: certificate + ca.certificate + key, leaf: new X509Certificate(certificate) };
}

/** The certificate haproxy presents on `port` for `servername`, verified against the CA. */
function presented(port: number, servername: string): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, servername, ca: ca.certificate }, () => {
      const certificate = socket.getPeerX509Certificate();
      socket.end();
      if (certificate === undefined) reject(new Error("no certificate"));
      else resolve(certificate);
    });
    socket.on("error", reject);
  });
}

beforeAll(() => {
  ca = TestCa.create();
});
afterAll(() => ca.cleanup());

describe.each(haproxyVersions)("haproxy $version", ({ binary }) => {
  let root: string;
  let haproxy: HaproxyProcess;
  let socket: string;
  let certs: string;
  let shopFile: string;
  let crtList: string;
  let shopPort: number;
  let routesPort: number;
  let shopA: ReturnType<typeof issue>;

  const workerPid = async () =>
    /^Pid: (\d+)$/m.exec(await askAdminSocket(socket, "show info"))?.[1];

  beforeEach(async () => {
    const made = await temporaryPaths("runtime-certificates-");
    root = made.root;
    const { paths } = made;
    certs = join(paths.haproxyLib, "certs");
    await mkdir(certs);
    socket = join(paths.haproxyRun, "admin.sock");
    shopFile = join(certs, `${SHOP}.pem`);
    crtList = join(paths.haproxyLib, "routes.crt-list");
    shopA = issue(SHOP);
    await writeFile(shopFile, shopA.pem, { mode: 0o600 });
    const routeFile = join(certs, `${ROUTE}.pem`);
    await writeFile(routeFile, issue(ROUTE).pem, { mode: 0o600 });
    await writeFile(crtList, `${routeFile}\n`);
    [shopPort, routesPort] = [await findFreePort(), await findFreePort()];
    await mkdir(join(root, "etc"));
    await writeFile(
      paths.haproxyConfig,
      [
        "global",
        `  stats socket ${socket} mode 600 level admin`,
        "defaults",
        "  mode http",
        "  timeout client 5s",
        "  timeout server 5s",
        "  timeout connect 5s",
        "frontend shop",
        `  bind 127.0.0.1:${shopPort} ssl crt ${shopFile}`,
        "  http-request return status 200",
        "frontend routes",
        `  bind 127.0.0.1:${routesPort} ssl crt-list ${crtList}`,
        "  http-request return status 200",
        "",
      ].join("\n"),
    );
    haproxy = haproxyIn(paths, { haproxyBinary: binary, probePorts: [shopPort, routesPort] });
    await haproxy.start();
  });
  afterEach(async () => {
    await haproxy.stop();
    await rm(root, { recursive: true, force: true });
  });

  it("replaces a loaded certificate in the running worker, and the file with it", async () => {
    expect((await presented(shopPort, SHOP)).fingerprint256).toBe(shopA.leaf.fingerprint256);
    const pid = await workerPid();
    expect(pid).toBeDefined();

    const shopB = issue(SHOP);
    expect(await replaceCertificate(socket, shopFile, shopB.pem)).toEqual({ applied: true });
    expect((await presented(shopPort, SHOP)).fingerprint256).toBe(shopB.leaf.fingerprint256);
    expect(await workerPid()).toBe(pid);
    expect(haproxy.reloads).toBe(0);
    expect(await readFile(shopFile, "utf8")).toBe(shopB.pem);

    // A restart reads the file: the same certificate.
    await haproxy.stop();
    await haproxy.start();
    expect((await presented(shopPort, SHOP)).fingerprint256).toBe(shopB.leaf.fingerprint256);
  });

  it("adds a certificate for a new hostname to a crt-list, served by SNI", async () => {
    // Before: the crt-list's one certificate, for another name, answers.
    expect((await presented(routesPort, ROUTE)).subject).toContain(`CN=${ROUTE}`);
    await expect(presented(routesPort, NEW)).rejects.toThrow(/Hostname\/IP does not match/);
    const pid = await workerPid();

    const fresh = issue(NEW);
    const newFile = join(certs, `${NEW}.pem`);
    expect(await addCertificate(socket, crtList, newFile, fresh.pem)).toEqual({ applied: true });
    expect((await presented(routesPort, NEW)).fingerprint256).toBe(fresh.leaf.fingerprint256);
    expect((await presented(routesPort, ROUTE)).subject).toContain(`CN=${ROUTE}`);
    expect(await workerPid()).toBe(pid);
    expect(haproxy.reloads).toBe(0);
    expect(await readFile(newFile, "utf8")).toBe(fresh.pem);
    expect((await readFile(crtList, "utf8")).split("\n")).toContain(newFile);

    // Added again (a renewal before any reload): replaced, and listed once.
    const renewed = issue(NEW);
    expect(await addCertificate(socket, crtList, newFile, renewed.pem)).toEqual({
      applied: true,
    });
    expect((await presented(routesPort, NEW)).fingerprint256).toBe(renewed.leaf.fingerprint256);
    const listed = await askAdminSocket(socket, `show ssl crt-list ${crtList}`);
    expect(listed.split("\n").filter((line) => line.startsWith(newFile))).toHaveLength(1);
    expect((await readFile(crtList, "utf8")).split("\n").filter((l) => l === newFile)).toHaveLength(
      1,
    );

    await haproxy.stop();
    await haproxy.start();
    expect((await presented(routesPort, NEW)).fingerprint256).toBe(renewed.leaf.fingerprint256);
  });

  it("removes a certificate from a crt-list and from memory, but never the default one", async () => {
    const fresh = issue(NEW);
    const newFile = join(certs, `${NEW}.pem`);
    expect(await addCertificate(socket, crtList, newFile, fresh.pem)).toEqual({ applied: true });
    const pid = await workerPid();

    expect(await removeCertificate(socket, crtList, newFile)).toEqual({ applied: true });
    await expect(presented(routesPort, NEW)).rejects.toThrow(/Hostname\/IP does not match/);
    expect(await askAdminSocket(socket, "show ssl cert")).not.toContain(newFile);
    expect(await readFile(crtList, "utf8")).not.toContain(newFile);
    // Removed already: nothing left to do, and that is no failure.
    expect(await removeCertificate(socket, crtList, newFile)).toEqual({ applied: true });
    expect(await workerPid()).toBe(pid);
    expect(haproxy.reloads).toBe(0);

    // The crt-list's first certificate is the bind's default: haproxy keeps it, the caller reloads.
    const routeFile = join(certs, `${ROUTE}.pem`);
    expect(await removeCertificate(socket, crtList, routeFile)).toMatchObject({
      applied: false,
      problem: expect.stringMatching(/default certificate/),
    });
    expect((await presented(routesPort, ROUTE)).subject).toContain(`CN=${ROUTE}`);
    expect(await readFile(crtList, "utf8")).toBe(`${routeFile}\n`);

    await haproxy.stop();
    await haproxy.start();
    await expect(presented(routesPort, NEW)).rejects.toThrow(/Hostname\/IP does not match/);
  });

  it("a wildcard certificate added to a crt-list serves every name under it", async () => {
    const wildcard = issue("*.apps.example.com");
    const file = join(certs, "_wildcard_.apps.example.com.pem");
    expect(await addCertificate(socket, crtList, file, wildcard.pem)).toEqual({ applied: true });
    for (const name of ["a.apps.example.com", "b.apps.example.com"]) {
      expect((await presented(routesPort, name)).fingerprint256).toBe(wildcard.leaf.fingerprint256);
    }
  });

  it("reports a file haproxy has not loaded as not applied: the caller reloads", async () => {
    const result = await replaceCertificate(socket, join(certs, "unknown.pem"), issue(SHOP).pem);
    expect(result).toMatchObject({
      applied: false,
      problem: expect.stringMatching(/set ssl cert/),
    });
    expect((await presented(shopPort, SHOP)).fingerprint256).toBe(shopA.leaf.fingerprint256);
  });

  it("refuses a PEM that carries anything but PEM blocks, and sends nothing", async () => {
    const pid = await workerPid();
    const before = /^Maxconn: (\d+)$/m.exec(await askAdminSocket(socket, "show info"))?.[1];
    const shopB = issue(SHOP);
    const [first, ...rest] = shopB.pem.split("-----END CERTIFICATE-----\n");
    const hostile = [
      // A line after the PEM, and after an empty line that would end the payload.
      `${shopB.pem}show info\n`,
      `${shopB.pem}\nset maxconn global 7\n`,
      // An empty line inside, then a command, then the rest.
      `${first}-----END CERTIFICATE-----\n\nset maxconn global 7\n${rest.join("-----END CERTIFICATE-----\n")}`,
      // A command glued to a base64 line, a carriage return, a block that never ends.
      shopB.pem.replace(/\n([A-Za-z0-9+/]{10})/, "\n$1;set maxconn global 7"),
      shopB.pem.replaceAll("\n", "\r\n"),
      shopB.pem.slice(0, shopB.pem.lastIndexOf("-----END")),
    ];
    for (const pem of hostile) {
      const result = await replaceCertificate(socket, shopFile, pem);
      expect(result).toMatchObject({
        applied: false,
        problem: expect.stringMatching(/nothing sent to haproxy/),
      });
      const added = await addCertificate(socket, crtList, join(certs, `${NEW}.pem`), pem);
      expect(added).toMatchObject({ applied: false });
    }
    expect(await readFile(shopFile, "utf8")).toBe(shopA.pem);
    expect(await readFile(crtList, "utf8")).not.toContain(NEW);
    expect((await presented(shopPort, SHOP)).fingerprint256).toBe(shopA.leaf.fingerprint256);
    const info = await askAdminSocket(socket, "show info");
    expect(/^Maxconn: (\d+)$/m.exec(info)?.[1]).toBe(before);
    expect(await workerPid()).toBe(pid);
  });

  it("refuses file names the admin socket would read as more than a name", async () => {
    const { pem } = issue(SHOP);
    for (const file of [`${shopFile} ;show info`, `${certs}/a;b.pem`, "relative.pem", ""]) {
      expect(await replaceCertificate(socket, file, pem)).toMatchObject({ applied: false });
    }
    expect(await addCertificate(socket, `${crtList} x`, shopFile, pem)).toMatchObject({
      applied: false,
    });
    expect((await presented(shopPort, SHOP)).fingerprint256).toBe(shopA.leaf.fingerprint256);
  });
});

describe("a refused PEM", () => {
  it("never reaches the socket: nothing connects to it", async () => {
    const { root } = await temporaryPaths("runtime-certificates-refused-");
    const path = join(root, "admin.sock");
    let connections = 0;
    const listener = createServer((connection) => {
      connections += 1;
      connection.end();
    });
    await new Promise<void>((resolve) => listener.listen(path, resolve));
    try {
      const { pem } = issue(SHOP);
      const file = join(root, "shop.pem");
      for (const hostile of [`${pem}\nshow info\n`, `${pem}show info`, `x\n${pem}`]) {
        expect(pemPayloadProblem(hostile)).toBeDefined();
        expect(await replaceCertificate(path, file, hostile)).toMatchObject({ applied: false });
        expect(await addCertificate(path, join(root, "list"), file, hostile)).toMatchObject({
          applied: false,
        });
      }
      expect(pemPayloadProblem(pem)).toBeUndefined();
      expect(connections).toBe(0);
    } finally {
      await new Promise((resolve) => listener.close(resolve));
      await rm(root, { recursive: true, force: true });
    }
  });
});
