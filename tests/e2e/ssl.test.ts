// TLS termination end to end: the packed charm, real haproxy, real openssl
// certificates, and curl verifying what haproxy presents; once with each
// haproxy version the tests have (haproxyVersions.ts).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { LocalModel } from "../localJuju/model.js";
import { makeCertificate } from "../helpers/certificates.js";
import { haproxyVersions } from "../helpers/haproxyVersions.js";
import { type PackedCharm, packCharm } from "./packedCharm.js";
import { unitHaproxy } from "./unitHaproxy.js";

let charm: PackedCharm;
let model: LocalModel;
let relationId: number;
let scratch: string;

const haproxyAddress = () => model.requireUnit("haproxy/0").machine.address;

/** sha256//<base64> of a certificate's public key, for curl --pinnedpubkey. */
function publicKeyPin(certificate: string): string {
  const der = execFileSync(
    "sh",
    ["-c", "openssl x509 -pubkey -noout | openssl pkey -pubin -outform der"],
    {
      input: certificate,
    },
  );
  const digest = execFileSync("openssl", ["dgst", "-sha256", "-binary"], { input: der });
  return `sha256//${digest.toString("base64")}`;
}

// haproxy 2.8 made `alpn h2,http/1.1` the default of a TLS bind in HTTP mode (the
// charm sets no alpn): 3.0 gives a client that offers HTTP/2 HTTP/2, while 2.6
// selects no protocol and the client stays on HTTP/1.1.
const alpnAnswer: Readonly<Record<string, string>> = { "2.6": "1.1", "3.0": "2" };

function file(name: string, content: string): string {
  const target = path.join(scratch, name);
  writeFileSync(target, content);
  return target;
}

beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), "e2e-ssl-"));
  charm = packCharm();
});

afterAll(() => {
  charm?.cleanup();
  rmSync(scratch, { recursive: true, force: true });
});

for (const { version, binary } of haproxyVersions) {
  describe(`SSL termination with haproxy ${version}`, () => sslTermination(version, binary));
}

function sslTermination(version: string, binary: string): void {
  beforeAll(async () => {
    model = await LocalModel.create({ name: "ssl", haproxyBinary: binary });
    await model.deploy(charm.file);
    await model.deployScripted("shop", {
      units: 1,
      endpoints: { website: { interface: "http", role: "provides" } },
      httpPort: 8080,
    });
    relationId = await model.integrate("shop:website", "haproxy:reverseproxy");
    const shopAddress = model.requireUnit("shop/0").machine.address;
    await model.setRelationData("shop/0", relationId, {
      services: `- {service_name: shop, service_port: 443, crts: [DEFAULT], service_options: [mode http], servers: [[shop-0, ${shopAddress}, 8080, check]]}`,
    });
  }, 120_000);

  afterAll(() => {
    model?.destroy();
  });

  it(`runs haproxy ${version} for the service and the charm's checks`, async () => {
    expect(await unitHaproxy(model, "haproxy/0")).toEqual({ onPath: version, running: version });
  });

  it("serves HTTPS with the configured certificate", async () => {
    const certificate = makeCertificate("shop.example");
    await model.config("haproxy", {
      ssl_cert: certificate.base64Certificate,
      ssl_key: certificate.base64Key,
    });
    const response = await model.http("https://shop.example/", {
      curlArgs: [
        "--resolve",
        `shop.example:443:${haproxyAddress()}`,
        "--cacert",
        file("configured.pem", certificate.certificate),
        "--pinnedpubkey",
        publicKeyPin(certificate.certificate),
      ],
    });
    expect(response.status).toBe(200);
    expect(response.body.trim()).toBe("shop/0");
  });

  it(`answers a client offering h2 and http/1.1 by ALPN with HTTP/${alpnAnswer[version]}`, async () => {
    const response = await model.http("https://shop.example/", {
      curlArgs: [
        "--http2",
        "--write-out",
        "\n%{http_version}",
        "--resolve",
        `shop.example:443:${haproxyAddress()}`,
        "--cacert",
        path.join(scratch, "configured.pem"),
      ],
    });
    // --write-out appends the protocol curl used after the body.
    const protocol = response.body.slice(response.body.lastIndexOf("\n") + 1);
    expect(response.status).toBe(200);
    expect(response.body.trim()).toMatch(/^shop\/0\n/);
    expect(protocol).toBe(alpnAnswer[version]);
  });

  it("refuses plain HTTP on the TLS port", async () => {
    await expect(model.http(`http://${haproxyAddress()}:443/`)).rejects.toThrow(/curl .* failed/);
  });

  it("generates a certificate for the unit's addresses with SELFSIGNED and tells the related units", async () => {
    await model.config("haproxy", { ssl_cert: "SELFSIGNED", ssl_key: "" });
    const published =
      model.relation(relationId)?.unitSettings.get("haproxy/0")?.get("ssl_cert") ?? "";
    const certificate = Buffer.from(published, "base64").toString();
    expect(certificate).toContain("BEGIN CERTIFICATE");
    expect(certificate).not.toContain("PRIVATE KEY");
    const response = await model.http(`https://${haproxyAddress()}/`, {
      curlArgs: [
        "--cacert",
        file("selfsigned.pem", certificate),
        "--pinnedpubkey",
        publicKeyPin(certificate),
      ],
    });
    expect(response.status).toBe(200);
  });
}
