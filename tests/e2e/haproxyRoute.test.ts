// haproxy-route end to end: the packed charm (two units) in the local model,
// a scripted haproxy-route requirer whose units run real web servers, a
// scripted tls-certificates provider signing each hostname's CSR with a real
// openssl CA, and curl resolving the hostnames to haproxy's units.
import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { eventually } from "../helpers/eventually.js";
import { LocalModel } from "../localJuju/model.js";
import { type PackedCharm, packCharm } from "./packedCharm.js";
import { ScriptedCa } from "./scriptedCa.js";
import { askUnit, publishedEndpoints, workerPid } from "./unitHaproxy.js";

const SHOP = "shop.example.com";
let charm: PackedCharm;
let model: LocalModel;
let ca: ScriptedCa;
let scratch: string;
let caFile: string;
let routeId: number;
let certificatesId: number;

const haproxyAddress = (n = 0) => model.requireUnit(`haproxy/${n}`).machine.address;

/** curl with `host` resolved to a haproxy unit, trusting the model's CA. */
function get(url: string, unit = 0, host = SHOP) {
  return model.http(url, {
    curlArgs: [
      "--resolve",
      `${host}:443:${haproxyAddress(unit)}`,
      "--resolve",
      `${host}:80:${haproxyAddress(unit)}`,
      "--cacert",
      caFile,
    ],
  });
}

/** The certificate haproxy/0 presents for SHOP (curl prints the chain after the body). */
async function servedCertificate(): Promise<X509Certificate> {
  const response = await model.http(`https://${SHOP}/api/x`, {
    curlArgs: [
      "--resolve",
      `${SHOP}:443:${haproxyAddress(0)}`,
      "--cacert",
      caFile,
      "--write-out",
      "%{certs}",
    ],
  });
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(response.body);
  if (pem === null) throw new Error(`no certificate from haproxy: ${response.body}`);
  return new X509Certificate(pem[0]);
}

beforeAll(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), "e2e-route-"));
  charm = packCharm();
  model = await LocalModel.create({ name: "route" });
  // The default config: its haproxy_service holds port 80, and the routes share it.
  await model.deploy(charm.file, { units: 2 });
  ca = await ScriptedCa.deploy(model);
  caFile = path.join(scratch, "ca.pem");
  writeFileSync(caFile, ca.ca.certificate);
  certificatesId = await model.integrate("haproxy:certificates", `${ca.name}:certificates`);
  await model.deployScripted("shop", {
    units: 2,
    endpoints: { "haproxy-route": { interface: "haproxy-route", role: "requires" } },
    unitSettings: (unit) => ({ address: JSON.stringify(unit.address) }),
    httpPort: 8080,
  });
  routeId = await model.integrate("shop:haproxy-route", "haproxy:haproxy-route");
  await model.setRelationData("shop", routeId, {
    service: JSON.stringify("shop"),
    ports: "[8080]",
    hostname: JSON.stringify(SHOP),
    paths: JSON.stringify(["/api", "/static"]),
    check: JSON.stringify({ interval: 2, rise: 2, fall: 3, path: "/health" }),
  });
}, 240_000);

