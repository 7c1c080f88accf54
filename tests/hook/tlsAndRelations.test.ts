// TLS termination and the data haproxy publishes on its relations, against
// a real haproxy, real openssl certificates and real TLS clients.
import { X509Certificate } from "node:crypto";
import { stat } from "node:fs/promises";
import path from "node:path";
import { connect } from "node:tls";

import yaml from "js-yaml";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

import type { Paths } from "../../src/paths.js";
import { makeCertificate } from "../helpers/certificates.js";
import { type Backend, httpGet, startBackend } from "../helpers/httpBackends.js";
import { findFreePort } from "../helpers/haproxyProcess.js";
import { MemoryHookTools } from "../helpers/memoryHookTools.js";
import { type UnitSandbox, createUnitSandbox } from "../helpers/unitSandbox.js";

let sandbox: UnitSandbox;
let paths: Paths;
let tools: MemoryHookTools;
let port: number;
let backend: Backend;
const certificate = makeCertificate("shop.example", "DNS:shop.example,IP:127.0.0.1");

const hook = (name: string, env: Record<string, string> = {}) => sandbox.hook(name, env);

const tlsService = (crts = "[DEFAULT]") =>
  `- {service_name: shop, service_host: 127.0.0.1, service_port: ${port}, crts: ${crts}, service_options: [mode http]}`;

/** The certificate haproxy presents, fetched by a real TLS client trusting `ca`. */
function servedCertificate(
  ca?: string,
): Promise<{ fingerprint256: string; subject: string; subjectaltname?: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      {
        host: "127.0.0.1",
        port,
        servername: "shop.example",
        ca,
        rejectUnauthorized: ca !== undefined,
      },
      () => {
        const peer = socket.getPeerCertificate();
        socket.end();
        resolve({
          fingerprint256: peer.fingerprint256,
          subject: `CN=${peer.subject.CN}`,
          subjectaltname: peer.subjectaltname,
        });
      },
    );
    socket.on("error", reject);
  });
}

function httpsGet(ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, servername: "shop.example", ca }, () => {
      socket.write("GET / HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\n\r\n");
    });
    let response = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => (response += chunk));
    socket.on("end", () => resolve(response));
    socket.on("error", reject);
  });
}

beforeAll(async () => {
  backend = await startBackend("shop/0");
});
afterAll(() => backend.close());

beforeEach(async () => {
  port = await findFreePort();
  tools = new MemoryHookTools();
  tools.addUnit("reverseproxy:1", "shop/0", {
    "private-address": "127.0.0.1",
    port: String(backend.port),
  });
  sandbox = await createUnitSandbox(tools, { probePorts: [port] });
  paths = sandbox.paths;
});
afterEach(() => sandbox.cleanup());

