// ingress-per-unit's optional fields end to end: the packed charm (default
// config) in the local model, a scripted ingress-per-unit requirer whose
// units ask for strip-prefix, redirect-https and scheme https, real web
// servers (one of them HTTPS only, with a certificate no CA of haproxy's
// signed), a scripted tls-certificates provider for external_hostname's
// certificate, and curl through haproxy.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { eventually } from "../helpers/eventually.js";
import { TestCa, makeCsrWithKey } from "../helpers/testCa.js";
import type { SeenRequest } from "../localJuju/model.js";
import { LocalModel } from "../localJuju/model.js";
import { type PackedCharm, packCharm } from "./packedCharm.js";
import { ScriptedCa } from "./scriptedCa.js";

const MODEL = "ipuf";
const HOST = "units.example.com";
const HTTP_PORT = 8080;
const HTTPS_PORT = 8443;
// web/0 asks for its prefix stripped and plain HTTP redirected, web/1 for
// nothing optional (what the others are told apart from), web/2 is spoken to
// over TLS.
const OPTIONAL_FIELDS: Record<string, Record<string, string>> = {
  "web/0": { "strip-prefix": "true", "redirect-https": "true" },
  "web/1": {},
  "web/2": { scheme: "https", port: String(HTTPS_PORT) },
};

let charm: PackedCharm;
let model: LocalModel;
let ca: ScriptedCa;
let unitCa: TestCa;
let scratch: string;
let caFile: string;
let ingressId: number;
let certificatesId: number;

const haproxyAddress = () => model.requireUnit("haproxy/0").machine.address;
const routeOf = (unit: string) => `/${MODEL}-${unit.replace("/", "-")}`;

/** The `ingress` mapping haproxy's leader published: unit name -> URL. */
function publishedUrls(): Record<string, string> {
  const value = model.relation(ingressId)?.appSettings.get("haproxy")?.get("ingress") ?? "";
  if (value === "") return {};
  const mapping = yaml.load(value) as Record<string, { url: string }>;
  return Object.fromEntries(Object.entries(mapping).map(([unit, { url }]) => [unit, url]));
}

/** curl with HOST resolved to haproxy/0, trusting the certificates provider's CA. */
function get(url: string) {
  return model.http(url, {
    curlArgs: [
      "--resolve",
      `${HOST}:80:${haproxyAddress()}`,
      "--resolve",
      `${HOST}:443:${haproxyAddress()}`,
      "--cacert",
      caFile,
    ],
  });
}

/** Requests a unit's web server received whose URL carries `probe`. */
const probed = (unit: string, port: number, probe: string): SeenRequest[] =>
  model
    .backendServer(unit, port)
    .requests()
    .filter((request) => request.url.includes(`probe=${probe}`));

/** The one request carrying `probe` a unit's web server received (its log line may lag the answer). */
async function seenBy(unit: string, port: number, probe: string): Promise<SeenRequest> {
  await eventually(() => expect(probed(unit, port, probe)).toHaveLength(1), 5_000, 100);
  return probed(unit, port, probe)[0] as SeenRequest;
}

beforeAll(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), "e2e-ipu-fields-"));
  charm = packCharm();
  model = await LocalModel.create({ name: MODEL });
  await model.deploy(charm.file, { units: 1 });
  ca = await ScriptedCa.deploy(model);
  caFile = path.join(scratch, "ca.pem");
  writeFileSync(caFile, ca.ca.certificate);
  certificatesId = await model.integrate("haproxy:certificates", `${ca.name}:certificates`);
  await model.deployScripted("web", {
    units: 3,
    endpoints: { "ingress-per-unit": { interface: "ingress_per_unit", role: "requires" } },
    unitSettings: (unit) => ({
      model: MODEL,
      name: unit.name,
      host: unit.address,
      port: String(HTTP_PORT),
      ...OPTIONAL_FIELDS[unit.name],
    }),
    httpPort: HTTP_PORT,
  });
  // web/2's own certificate, from a CA haproxy has never seen.
  unitCa = TestCa.create("web's own CA");
  const { csr, key } = makeCsrWithKey("web-2.internal");
  await model.serveHttp("web/2", HTTPS_PORT, "web/2", {
    certificate: unitCa.entry(csr).certificate,
    key,
  });
  ingressId = await model.integrate("web:ingress-per-unit", "haproxy:ingress-per-unit");
}, 240_000);

