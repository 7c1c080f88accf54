// haproxy-route's TLS fields end to end: the packed charm (one unit) in the
// local model, a scripted certificate_transfer provider sending the CA that
// signed the requirers' own certificates (receive-ca-certs), HTTPS web
// servers and a real gRPC server (@grpc/grpc-js) in the requirers' machines,
// a scripted tls-certificates provider signing the hostnames' CSRs, and real
// clients (curl from the model's network, a gRPC client in another machine).
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { eventually } from "../helpers/eventually.js";
import { TestCa, makeCsrWithKey } from "../helpers/testCa.js";
import { LocalModel } from "../localJuju/model.js";
import { type PackedCharm, packCharm } from "./packedCharm.js";
import { ScriptedCa } from "./scriptedCa.js";
import { publishedEndpoints } from "./unitHaproxy.js";

const SHOP = "shop.example.com";
const FAKE = "fake.example.com";
const GRPC = "grpc.example.com";
const GRPC_PORT = 50051;
const BACKEND_PORT = 8443;
const CA_BUNDLE = "/var/lib/haproxy/receive-ca-certs.pem";
const HSTS = "max-age=31536000";
const REFUSED_STATUS =
  "Waiting for backend units on the reverseproxy or ingress relation; " +
  "0 of 1 haproxy-route relations valid (see juju debug-log)";
/** Where the unit's machine finds the gRPC library: the repository's own node_modules. */
const GRPC_LIBRARY = createRequire(import.meta.url).resolve("@grpc/grpc-js");

// One unary method whose messages are raw bytes: no proto file, nothing generated.
const greeterDefinition = `
const bytes = (buffer) => buffer;
const definition = {
  greet: {
    path: "/test.Greeter/Greet",
    requestStream: false,
    responseStream: false,
    requestSerialize: bytes,
    requestDeserialize: bytes,
    responseSerialize: bytes,
    responseDeserialize: bytes,
  },
};
`;

/** A gRPC server over TLS: greets a name, answers NOT_FOUND for "nobody", prints what it got. */
const greeterServerSource = `
const { readFileSync } = require("node:fs");
const [library, host, port, certFile, keyFile] = process.argv.slice(2);
const grpc = require(library);
${greeterDefinition}
const server = new grpc.Server();
server.addService(definition, {
  greet: (call, callback) => {
    const name = call.request.toString("utf8");
    const proto = call.metadata.get("x-forwarded-proto")[0] ?? null;
    process.stdout.write(JSON.stringify({ name, proto }) + "\\n");
    if (name === "nobody") {
      callback({ code: grpc.status.NOT_FOUND, details: "no greeter knows nobody" });
      return;
    }
    callback(null, Buffer.from("hello " + name));
  },
});
const credentials = grpc.ServerCredentials.createSsl(
  null,
  [{ private_key: readFileSync(keyFile), cert_chain: readFileSync(certFile) }],
  false,
);
server.bindAsync(host + ":" + port, credentials, (error) => {
  if (error) {
    process.stderr.write(String(error) + "\\n");
    process.exit(1);
  }
  process.stdout.write("listening\\n");
});
`;

/** One unary call dialling a hostname (SNI, certificate check, :authority); prints its outcome as JSON. */
const greeterClientSource = `
const { readFileSync } = require("node:fs");
const [library, target, hostname, caFile, name] = process.argv.slice(2);
const grpc = require(library);
${greeterDefinition}
const Client = grpc.makeGenericClientConstructor(definition, "Greeter");
const client = new Client(target, grpc.credentials.createSsl(readFileSync(caFile)), {
  "grpc.ssl_target_name_override": hostname,
  "grpc.default_authority": hostname,
});
client.makeUnaryRequest(
  definition.greet.path,
  bytes,
  bytes,
  Buffer.from(name),
  new grpc.Metadata(),
  { deadline: new Date(Date.now() + 15000) },
  (error, answer) => {
    const outcome = error
      ? { code: error.code, details: error.details }
      : { answer: answer.toString("utf8") };
    process.stdout.write(JSON.stringify(outcome));
    client.close();
  },
);
`;

