// external_grpc_port as a gRPC client sees it: the planner's configuration
// run by a real haproxy (2.6 and 3.0; ports 80, 443 and the gRPC port moved
// to free loopback ports), a real gRPC server behind it speaking TLS with a
// certificate the CA received on receive-ca-certs signed, and a real gRPC
// client dialling the application's hostname over TLS (HTTP/2 only).
import { connect } from "node:tls";

import * as grpc from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import type { HookInputs, RemoteApp, RemoteUnit } from "../../../src/juju/hookInputs.js";
import {
  hostnameCertificatePath,
  relationCertificatePath,
} from "../../../src/plan/defaultCertificate.js";
import type { Plan } from "../../../src/plan/planConfiguration.js";
import { renderHaproxyConfig } from "../../../src/render/renderHaproxyConfig.js";
import { haproxyVersions } from "../../helpers/haproxyVersions.js";
import { planFromInputs } from "../../helpers/planFromInputs.js";
import {
  type PlanOnHaproxy,
  type PlanTestInputs,
  runPlanOnHaproxy,
  testInputs,
} from "../../helpers/planOnHaproxy.js";
import { TestCa, makeCsrWithKey } from "../../helpers/testCa.js";

/** The port the application asks for; the tests serve it on a free loopback port instead. */
const GRPC_PORT = 50051;
const HOSTNAME = "grpc.example.com";
const ALIAS = "rpc.example.net";

// One unary method, its messages raw bytes: no proto file, nothing generated.
const bytes = (buffer: Buffer) => buffer;
const greeterService = {
  greet: {
    path: "/test.Greeter/Greet",
    requestStream: false,
    responseStream: false,
    requestSerialize: bytes,
    requestDeserialize: bytes,
    responseSerialize: bytes,
    responseDeserialize: bytes,
  },
} satisfies grpc.ServiceDefinition;
const GreeterClient = grpc.makeGenericClientConstructor(greeterService, "Greeter");

