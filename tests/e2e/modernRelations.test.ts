// Today's relations end to end: the packed charm in the local model, a
// scripted tls-certificates provider signing with a real openssl CA, a
// scripted ingress requirer whose units run real web servers, and curl.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { tmpdir } from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { LocalModel } from "../localJuju/model.js";
import { type PackedCharm, packCharm } from "./packedCharm.js";
import { ScriptedCa } from "./scriptedCa.js";
import { eventually } from "../helpers/eventually.js";
import { clientLoop } from "./vipClient.js";
import { deployMyWebApp } from "./webApp.js";

const HOST = "shop.example.com";
let charm: PackedCharm;
let model: LocalModel;
let ca: ScriptedCa;
let scratch: string;
let caFile: string;
let ingressId: number;
let certificatesId: number;

const haproxyAddress = (n = 0) => model.requireUnit(`haproxy/${n}`).machine.address;
const publishedUrl = (): string | undefined => {
  const value = model.relation(ingressId)?.appSettings.get("haproxy")?.get("ingress");
  return value === undefined || value === ""
    ? undefined
    : (JSON.parse(value) as { url: string }).url;
};

/** curl's arguments that resolve HOST to a haproxy unit and trust the model's CA. */
const towards = (unit = 0, extra: readonly string[] = []) => [
  "--resolve",
  `${HOST}:443:${haproxyAddress(unit)}`,
  "--resolve",
  `${HOST}:80:${haproxyAddress(unit)}`,
  "--cacert",
  caFile,
  ...extra,
];

/** curl to `url` with HOST resolved to a haproxy unit, trusting the model's CA. */
function get(url: string, unit = 0, extra: readonly string[] = []) {
  return model.http(url, { curlArgs: towards(unit, extra) });
}

/** The certificate haproxy/0 presents for HOST (curl prints the chain after the body). */
async function servedCertificate(): Promise<X509Certificate> {
  const response = await get(`https://${HOST}/e2e-shop/`, 0, ["--write-out", "%{certs}"]);
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(response.body);
  if (pem === null) throw new Error(`no certificate from haproxy: ${response.body}`);
  return new X509Certificate(pem[0]);
}

beforeAll(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), "e2e-modern-"));
  charm = packCharm();
  model = await LocalModel.create({ name: "e2e" });
  await model.deploy(charm.file, { units: 2, config: { external_hostname: HOST, services: "" } });
  await model.deployScripted("shop", {
    units: 2,
    endpoints: { ingress: { interface: "ingress", role: "requires" } },
    unitSettings: (unit) => ({ host: JSON.stringify(unit.address) }),
    httpPort: 8080,
  });
  ingressId = await model.integrate("shop:ingress", "haproxy:ingress");
  await model.setRelationData("shop", ingressId, {
    model: JSON.stringify("e2e"),
    name: JSON.stringify("shop"),
    port: "8080",
  });
  ca = await ScriptedCa.deploy(model);
  caFile = path.join(scratch, "ca.pem");
  writeFileSync(caFile, ca.ca.certificate);
  certificatesId = await model.integrate("haproxy:certificates", `${ca.name}:certificates`);
}, 240_000);