describe("SSL termination", () => {
  it("serves HTTPS with the configured certificate and refuses plain HTTP on that port", async () => {
    tools.config = {
      services: tlsService(),
      ssl_cert: certificate.base64Certificate,
      ssl_key: certificate.base64Key,
    };
    await hook("config-changed");
    expect(tools.status).toEqual({ status: "active", message: "Unit is ready" });

    const served = await servedCertificate(certificate.certificate);
    expect(served.fingerprint256).toBe(new X509Certificate(certificate.certificate).fingerprint256);
    const response = await httpsGet(certificate.certificate);
    expect(response).toMatch(/^HTTP\/1\.1 200 /);
    expect(response).toContain("\r\nshop/0\r\n");
    await expect(httpGet(port)).rejects.toThrow();

    const keyFile = await stat(path.join(paths.haproxyLib, "default.pem"));
    expect(keyFile.mode & 0o777).toBe(0o600);
  });

  it("serves an inline certificate from the relation's crts", async () => {
    tools.config = { services: "" };
    tools.addUnit("reverseproxy:1", "shop/0", {
      "private-address": "127.0.0.1",
      services: `- {service_name: shop, service_host: 127.0.0.1, service_port: ${port}, crts: [${Buffer.from(certificate.pem).toString("base64")}], servers: [[s0, 127.0.0.1, ${backend.port}, ""]]}`,
    });
    await hook("config-changed");
    expect(await httpsGet(certificate.certificate)).toContain("shop/0");
    expect((await stat(path.join(paths.haproxyLib, "service_shop", "0.pem"))).mode & 0o777).toBe(
      0o600,
    );
  });

  it("generates a self-signed certificate for the unit's addresses once, and again when they change", async () => {
    tools.config = { services: tlsService(), ssl_cert: "SELFSIGNED" };
    await hook("config-changed");
    const first = await servedCertificate();
    expect(first.subject).toBe("CN=203.0.113.10");
    expect(first.subjectaltname).toBe("IP Address:203.0.113.10, IP Address:127.0.0.1");

    const published = tools.local.get("reverseproxy:1")?.ssl_cert ?? "";
    expect(new X509Certificate(Buffer.from(published, "base64")).fingerprint256).toBe(
      first.fingerprint256,
    );
    expect(Buffer.from(published, "base64").toString()).not.toContain("PRIVATE KEY");

    await hook("config-changed");
    expect((await servedCertificate()).fingerprint256).toBe(first.fingerprint256);

    tools.publicAddress = "198.51.100.7";
    await hook("config-changed");
    const renewed = await servedCertificate();
    expect(renewed.subject).toBe("CN=198.51.100.7");
    expect(renewed.fingerprint256).not.toBe(first.fingerprint256);
  });

  it("blocks on a key that does not match the certificate and keeps serving the previous one", async () => {
    tools.config = {
      services: tlsService(),
      ssl_cert: certificate.base64Certificate,
      ssl_key: certificate.base64Key,
    };
    await hook("config-changed");
    const other = makeCertificate("other.example");
    tools.config = { ...tools.config, ssl_key: other.base64Key };
    await hook("config-changed");
    expect(tools.status).toEqual({
      status: "blocked",
      message: "config option ssl_key: does not match the certificate in ssl_cert",
    });
    expect(await httpsGet(certificate.certificate)).toContain("shop/0");
  });
});

describe("relation data haproxy publishes", () => {
  beforeEach(() => {
    tools.config = {
      services: `- {service_name: web, service_host: 127.0.0.1, service_port: ${port}}`,
    };
    tools.addUnit("website:3", "apache2/0", { "private-address": "10.9.0.1", service_name: "web" });
    tools.addUnit("peer:0", "haproxy/1", { "private-address": "10.9.0.2" });
  });

  it("tells website units the service's host, port and all services, refreshed when a backend joins", async () => {
    await hook("config-changed");
    const website = tools.local.get("website:3");
    expect(website).toMatchObject({ hostname: "127.0.0.1", port: String(port) });
    const services = yaml.load(website?.all_services ?? "") as {
      service_name: string;
      servers: unknown[][];
    }[];
    expect(services.map((s) => [s.service_name, s.servers.length])).toEqual([["web", 1]]);

    tools.addUnit("reverseproxy:1", "shop/1", { "private-address": "127.0.0.1", port: "8080" });
    await hook("reverseproxy-relation-changed", {
      JUJU_RELATION_ID: "reverseproxy:1",
      JUJU_REMOTE_UNIT: "shop/1",
    });
    const refreshed = yaml.load(tools.local.get("website:3")?.all_services ?? "") as {
      servers: unknown[][];
    }[];
    expect(refreshed[0]?.servers).toEqual([
      ["shop-0-" + backend.port, "127.0.0.1", String(backend.port), ""],
      ["shop-1-8080", "127.0.0.1", "8080", ""],
    ]);
  });

  it("tells peers its own services, before any peering indirection", async () => {
    await hook("config-changed");
    expect(yaml.load(tools.local.get("peer:0")?.all_services ?? "")).toEqual([
      expect.objectContaining({
        service_name: "web",
        service_host: "127.0.0.1",
        service_port: port,
      }),
    ]);
  });
});