let charm: PackedCharm;
let model: LocalModel;
let ca: ScriptedCa;
/** The CA that signed the requirers' own certificates, sent on receive-ca-certs. */
let backendCa: TestCa;
/** A CA haproxy is never told about. */
let strangerCa: TestCa;
let caFile: string;
let certificatesId: number;
let shopId: number;
let trustId: number;

const haproxyAddress = () => model.requireUnit("haproxy/0").machine.address;

/** curl from the model's network with `host` resolved to haproxy, trusting the hostnames' CA. */
function get(url: string, host = SHOP) {
  return model.http(url, {
    curlArgs: [
      "--resolve",
      `${host}:443:${haproxyAddress()}`,
      "--resolve",
      `${host}:80:${haproxyAddress()}`,
      "--cacert",
      caFile,
    ],
  });
}

const hasCaBundle = async () =>
  (await model.exec("haproxy/0", ["test", "-e", CA_BUNDLE])).exitCode === 0;

/** An HTTPS web server on `unit` whose certificate `signer` signed. */
function serveHttps(unit: string, signer: TestCa) {
  const { csr, key } = makeCsrWithKey(`${unit.replace("/", "-")}.backend.test`);
  return model.serveHttp(unit, BACKEND_PORT, unit, { certificate: signer.sign(csr), key });
}

/** A requirer application whose units write their address, as the haproxy-route library does. */
async function deployRequirer(name: string, units: number) {
  await model.deployScripted(name, {
    units,
    endpoints: { "haproxy-route": { interface: "haproxy-route", role: "requires" } },
    unitSettings: (unit) => ({ address: JSON.stringify(unit.address) }),
  });
}