/** A requirer unit's gRPC server over TLS: greets a name, or answers NOT_FOUND for "nobody". */
interface GreeterServer {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

async function startGreeter(ca: TestCa, host: string): Promise<GreeterServer> {
  const { csr, key } = makeCsrWithKey("greeter.backend.test");
  const server = new grpc.Server();
  server.addService(greeterService, {
    greet: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      const name = call.request.toString("utf8");
      if (name === "nobody") {
        callback({ code: grpc.status.NOT_FOUND, details: "no greeter knows nobody" });
        return;
      }
      // What the proxy told the server about the client's connection comes back too.
      const proto = call.metadata.get("x-forwarded-proto")[0] ?? "none";
      callback(null, Buffer.from(`hello ${name} (${String(proto)})`));
    },
  });
  const credentials = grpc.ServerCredentials.createSsl(
    null,
    [{ private_key: Buffer.from(key), cert_chain: Buffer.from(ca.sign(csr)) }],
    false,
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:0`, credentials, (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return {
    host,
    port,
    close: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
}

/** A unary call through haproxy's gRPC port, dialling `hostname` (SNI, certificate check, :authority). */
async function greet(
  port: number,
  hostname: string,
  name: string,
  caPem: string,
): Promise<{ answer?: string; error?: grpc.ServiceError }> {
  const client = new GreeterClient(
    `127.0.0.1:${port}`,
    grpc.credentials.createSsl(Buffer.from(caPem)),
    { "grpc.ssl_target_name_override": hostname, "grpc.default_authority": hostname },
  );
  try {
    return await new Promise((resolve) => {
      const deadline = new Date(Date.now() + 15_000);
      client.makeUnaryRequest(
        greeterService.greet.path,
        bytes,
        bytes,
        Buffer.from(name),
        new grpc.Metadata(),
        { deadline },
        (error: grpc.ServiceError | null, answer?: Buffer) =>
          resolve(error ? { error } : { answer: answer?.toString("utf8") ?? "" }),
      );
    });
  } finally {
    client.close();
  }
}

/** The protocol haproxy picks (ALPN) from those a TLS client offers; false: none. */
async function negotiated(port: number, hostname: string, offered: string[], caPem: string) {
  return new Promise<string | false>((resolve, reject) => {
    const socket = connect(
      { host: "127.0.0.1", port, servername: hostname, ca: caPem, ALPNProtocols: offered },
      () => {
        resolve(socket.alpnProtocol ?? false);
        socket.end();
      },
    );
    socket.once("error", reject);
  });
}

let ca: TestCa;
let greeter: GreeterServer;
const certificates: Record<string, string> = {};
let running: PlanOnHaproxy | undefined;

beforeAll(async () => {
  ca = TestCa.create("Route CA");
  // Loopback, but not 127.0.0.1: haproxy's own listeners are there.
  greeter = await startGreeter(ca, "127.0.0.2");
  for (const hostname of [HOSTNAME, ALIAS]) {
    const { csr, key } = makeCsrWithKey(hostname);
    certificates[hostname] = ca.sign(csr) + ca.certificate + key;
  }
});

afterAll(async () => {
  await greeter.close();
  ca.cleanup();
});

afterEach(async () => {
  await running?.stop();
  running = undefined;
});

/** The greeter application's bags as its library writes them: every value JSON (undefined: not written). */
function greeterApp(fields: Record<string, unknown> = {}): { app: RemoteApp; unit: RemoteUnit } {
  const settings = {
    service: "greeter",
    ports: [greeter.port],
    protocol: "https",
    hostname: HOSTNAME,
    additional_hostnames: [ALIAS],
    external_grpc_port: GRPC_PORT,
    ...fields,
  };
  return {
    app: {
      relationId: "haproxy-route:1",
      app: "greeter",
      settings: Object.fromEntries(
        Object.entries(settings).flatMap(([key, value]) =>
          value === undefined ? [] : [[key, JSON.stringify(value)]],
        ),
      ),
    },
    unit: {
      relationId: "haproxy-route:1",
      unit: "greeter/0",
      settings: { address: JSON.stringify(greeter.host) },
    },
  };
}

/** The CA the greeter's certificate comes from, as a receive-ca-certs v1 provider sends it. */
const caProvider = (): RemoteApp => ({
  relationId: "receive-ca-certs:7",
  app: "route-ca",
  settings: { certificates: JSON.stringify([ca.certificate]), version: "1" },
});

/** The greeter related on haproxy-route, its CA on receive-ca-certs, and `extra`. */
function greeterInputs(
  extra: Partial<HookInputs>,
  fields: Record<string, unknown> = {},
): PlanTestInputs {
  const { app, unit } = greeterApp(fields);
  return {
    // A loopback server: what is served, not the relation data policy, is under test.
    config: { services: "", trust_relation_data: true },
    haproxyRouteApps: [app],
    haproxyRouteUnits: [unit],
    receivedCaApps: [caProvider()],
    receivedCaUnits: [],
    ...extra,
  };
}

function plan(
  paths: { haproxyLib: string; haproxyRun: string },
  extra: Partial<HookInputs>,
  fields: Record<string, unknown> = {},
) {
  return planFromInputs(testInputs(greeterInputs(extra, fields)), paths);
}

interface Served {
  readonly plan: Plan;
  /** haproxy.cfg as the charm renders it. */
  readonly text: string;
  /** Where the gRPC port is served; undefined when the configuration has no gRPC listener. */
  readonly grpcPort?: number;
}

/** Plans, writes the plan's files, and runs haproxy with 80, 443 and the gRPC port moved. */
async function serve(binary: string, extra: Partial<HookInputs>): Promise<Served> {
  running = await runPlanOnHaproxy(greeterInputs(extra), {
    haproxyBinary: binary,
    movedPorts: [GRPC_PORT],
  });
  const grpcPort = running.rendered.includes(`0.0.0.0:${GRPC_PORT} `)
    ? running.ports.get(GRPC_PORT)
    : undefined;
  return {
    plan: running.plan,
    text: running.rendered,
    ...(grpcPort !== undefined && { grpcPort }),
  };
}

describe.each(haproxyVersions)(
  "external_grpc_port through a real haproxy $version",
  ({ binary }) => {
    it("carries a unary call to the gRPC server and its answer back, over TLS and HTTP/2", async () => {
      const { plan: planned, grpcPort } = await serve(binary, {
        hostnameCertificates: certificates,
      });
      expect(planned.ports).toContain(GRPC_PORT);
      expect(grpcPort).toBeDefined();
      const port = grpcPort as number;
      expect(await greet(port, HOSTNAME, "world", ca.certificate)).toEqual({
        answer: "hello world (https)",
      });
      // Each hostname of the application, with its own certificate (the client checks it).
      expect(await greet(port, ALIAS, "alias", ca.certificate)).toEqual({
        answer: "hello alias (https)",
      });
    });

    it("offers HTTP/2 only on the gRPC port", async () => {
      const { grpcPort } = await serve(binary, { hostnameCertificates: certificates });
      const port = grpcPort as number;
      expect(await negotiated(port, HOSTNAME, ["http/1.1", "h2"], ca.certificate)).toBe("h2");
      expect(await negotiated(port, HOSTNAME, ["http/1.1"], ca.certificate)).toBe(false);
    });

    it("passes the server's error status and message through intact", async () => {
      const { grpcPort } = await serve(binary, { hostnameCertificates: certificates });
      const { answer, error } = await greet(grpcPort as number, HOSTNAME, "nobody", ca.certificate);
      expect(answer).toBeUndefined();
      expect(error?.code).toBe(grpc.status.NOT_FOUND);
      expect(error?.details).toBe("no greeter knows nobody");
    });

    it("serves a hostname whose certificate has arrived while another's has not", async () => {
      const { grpcPort, text } = await serve(binary, {
        hostnameCertificates: { [ALIAS]: certificates[ALIAS] as string },
        awaitingHostnames: [HOSTNAME],
      });
      expect(text).not.toContain(
        hostnameCertificatePath(running?.paths.haproxyLib ?? "", HOSTNAME),
      );
      expect(await greet(grpcPort as number, ALIAS, "early", ca.certificate)).toEqual({
        answer: "hello early (https)",
      });
    });

    it("opens no gRPC port until a certificate for one of the hostnames has arrived", async () => {
      const {
        plan: planned,
        text,
        grpcPort,
      } = await serve(binary, {
        awaitingHostnames: [ALIAS, HOSTNAME],
      });
      expect(grpcPort).toBeUndefined();
      expect(text).not.toContain(`:${GRPC_PORT}`);
      expect(planned.ports).not.toContain(GRPC_PORT);
      // The application is still served on its routes, and the wait is said.
      expect(planned.haproxyRoutes.map((request) => request.app)).toEqual(["greeter"]);
      expect(planned.notes).toContain(
        `haproxy-route greeter: external_grpc_port ${GRPC_PORT} waits for a certificate for ${HOSTNAME}, ${ALIAS}`,
      );
    });
  },
);

describe("external_grpc_port in the plan", () => {
  const paths = { haproxyLib: "/var/lib/haproxy", haproxyRun: "/run/haproxy" };

  it("renders the application's backend once, for the routes and the gRPC port alike", () => {
    const text = renderHaproxyConfig(plan(paths, { hostnameCertificates: certificates }).config);
    expect(text.match(/^backend greeter$/gm)).toHaveLength(1);
    const frontends = text.split(/\n(?=frontend )/).filter((part) => part.startsWith("frontend "));
    const grpcFrontend = frontends.find((part) => part.includes(`:${GRPC_PORT} `)) ?? "";
    expect(grpcFrontend.split("\n").slice(0, 4)).toEqual([
      `frontend haproxy-0-${GRPC_PORT}`,
      `    bind 0.0.0.0:${GRPC_PORT} ssl crt ${hostnameCertificatePath(paths.haproxyLib, HOSTNAME)} crt ${hostnameCertificatePath(paths.haproxyLib, ALIAS)} alpn h2`,
      "    default_backend greeter",
      "    mode http",
    ]);
    // The servers speak TLS, verified against the received CA, offering h2.
    expect(text).toMatch(
      /^ {4}server greeter-0_\d+ 127\.0\.0\.2:\d+ ssl verify required ca-file \S+ alpn h2,http\/1\.1$/m,
    );
  });

  it("serves external_hostname's certificate on the gRPC port of an application that names no hostname", () => {
    const { app, unit } = greeterApp({ hostname: undefined, additional_hostnames: undefined });
    const planned = planFromInputs(
      {
        unitName: "haproxy/0",
        privateAddress: "10.1.1.1",
        publicAddress: "10.1.1.1",
        config: { services: "", trust_relation_data: true, external_hostname: HOSTNAME },
        reverseproxy: [],
        peers: [],
        haproxyRouteApps: [app],
        haproxyRouteUnits: [unit],
        receivedCaApps: [caProvider()],
        receivedCaUnits: [],
        relationCertificatePem: certificates[HOSTNAME] as string,
      },
      paths,
    );
    expect(renderHaproxyConfig(planned.config)).toContain(
      `bind 0.0.0.0:${GRPC_PORT} ssl crt ${relationCertificatePath(paths.haproxyLib)} alpn h2\n`,
    );
    expect(planned.ports).toContain(GRPC_PORT);
  });

  it("leaves out the application whose gRPC port another listener holds, and serves the rest", () => {
    const planned = plan(paths, {
      hostnameCertificates: certificates,
      config: {
        services: `- {service_name: legacy, service_host: 0.0.0.0, service_port: ${GRPC_PORT}, service_options: [mode tcp], servers: [[s, 10.0.0.9, 9000]]}`,
        trust_relation_data: true,
      },
    });
    expect(planned.haproxyRoutes).toEqual([]);
    expect(planned.skippedRouteApps).toEqual([
      {
        relationId: "haproxy-route:1",
        app: "greeter",
        reason: `external_grpc_port: ${GRPC_PORT} is already served by service legacy`,
        invalid: true,
      },
    ]);
    expect(planned.ports).toEqual([GRPC_PORT]);
    expect(renderHaproxyConfig(planned.config)).not.toContain("backend greeter");
  });

  it("keeps the monitoring port from a gRPC port", () => {
    const planned = plan(paths, {
      hostnameCertificates: certificates,
      config: {
        services: "",
        trust_relation_data: true,
        enable_monitoring: true,
        monitoring_port: GRPC_PORT,
      },
    });
    expect(planned.skippedRouteApps.map((skipped) => skipped.reason)).toEqual([
      expect.stringMatching(new RegExp(`^external_grpc_port: ${GRPC_PORT} is already served by `)),
    ]);
    expect(planned.ports.filter((port) => port === GRPC_PORT)).toHaveLength(1);
  });

  it("keeps the peers port, which a rate limit would share tables on, from a gRPC port", () => {
    const planned = plan(
      paths,
      { hostnameCertificates: certificates },
      {
        external_grpc_port: 10001,
        rate_limit: { connections_per_minute: 100, policy: "deny" },
      },
    );
    expect(planned.skippedRouteApps.map((skipped) => skipped.reason)).toEqual([
      "external_grpc_port: 10001 is already served by peers (peers_port)",
    ]);
    expect(planned.ports).toEqual([]);
    expect(planned.config.peers).toBeUndefined();
  });
});