afterAll(() => {
  model?.destroy();
  charm?.cleanup();
  ca?.cleanup();
  unitCa?.cleanup();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe("ingress-per-unit's optional fields in the local model", () => {
  it("strips the unit's path for a unit asking strip-prefix, and only for it", async () => {
    const urls = publishedUrls();
    const stripped = urls["web/0"] as string;
    expect((await model.http(`${stripped}/below/it?probe=below`)).body.trim()).toBe("web/0");
    expect((await seenBy("web/0", HTTP_PORT, "below")).url).toBe("/below/it?probe=below");
    expect((await seenBy("web/0", HTTP_PORT, "below")).headers["x-forwarded-prefix"]).toBe(
      routeOf("web/0"),
    );
    // The unit's path itself reaches it as its root.
    expect((await model.http(`${stripped}?probe=root`)).body.trim()).toBe("web/0");
    expect((await seenBy("web/0", HTTP_PORT, "root")).url).toBe("/?probe=root");

    // A unit that did not ask gets the whole path.
    const kept = urls["web/1"] as string;
    expect((await model.http(`${kept}/below/it?probe=kept`)).body.trim()).toBe("web/1");
    expect((await seenBy("web/1", HTTP_PORT, "kept")).url).toBe(
      `${routeOf("web/1")}/below/it?probe=kept`,
    );
    expect(
      (await seenBy("web/1", HTTP_PORT, "kept")).headers["x-forwarded-prefix"],
    ).toBeUndefined();
  });

  it("speaks TLS to a unit asking scheme https, whose server answers nothing else", async () => {
    const url = publishedUrls()["web/2"] as string;
    const response = await model.http(`${url}/over/tls?probe=tls`);
    expect(response.status).toBe(200);
    expect(response.body.trim()).toBe("web/2");
    // The HTTPS-only server received it (in plain HTTP it would have seen nothing).
    const seen = await seenBy("web/2", HTTPS_PORT, "tls");
    expect(seen.url).toBe(`${routeOf("web/2")}/over/tls?probe=tls`);
    expect(seen.headers["x-forwarded-proto"]).toBe("http");
    // Its plain-HTTP server on the other port got nothing for it.
    expect(probed("web/2", HTTP_PORT, "tls")).toEqual([]);
  });

  it("publishes http URLs on external_hostname and redirects nothing while its certificate has not arrived", async () => {
    await model.config("haproxy", { external_hostname: HOST });
    await eventually(() => expect(ca.requests(certificatesId)).toHaveLength(1));
    expect(publishedUrls()).toEqual({
      "web/0": `http://${HOST}${routeOf("web/0")}`,
      "web/1": `http://${HOST}${routeOf("web/1")}`,
      "web/2": `http://${HOST}${routeOf("web/2")}`,
    });
    // No HTTPS to send web/0's clients to yet: served in plain HTTP.
    const plain = await get(`http://${HOST}${routeOf("web/0")}/x?probe=early`);
    expect(plain.status).toBe(200);
    expect(plain.body.trim()).toBe("web/0");
  });

  it("once the certificate is served: https URLs, each unit reached over HTTPS, plain HTTP redirected for the unit asking redirect-https only", async () => {
    await ca.answer(certificatesId);
    await eventually(() =>
      expect(publishedUrls()).toEqual({
        "web/0": `https://${HOST}${routeOf("web/0")}`,
        "web/1": `https://${HOST}${routeOf("web/1")}`,
        "web/2": `https://${HOST}${routeOf("web/2")}`,
      }),
    );
    for (const [unit, url] of Object.entries(publishedUrls())) {
      const probe = `https-${unit.replace("/", "-")}`;
      const response = await get(`${url}/secure?probe=${probe}`);
      expect(response.status).toBe(200);
      expect(response.body.trim()).toBe(unit);
      const port = unit === "web/2" ? HTTPS_PORT : HTTP_PORT;
      expect((await seenBy(unit, port, probe)).headers["x-forwarded-proto"]).toBe("https");
    }
    // Over HTTPS, web/0's prefix is still stripped.
    expect((await seenBy("web/0", HTTP_PORT, "https-web-0")).url).toBe("/secure?probe=https-web-0");

    const redirected = await get(`http://${HOST}${routeOf("web/0")}/x?probe=late`);
    expect(redirected.status).toBe(308);
    expect(redirected.headers.location).toBe(`https://${HOST}${routeOf("web/0")}/x?probe=late`);
    expect(probed("web/0", HTTP_PORT, "late")).toEqual([]);
    // A unit that did not ask is still served in plain HTTP.
    const plain = await get(`http://${HOST}${routeOf("web/1")}/x?probe=plain`);
    expect(plain.status).toBe(200);
    expect(plain.body.trim()).toBe("web/1");
    expect((await seenBy("web/1", HTTP_PORT, "plain")).headers["x-forwarded-proto"]).toBe("http");
  });
});
