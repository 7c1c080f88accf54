// The bundle of received CAs as haproxy uses it: a server with
// `ssl verify required ca-file <bundle>` reaches a real HTTPS server whose
// certificate one of the received CAs signed, and is refused one signed by
// any other CA. The planner's files and configuration run by haproxy 2.6
// and 3.0.
import { X509Certificate } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import type { RemoteApp } from "../../../src/juju/hookInputs.js";
import { backendCaPath } from "../../../src/plan/backendCaFile.js";
import type { Plan } from "../../../src/plan/planConfiguration.js";
import { renderHaproxyConfig } from "../../../src/render/renderHaproxyConfig.js";
import { eventually } from "../../helpers/eventually.js";
import { HaproxyProcess, findFreePort } from "../../helpers/haproxyProcess.js";
import { haproxyVersions } from "../../helpers/haproxyVersions.js";
import { httpGet } from "../../helpers/httpBackends.js";
import { planFromInputs } from "../../helpers/planFromInputs.js";
import { TestCa, makeCsrWithKey } from "../../helpers/testCa.js";

interface HttpsBackend {
  readonly port: number;
  close(): Promise<void>;
}

/** A real HTTPS server presenting a certificate `ca` signed; answers with its name. */
async function startHttpsBackend(name: string, ca: TestCa): Promise<HttpsBackend> {
  const { csr, key } = makeCsrWithKey(`${name}.backend.test`);
  const server = createServer({ key, cert: ca.sign(csr) }, (_req, res) => {
    res.writeHead(200, { "content-type": "text/plain", connection: "close" });
    res.end(name);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const provider = (relationId: string, app: string, ca: TestCa): RemoteApp => ({
  relationId,
  app,
  settings: { certificates: JSON.stringify([ca.certificate]), version: "1" },
});

let trustedCa: TestCa;
let otherCa: TestCa;
let trusted: HttpsBackend;
let untrusted: HttpsBackend;
let root: string | undefined;
let haproxy: HaproxyProcess | undefined;

beforeAll(async () => {
  trustedCa = TestCa.create("Received CA");
  otherCa = TestCa.create("Other CA");
  trusted = await startHttpsBackend("trusted", trustedCa);
  untrusted = await startHttpsBackend("untrusted", otherCa);
});
afterAll(async () => {
  await Promise.all([trusted.close(), untrusted.close()]);
  trustedCa.cleanup();
  otherCa.cleanup();
});
afterEach(async () => {
  await haproxy?.stop();
  haproxy = undefined;
  if (root !== undefined) await rm(root, { recursive: true, force: true });
  root = undefined;
});

describe.each(haproxyVersions)("haproxy $version verifying backends", ({ binary }) => {
  /**
   * One service per backend, each server verified against the received
   * bundle; the plan's files written, its configuration run.
   */
  async function serve(
    providers: readonly RemoteApp[],
  ): Promise<{ plan: Plan; ports: { trusted: number; untrusted: number } }> {
    root = await mkdtemp(path.join(tmpdir(), "backend-cas-"));
    const paths = { haproxyLib: path.join(root, "lib"), haproxyRun: path.join(root, "run") };
    await mkdir(paths.haproxyLib);
    await mkdir(paths.haproxyRun);
    const ports = { trusted: await findFreePort(), untrusted: await findFreePort() };
    const verified = `ssl verify required ca-file ${backendCaPath(paths.haproxyLib)} check inter 500`;
    const service = (name: string, port: number, backendPort: number) =>
      `{service_name: ${name}, service_host: 127.0.0.1, service_port: ${port}, ` +
      `service_options: [mode http], servers: [[s, 127.0.0.1, ${backendPort}, "${verified}"]]}`;
    const plan = planFromInputs(
      {
        unitName: "haproxy/0",
        privateAddress: "10.0.0.2",
        publicAddress: "10.0.0.2",
        config: {
          services: `[${service("trusted", ports.trusted, trusted.port)}, ${service("untrusted", ports.untrusted, untrusted.port)}]`,
        },
        reverseproxy: [],
        peers: [],
        receivedCaApps: providers,
        receivedCaUnits: [],
      },
      paths,
    );
    for (const file of plan.files) await writeFile(file.path, file.content, { mode: file.mode });
    const configFile = path.join(root, "haproxy.cfg");
    await writeFile(configFile, renderHaproxyConfig(plan.config));
    haproxy = new HaproxyProcess({
      configFile,
      pidFile: path.join(root, "haproxy.pid"),
      haproxyBinary: binary,
      probePorts: [ports.trusted, ports.untrusted],
    });
    await haproxy.start();
    return { plan, ports };
  }

  it("reaches a backend a received CA signed, and refuses one another CA signed", async () => {
    const { plan, ports } = await serve([provider("receive-ca-certs:1", "vault", trustedCa)]);
    expect(plan.backendCaFile).toBe(backendCaPath(path.join(root as string, "lib")));
    const bundle = plan.files.find((file) => file.path === plan.backendCaFile);
    expect(bundle).toMatchObject({ mode: 0o644, secret: false });
    expect(new X509Certificate(bundle?.content ?? "").fingerprint256).toBe(
      new X509Certificate(trustedCa.certificate).fingerprint256,
    );

    await eventually(async () => {
      expect(await httpGet(ports.trusted)).toEqual({ status: 200, body: "trusted" });
      // Its certificate does not verify: the check marks it down, and nothing reaches it.
      expect((await httpGet(ports.untrusted)).status).toBe(503);
    });
    // Settled: the trusted one stays up, the other stays refused.
    expect(await httpGet(ports.trusted)).toEqual({ status: 200, body: "trusted" });
    expect((await httpGet(ports.untrusted)).status).toBe(503);
  });

  it("trusts every CA received, from every relation", async () => {
    const { ports } = await serve([
      provider("receive-ca-certs:1", "vault", trustedCa),
      provider("receive-ca-certs:2", "other", otherCa),
    ]);
    await eventually(async () => {
      expect(await httpGet(ports.trusted)).toEqual({ status: 200, body: "trusted" });
      expect(await httpGet(ports.untrusted)).toEqual({ status: 200, body: "untrusted" });
    });
  });
});