/** A gRPC call through haproxy's gRPC port, made from another machine of the model. */
async function greet(name: string): Promise<{ answer?: string; code?: number; details?: string }> {
  const result = await model.exec("shop/1", [
    process.execPath,
    path.join(model.dir, "greeter-client.cjs"),
    GRPC_LIBRARY,
    `${haproxyAddress()}:${GRPC_PORT}`,
    GRPC,
    caFile,
    name,
  ]);
  if (result.exitCode !== 0) throw new Error(`gRPC client failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as { answer?: string; code?: number; details?: string };
}

beforeAll(async () => {
  charm = packCharm();
  model = await LocalModel.create({ name: "route-tls" });
  await model.deploy(charm.file, { units: 1 });
  ca = await ScriptedCa.deploy(model);
  backendCa = TestCa.create("Backend CA");
  strangerCa = TestCa.create("Stranger CA");
  caFile = path.join(model.dir, "hostnames-ca.pem");
  writeFileSync(caFile, ca.ca.certificate);
  writeFileSync(path.join(model.dir, "greeter-server.cjs"), greeterServerSource);
  writeFileSync(path.join(model.dir, "greeter-client.cjs"), greeterClientSource);
  certificatesId = await model.integrate("haproxy:certificates", `${ca.name}:certificates`);
  await model.deployScripted("trust", {
    units: 1,
    endpoints: { "send-ca-cert": { interface: "certificate_transfer", role: "provides" } },
  });
  await deployRequirer("shop", 2);
  for (const unit of ["shop/0", "shop/1"]) await serveHttps(unit, backendCa);
}, 240_000);

afterAll(() => {
  model?.destroy();
  charm?.cleanup();
  ca?.cleanup();
  backendCa?.cleanup();
  strangerCa?.cleanup();
});

describe("haproxy-route's TLS fields in the local model", () => {
  it("refuses protocol https while no CA has arrived on receive-ca-certs, and serves nothing of it", async () => {
    shopId = await model.integrate("shop:haproxy-route", "haproxy:haproxy-route");
    await model.setRelationData("shop", shopId, {
      service: JSON.stringify("shop"),
      ports: JSON.stringify([BACKEND_PORT]),
      protocol: JSON.stringify("https"),
      hostname: JSON.stringify(SHOP),
    });
    const unit = model.requireUnit("haproxy/0");
    expect(publishedEndpoints(model, shopId)).toEqual([]);
    expect(unit.log.map((line) => `${line.level} ${line.message}`)).toContainEqual(
      expect.stringMatching(
        /^WARNING .*haproxy-route application shop \(haproxy-route:\d+\) not served: protocol: https backends are verified against CA certificates, which a receive-ca-certs relation must supply first$/,
      ),
    );
    // Nothing else is served: the wait says which relation was refused.
    expect(unit.workload.message).toBe(REFUSED_STATUS);
    expect(await model.readFile("haproxy/0", "/etc/haproxy/haproxy.cfg")).not.toContain(
      "backend shop",
    );
    expect(ca.requests(certificatesId)).toEqual([]);
    expect((await get(`http://${SHOP}/`)).status).not.toBe(200);
    expect(await hasCaBundle()).toBe(false);
    for (const backend of ["shop/0", "shop/1"]) {
      expect(model.backendServer(backend, BACKEND_PORT).requests()).toEqual([]);
    }
  });

  it("verifies the HTTPS backends against the CA a v1 provider sends, and routes to both", async () => {
    trustId = await model.integrate("trust:send-ca-cert", "haproxy:receive-ca-certs");
    // haproxy says it reads v1, so that a provider speaking both sends its app bag.
    expect(model.relation(trustId)?.appSettings.get("haproxy")?.get("version")).toBe("1");
    await model.setRelationData("trust", trustId, {
      certificates: JSON.stringify([backendCa.certificate]),
      version: "1",
    });
    const bundle = await model.readFile("haproxy/0", CA_BUNDLE);
    expect(bundle.replace(/\s/g, "")).toBe(backendCa.certificate.replace(/\s/g, ""));
    expect(publishedEndpoints(model, shopId)).toEqual([`https://${SHOP}`]);
    await ca.answer(certificatesId);
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const response = await get(`https://${SHOP}/orders?i=${i}`);
      expect(response.status).toBe(200);
      seen.add(response.body.trim());
    }
    expect([...seen].sort()).toEqual(["shop/0", "shop/1"]);
    // The requests crossed TLS to the servers, which saw them arrive over HTTPS.
    for (const backend of ["shop/0", "shop/1"]) {
      const received = model.backendServer(backend, BACKEND_PORT).requests();
      expect(received.length).toBeGreaterThan(0);
      expect(received[0]?.headers["x-forwarded-proto"]).toBe("https");
    }
    expect(model.requireUnit("haproxy/0").workload.message).toBe("Unit is ready");
  });

  it("health-checks the HTTPS servers over TLS, asking for the check's path and the hostname", async () => {
    await model.setRelationData("shop", shopId, {
      check: JSON.stringify({ interval: 1, rise: 1, fall: 3, path: "/health" }),
    });
    for (const backend of ["shop/0", "shop/1"]) {
      // The servers speak nothing but TLS: a check they log came over it.
      await eventually(() => {
        const checks = model
          .backendServer(backend, BACKEND_PORT)
          .requests()
          .filter((request) => request.url === "/health");
        expect(checks[0]?.headers.host).toBe(SHOP);
      });
    }
    expect((await get(`https://${SHOP}/`)).status).toBe(200);
  });

  it("answers 503 for a backend whose certificate a CA haproxy was not sent signed", async () => {
    await deployRequirer("fake", 1);
    await serveHttps("fake/0", strangerCa);
    const fakeId = await model.integrate("fake:haproxy-route", "haproxy:haproxy-route");
    await model.setRelationData("fake", fakeId, {
      service: JSON.stringify("fake"),
      ports: JSON.stringify([BACKEND_PORT]),
      protocol: JSON.stringify("https"),
      hostname: JSON.stringify(FAKE),
    });
    await ca.answer(certificatesId);
    expect(publishedEndpoints(model, fakeId)).toEqual([`https://${FAKE}`]);
    expect((await get(`https://${FAKE}/`, FAKE)).status).toBe(503);
    // The handshake failed: no request reached the server.
    expect(model.backendServer("fake/0", BACKEND_PORT).requests()).toEqual([]);
    await model.removeRelation(fakeId);
  });

  it("answers a unary gRPC call on external_grpc_port, and passes an error status intact", async () => {
    await deployRequirer("greeter", 1);
    const { csr, key } = makeCsrWithKey("greeter-0.backend.test");
    const certFile = path.join(model.dir, "greeter.crt");
    const keyFile = path.join(model.dir, "greeter.key");
    writeFileSync(certFile, backendCa.sign(csr));
    writeFileSync(keyFile, key, { mode: 0o600 });
    const server = await model.runServer(
      "greeter/0",
      [
        process.execPath,
        path.join(model.dir, "greeter-server.cjs"),
        GRPC_LIBRARY,
        model.requireUnit("greeter/0").machine.address,
        String(BACKEND_PORT),
        certFile,
        keyFile,
      ],
      "listening\n",
    );
    const greeterId = await model.integrate("greeter:haproxy-route", "haproxy:haproxy-route");
    await model.setRelationData("greeter", greeterId, {
      service: JSON.stringify("greeter"),
      ports: JSON.stringify([BACKEND_PORT]),
      protocol: JSON.stringify("https"),
      hostname: JSON.stringify(GRPC),
      external_grpc_port: String(GRPC_PORT),
    });
    // The gRPC port waits for its hostname's certificate; the CA signs it.
    await ca.answer(certificatesId);
    await eventually(async () => {
      expect(await greet("world")).toEqual({ answer: "hello world" });
    });
    expect(await greet("nobody")).toEqual({ code: 5, details: "no greeter knows nobody" });
    expect(server.output()).toContain(JSON.stringify({ name: "nobody", proto: "https" }));
    await model.removeRelation(greeterId);
  });

  it("adds Strict-Transport-Security to the route's HTTPS responses with enable_hsts, never over plain HTTP", async () => {
    expect((await get(`https://${SHOP}/`)).headers["strict-transport-security"]).toBeUndefined();
    await model.config("haproxy", { enable_hsts: true });
    const secure = await get(`https://${SHOP}/`);
    expect(secure.status).toBe(200);
    expect(secure.headers["strict-transport-security"]).toBe(HSTS);
    const redirect = await get(`http://${SHOP}/`);
    expect(redirect.status).toBe(302);
    expect(redirect.headers["strict-transport-security"]).toBeUndefined();
    // An application serving plain HTTP on purpose is promised nothing about HTTPS.
    await model.setRelationData("shop", shopId, { allow_http: "true" });
    const plain = await get(`http://${SHOP}/`);
    expect(plain.status).toBe(200);
    expect(plain.headers["strict-transport-security"]).toBeUndefined();
    expect((await get(`https://${SHOP}/`)).headers["strict-transport-security"]).toBeUndefined();
    await model.setRelationData("shop", shopId, { allow_http: "" });
    await model.config("haproxy", { enable_hsts: null });
  });

  it("trusts the CA a v0 provider's unit sends, without the v1 app bag", async () => {
    // The unit's key first: the route stays valid throughout, and keeps its certificate.
    await model.setRelationData("trust/0", trustId, { ca: backendCa.certificate });
    await model.setRelationData("trust", trustId, { certificates: "", version: "" });
    const bundle = await model.readFile("haproxy/0", CA_BUNDLE);
    expect(bundle.replace(/\s/g, "")).toBe(backendCa.certificate.replace(/\s/g, ""));
    expect(publishedEndpoints(model, shopId)).toEqual([`https://${SHOP}`]);
    expect((await get(`https://${SHOP}/`)).status).toBe(200);
  });

  it("removes the CA bundle and refuses protocol https again when the CA provider goes", async () => {
    await model.removeRelation(trustId);
    expect(await hasCaBundle()).toBe(false);
    expect(publishedEndpoints(model, shopId)).toEqual([]);
    expect(model.requireUnit("haproxy/0").workload.message).toBe(REFUSED_STATUS);
    expect(await model.readFile("haproxy/0", "/etc/haproxy/haproxy.cfg")).not.toContain(
      "backend shop",
    );
  });
});
