// TLS termination end to end: the packed charm, real haproxy, real openssl
// certificates, and curl verifying what haproxy presents.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { LocalModel } from "../model/model.js";
import { makeCertificate } from "../helpers/certificates.js";
import { type PackedCharm, packCharm } from "./packedCharm.js";

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

function file(name: string, content: string): string {
  const target = path.join(scratch, name);
  writeFileSync(target, content);
  return target;
}

beforeAll(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), "e2e-ssl-"));
  charm = packCharm();
  model = await LocalModel.create({ name: "ssl" });
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
  charm?.cleanup();
  rmSync(scratch, { recursive: true, force: true });
});

describe("SSL termination", () => {
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
});