afterAll(() => {
  model?.destroy();
  charm?.cleanup();
  ca?.cleanup();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe("ingress and certificates in the local model", () => {
  it("serves the requirer over plain HTTP and publishes its URL before any certificate", async () => {
    expect(publishedUrl()).toBe(`http://${HOST}/e2e-shop/`);
    for (const unit of [0, 1]) {
      const response = await get(`http://${HOST}/e2e-shop/`, unit);
      expect(response.status).toBe(200);
      expect(response.body.trim()).toMatch(/^shop\/[01]$/);
    }
    // Each haproxy unit asks for a certificate of its own.
    expect(ca.requests(certificatesId)).toHaveLength(2);
    expect(model.requireUnit("haproxy/0").workload.message).toMatch(/^Unit is ready/);
  });

  it("serves HTTPS for external_hostname with the CA's certificate and publishes the https URL, answered by every unit", async () => {
    await ca.answer(certificatesId);
    expect(publishedUrl()).toBe(`https://${HOST}/e2e-shop/`);
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const response = await get(publishedUrl() as string, i % 2);
      expect(response.status).toBe(200);
      seen.add(response.body.trim());
    }
    expect([...seen].sort()).toEqual(["shop/0", "shop/1"]);
    // Without the route's Host, nothing is routed.
    const other = await model.http(`http://${haproxyAddress()}/e2e-shop/`);
    expect(other.status).toBe(503);
  });

  it("strips the prefix when the requirer asks", async () => {
    const before = await get(`https://${HOST}/e2e-shop/a/b?c=1`);
    expect(before.headers["x-request-path"]).toBe("/e2e-shop/a/b?c=1");
    await model.setRelationData("shop", ingressId, { "strip-prefix": "true" });
    const after = await get(`https://${HOST}/e2e-shop/a/b?c=1`);
    expect(after.headers["x-request-path"]).toBe("/a/b?c=1");
  });

  it("redirects plain HTTP to HTTPS when the requirer asks", async () => {
    await model.setRelationData("shop", ingressId, { "redirect-https": "true" });
    const plain = await get(`http://${HOST}/e2e-shop/x`);
    expect(plain.status).toBe(308);
    expect(plain.headers.location).toBe(`https://${HOST}/e2e-shop/x`);
    await model.setRelationData("shop", ingressId, { "redirect-https": "" });
  });

  it("renews a certificate near its end with a fresh CSR, serving the old one until the new arrives", async () => {
    const first = await servedCertificate();
    const before = ca.requests(certificatesId);
    // The CA reissues everything short-lived and backdated: past 90 % of its validity at once.
    await ca.reissue(certificatesId, { startsIn: -3600, endsIn: 300 });
    const nearlyExpired = await servedCertificate();
    expect(nearlyExpired.fingerprint256).not.toBe(first.fingerprint256);
    // Both units saw that it is due and asked again, each with a new CSR.
    const after = ca.requests(certificatesId);
    expect(after).toHaveLength(2);
    for (const csr of after) expect(before).not.toContain(csr);
    await ca.answer(certificatesId);
    const renewed = await servedCertificate();
    expect(renewed.fingerprint256).not.toBe(nearlyExpired.fingerprint256);
    expect(Date.parse(renewed.validTo) - Date.now()).toBeGreaterThan(86_400_000);
  });

  it("shares port 80 with a reverseproxy service: routes to ingress, the rest to the classic service", async () => {
    await deployMyWebApp(model, 1);
    await model.config("haproxy", { services: null });
    const classic = await model.http(`http://${haproxyAddress()}/`);
    expect(classic.status).toBe(200);
    expect(classic.body.trim()).toBe("my-web-app/0");
    const routed = await get(`http://${HOST}/e2e-shop/`);
    expect(routed.body.trim()).toMatch(/^shop\/[01]$/);
  });

  it("falls back to plain HTTP when the certificates relation goes, serving throughout", async () => {
    // A client per unit keeps asking over plain HTTP while the relation goes.
    const loops = [0, 1].map((unit) =>
      clientLoop(model, `http://${HOST}/e2e-shop/`, 50, { curlArgs: towards(unit) }),
    );
    await eventually(async () => {
      for (const loop of loops) expect(loop.requests.some((r) => r.answer)).toBe(true);
    });
    await model.removeRelation(certificatesId);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await Promise.all(loops.map((loop) => loop.stop()));
    for (const loop of loops) {
      expect(loop.requests.length).toBeGreaterThan(5);
      const failed = loop.requests.filter((r) => !/^shop\/[01]$/.test(r.answer ?? ""));
      expect(failed).toEqual([]);
    }
    expect(publishedUrl()).toBe(`http://${HOST}/e2e-shop/`);
    await expect(get(`https://${HOST}/e2e-shop/`)).rejects.toThrow(/curl .* failed/);
    for (const unit of ["haproxy/0", "haproxy/1"]) {
      expect(model.requireUnit(unit).agent).toBe("idle");
    }
  });

  it("clears the URL when the requirer goes", async () => {
    expect(publishedUrl()).toBe(`http://${HOST}/e2e-shop/`);
    // Its units leave first, as when its application is removed: the relation is still
    // there, the URL is not.
    for (const unit of ["shop/0", "shop/1"]) await model.removeUnit(unit);
    const providerBag = model.relation(ingressId)?.appSettings.get("haproxy");
    expect(providerBag).toBeDefined();
    expect(providerBag?.get("ingress") ?? "").toBe("");
    await model.removeRelation(ingressId);
    // Its route is gone too: the classic service answers its path.
    for (const unit of ["haproxy/0", "haproxy/1"]) {
      expect(await model.readFile(unit, "/etc/haproxy/haproxy.cfg")).not.toContain("e2e-shop");
    }
    expect((await get(`http://${HOST}/e2e-shop/`)).body.trim()).toBe("my-web-app/0");
    const stillServing = await model.http(`http://${haproxyAddress()}/`);
    expect(stillServing.body.trim()).toBe("my-web-app/0");
  });
});