afterAll(() => {
  model?.destroy();
  charm?.cleanup();
  ca?.cleanup();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe("haproxy-route in the local model", () => {
  it("publishes the endpoints, asks for the hostname's certificate, and redirects plain HTTP meanwhile", async () => {
    expect(publishedEndpoints(model, routeId)).toEqual([
      `https://${SHOP}/api`,
      `https://${SHOP}/static`,
    ]);
    // Each haproxy unit asks for the route's hostname (no external_hostname is set).
    expect(ca.requests(certificatesId)).toHaveLength(2);
    for (const unit of [0, 1]) {
      const plain = await get(`http://${SHOP}/api/items`, unit);
      expect(plain.status).toBe(302);
      expect(plain.headers.location).toBe(`https://${SHOP}/api/items`);
      expect(model.requireUnit(`haproxy/${unit}`).workload.message).toContain(
        `waiting for certificates for ${SHOP}`,
      );
    }
  });

  it("serves HTTPS for the hostname once its certificate arrives, from both units to both requirer units", async () => {
    await ca.answer(certificatesId);
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const response = await get(`https://${SHOP}/api/items`, i % 2);
      expect(response.status).toBe(200);
      seen.add(response.body.trim());
    }
    expect([...seen].sort()).toEqual(["shop/0", "shop/1"]);
    // A path the application did not ask for is not routed.
    expect((await get(`https://${SHOP}/admin`)).status).toBe(503);
    expect(model.requireUnit("haproxy/0").workload.message).toBe("Unit is ready");
  });

  it("counts a client once across both haproxy units for a rate limit (haproxy's peers section)", async () => {
    await model.setRelationData("shop", routeId, {
      rate_limit: JSON.stringify({ connections_per_minute: 4, policy: "deny" }),
    });
    for (const unit of ["haproxy/0", "haproxy/1"]) {
      expect(await model.readFile(unit, "/etc/haproxy/haproxy.cfg")).toContain(
        "peers haproxy_peers",
      );
    }
    try {
      // Active-passive peering sends both units' port 443 to the active unit's frontend on 444:
      // ask each unit's own 444, so that each unit's own table decides.
      const direct = (unit: number) =>
        model.http(`https://${SHOP}:444/api/x`, {
          curlArgs: ["--resolve", `${SHOP}:444:${haproxyAddress(unit)}`, "--cacert", caFile],
        });
      // Four requests through haproxy/0 use up the client's minute there...
      const first = [];
      for (let i = 0; i < 4; i++) first.push((await direct(0)).status);
      expect(first).toEqual([200, 200, 200, 200]);
      // ...haproxy/1, which has not seen the client, learns its count through the peers
      // section (read on its admin socket, without a request that would count there)...
      await eventually(async () => {
        expect(await askUnit(model, "haproxy/1", "show table shop")).toMatch(
          /http_req_rate\(60000\)=[4-9]/,
        );
      });
      // ...and refuses the client's very first request to it.
      expect((await direct(1)).status).toBe(429);
    } finally {
      // The later tests ask without a limit, whatever happened here.
      await model.setRelationData("shop", routeId, { rate_limit: "" });
    }
    expect((await get(`https://${SHOP}/api/x`, 1)).status).toBe(200);
  });

  it("takes a reissued and then a renewed certificate into the running haproxy, without a reload", async () => {
    const before = await workerPid(model);
    const first = await servedCertificate();
    // The CA reissues everything short-lived and backdated: past 90 % of its validity at once.
    await ca.reissue(certificatesId, { startsIn: -3600, endsIn: 300 });
    const reissued = await servedCertificate();
    expect(reissued.fingerprint256).not.toBe(first.fingerprint256);
    // The unit saw that it is due and asked again; the renewal is served as it arrives.
    await ca.answer(certificatesId);
    const renewed = await servedCertificate();
    expect(renewed.fingerprint256).not.toBe(reissued.fingerprint256);
    expect(Date.parse(renewed.validTo) - Date.now()).toBeGreaterThan(86_400_000);
    expect(await workerPid(model)).toBe(before);
  });

  it("adds a joining requirer unit without a reload", async () => {
    const before = await workerPid(model);
    await model.addUnit("shop");
    await eventually(async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 9; i++) seen.add((await get(`https://${SHOP}/api/x`)).body.trim());
      expect(seen.has("shop/2")).toBe(true);
    });
    expect(await workerPid(model)).toBe(before);
  });

  it("answers get-proxied-endpoints on any unit, for all backends or one", async () => {
    const all = await model.runAction("haproxy/1", "get-proxied-endpoints");
    expect(all.status).toBe("completed");
    expect(JSON.parse(String(all.results.endpoints))).toEqual([
      `https://${SHOP}/api`,
      `https://${SHOP}/static`,
    ]);
    const none = await model.runAction("haproxy/0", "get-proxied-endpoints", { backend: "x" });
    expect(JSON.parse(String(none.results.endpoints))).toEqual([]);
  });

  it("leaves out a hostile requirer pointing at haproxy's own loopback, with a status that counts it", async () => {
    await model.deployScripted("evil", {
      units: 1,
      endpoints: { "haproxy-route": { interface: "haproxy-route", role: "requires" } },
      unitSettings: () => ({ address: JSON.stringify("127.0.0.1") }),
    });
    const evilId = await model.integrate("evil:haproxy-route", "haproxy:haproxy-route");
    await model.setRelationData("evil", evilId, {
      service: JSON.stringify("evil"),
      ports: "[22]",
      hostname: JSON.stringify("evil.example.com"),
      allow_http: "true",
    });
    expect(publishedEndpoints(model, evilId)).toEqual([]);
    expect((await get("http://evil.example.com/", 0, "evil.example.com")).status).toBe(503);
    expect(model.requireUnit("haproxy/0").workload.message).toContain(
      "1 of 2 haproxy-route relations valid",
    );
    // The valid application keeps being served.
    expect((await get(`https://${SHOP}/api/x`)).status).toBe(200);
    await model.removeRelation(evilId);
  });

  it("withdraws the route and its endpoints when the relation goes", async () => {
    await model.removeRelation(routeId);
    for (const unit of ["haproxy/0", "haproxy/1"]) {
      expect(await model.readFile(unit, "/etc/haproxy/haproxy.cfg")).not.toContain("backend shop");
    }
    await expect(get(`https://${SHOP}/api/x`)).rejects.toThrow(/curl .* failed/);
    // Its hostname's CSR is withdrawn with it.
    expect(ca.requests(certificatesId)).toEqual([]);
  });
});
