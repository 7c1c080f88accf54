// Where ingress routes go beside the classic services, and the clashes that
// block the unit, through the planner with real `haproxy -c` on the result.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { ServiceConflictError } from "../../../src/lib/errors.js";
import type { HookInputs } from "../../../src/juju/hookInputs.js";
import { planFromInputs } from "../../helpers/planFromInputs.js";
import { renderHaproxyConfig } from "../../../src/render/renderHaproxyConfig.js";
import { makeCertificate } from "../../helpers/certificates.js";
import { checkHaproxyConfig } from "../../helpers/haproxyCheck.js";
import { haproxyVersions } from "../../helpers/haproxyVersions.js";

const certificate = makeCertificate("shop.example.com");
// Real directories: haproxy -c loads the certificates the plan writes.
let root: string;
let paths: { haproxyLib: string; haproxyRun: string };

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ingress-placement-"));
  paths = { haproxyLib: join(root, "lib"), haproxyRun: join(root, "run") };
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Writes the plan's files and returns what every haproxy version refuses of its configuration. */
async function refusals(plan: ReturnType<typeof planFromInputs>): Promise<string[]> {
  for (const file of plan.files) {
    await mkdir(dirname(file.path), { recursive: true });
    await writeFile(file.path, file.content, { mode: file.mode });
  }
  const text = renderHaproxyConfig(plan.config);
  const refused: string[] = [];
  for (const { version, binary } of haproxyVersions) {
    const check = await checkHaproxyConfig(text, binary);
    if (!check.ok) refused.push(`haproxy ${version}: ${check.output}`);
  }
  return refused;
}

function inputs(services: string, extra: Partial<HookInputs> = {}): HookInputs {
  return {
    unitName: "haproxy/0",
    privateAddress: "10.0.0.1",
    publicAddress: "203.0.113.1",
    config: { services, external_hostname: "shop.example.com" },
    reverseproxy: [],
    peers: [],
    ingressApps: [
      {
        relationId: "ingress:4",
        app: "api",
        settings: { model: '"prod"', name: '"api"', port: "8080" },
      },
    ],
    ingressUnits: [{ relationId: "ingress:4", unit: "api/0", settings: { host: '"10.4.0.1"' } }],
    ...extra,
  };
}

const classic = (port: number, options: string, crts = "") =>
  `- {service_name: web, service_host: 0.0.0.0, service_port: ${port}, service_options: [${options}]${crts}, servers: [[web-0, 10.1.0.1, 8000, check]]}`;

describe("ingress beside the classic services", () => {
  it.each([
    [
      "a classic service in tcp mode on port 80",
      inputs(classic(80, "mode tcp")),
      "ingress needs port 80 for HTTP, but service web serves it in tcp mode",
    ],
    [
      "a classic service on 443 without TLS while ingress needs 443 with TLS",
      inputs(classic(443, "mode http"), { relationCertificatePem: certificate.pem }),
      "ingress needs port 443 for HTTPS, but service web serves it without TLS",
    ],
  ])("blocks on %s, naming both", (_, given, message) => {
    let thrown: unknown;
    try {
      planFromInputs(given, paths);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ServiceConflictError);
    expect((thrown as Error).message).toBe(message);
  });

  it("adds the routes to a classic TLS service on 443, with the relation's certificate beside its own", async () => {
    const plan = planFromInputs(
      inputs(classic(443, "mode http", ", crts: [DEFAULT]"), {
        config: {
          services: classic(443, "mode http", ", crts: [DEFAULT]"),
          external_hostname: "shop.example.com",
          ssl_cert: certificate.base64Certificate,
          ssl_key: certificate.base64Key,
        },
        relationCertificatePem: certificate.pem,
      }),
      paths,
    );
    const text = renderHaproxyConfig(plan.config);
    expect(text).toContain(
      `bind 0.0.0.0:443 ssl crt ${paths.haproxyLib}/default.pem crt ${paths.haproxyLib}/certificates-relation.pem\n`,
    );
    expect(text).toMatch(
      /default_backend web\n(?:.*\n)*? {4}use_backend prod-api if ingress_host_0 ingress_prod-api\n/,
    );
    expect(plan.ports).toEqual([80, 443]);
    expect(plan.ingressTls).toBe(true);
    expect(await refusals(plan)).toEqual([]);
  });

  it("leaves out an application whose backend name a classic service already has", async () => {
    const plan = planFromInputs(
      inputs(
        "- {service_name: prod-api, service_port: 8081, servers: [[x, 10.1.0.1, 8000, check]]}",
      ),
      paths,
    );
    expect(plan.skippedApps).toEqual([
      {
        relationId: "ingress:4",
        app: "api",
        reason: "its backend name prod-api is already a service or backend of haproxy's",
        invalid: true,
      },
    ]);
    expect(plan.ingress).toEqual([]);
    expect(await refusals(plan)).toEqual([]);
  });
});
