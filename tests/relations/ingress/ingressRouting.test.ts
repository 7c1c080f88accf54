// Ingress routes as haproxy serves them: the planner's configuration run by
// a real haproxy (ports 80 and 443 moved to free loopback ports), real HTTP
// servers standing for the requirer's units, real HTTP and TLS clients.
import { type IncomingHttpHeaders, type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import type { HookInputs, RemoteApp, RemoteUnit } from "../../../src/juju/hookInputs.js";
import { type PlanOnHaproxy, runPlanOnHaproxy } from "../../helpers/planOnHaproxy.js";
import { httpAsk } from "../../helpers/httpBackends.js";
import { TestCa, makeCsrWithKey } from "../../helpers/testCa.js";

interface Seen {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** When it arrived, in milliseconds (performance.now()). */
  readonly at: number;
}

/** A requirer unit: answers with its name and records what reached it. */
interface Upstream {
  readonly unit: string;
  readonly host: string;
  readonly port: number;
  readonly seen: Seen[];
  close(): Promise<void>;
}

/** Units of one application listen on one port, each at its own loopback address. */
async function startUpstream(unit: string, host = "127.0.0.1", port = 0): Promise<Upstream> {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    seen.push({ path: req.url ?? "", headers: req.headers, at: performance.now() });
    res.writeHead(200, { "content-type": "text/plain", connection: "close" });
    res.end(`${unit} ${req.url ?? ""}`);
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return {
    unit,
    host,
    port: (server.address() as AddressInfo).port,
    seen,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** GET through haproxy's plain HTTP port with this Host header. */
const get = (port: number, urlPath: string, host = "localhost") => httpAsk(port, urlPath, { host });

/** GET through haproxy's TLS port for `host`, trusting `ca`. */
const httpsGet = (port: number, urlPath: string, host: string, ca: string) =>
  httpAsk(port, urlPath, { host, tls: { servername: host, ca } });

const shop: Upstream[] = [];
let api: Upstream;
let classic: Upstream;
let ca: TestCa;
let served: PlanOnHaproxy | undefined;
let httpPort: number;
let httpsPort: number;

beforeAll(async () => {
  const first = await startUpstream("shop/0", "127.0.0.2");
  shop.push(first, await startUpstream("shop/1", "127.0.0.3", first.port));
  api = await startUpstream("api/0");
  classic = await startUpstream("web/0");
  ca = TestCa.create();
});

afterAll(async () => {
  await Promise.all([...shop, api, classic].map((upstream) => upstream.close()));
  ca.cleanup();
});

afterEach(async () => {
  await served?.stop();
  served = undefined;
});

const ingressApp = (
  relationId: string,
  name: string,
  upstreams: readonly Upstream[],
  extra: Record<string, unknown> = {},
): { app: RemoteApp; units: RemoteUnit[] } => ({
  app: {
    relationId,
    app: name,
    settings: Object.fromEntries(
      Object.entries({ model: "test", name, port: upstreams[0]?.port ?? 1, ...extra }).map(
        ([key, value]) => [key, JSON.stringify(value)],
      ),
    ),
  },
  units: upstreams.map((upstream, i) => ({
    relationId,
    unit: `${name}/${i}`,
    settings: { host: JSON.stringify(upstream.host) },
  })),
});

/** Plans, renders and runs haproxy with 80 and 443 moved to free loopback ports. */
async function serve(
  config: Record<string, unknown>,
  apps: readonly { app: RemoteApp; units: RemoteUnit[] }[],
  extra: Partial<HookInputs> = {},
): Promise<string> {
  served = await runPlanOnHaproxy({
    privateAddress: "127.0.0.1",
    publicAddress: "127.0.0.1",
    // The units listen on two loopback addresses: routing, not the relation
    // data policy, is what these tests are about.
    config: { services: "", trust_relation_data: true, ...config },
    ingressApps: apps.map((entry) => entry.app),
    ingressUnits: apps.flatMap((entry) => entry.units),
    ...extra,
  });
  ({ httpPort, httpsPort } = served);
  return served.text;
}

describe("ingress routes through a real haproxy", () => {
  it("sends /<model>-<app> and what is below it to the application's units, and nothing else", async () => {
    await serve({}, [ingressApp("ingress:1", "shop", shop), ingressApp("ingress:2", "api", [api])]);
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => get(httpPort, "/test-shop/cart?item=1")),
    );
    expect(answers.map((answer) => answer.status)).toEqual(Array(6).fill(200));
    // Both units serve, and the path reaches them whole (no strip-prefix).
    expect(new Set(answers.map((answer) => answer.body))).toEqual(
      new Set(["shop/0 /test-shop/cart?item=1", "shop/1 /test-shop/cart?item=1"]),
    );
    expect((await get(httpPort, "/test-shop")).body).toMatch(/^shop\/\d \/test-shop$/);
    expect((await get(httpPort, "/test-api/v1")).body).toBe("api/0 /test-api/v1");
    // A longer name that merely starts with the prefix is not the route.
    expect((await get(httpPort, "/test-shopping")).status).toBe(503);
    expect((await get(httpPort, "/")).status).toBe(503);
  });

  it("strips the prefix when asked, and tells the unit what it was", async () => {
    await serve({}, [ingressApp("ingress:1", "api", [api], { "strip-prefix": true })]);
    expect((await get(httpPort, "/test-api/v1/items?x=2")).body).toBe("api/0 /v1/items?x=2");
    expect((await get(httpPort, "/test-api")).body).toBe("api/0 /");
    const last = api.seen.at(-1);
    expect(last?.headers["x-forwarded-prefix"]).toBe("/test-api");
    expect(last?.headers["x-forwarded-proto"]).toBe("http");
    expect(last?.headers["x-forwarded-for"]).toBe("127.0.0.1");
  });

  it("answers only for external_hostname's Host header when it is set", async () => {
    await serve({ external_hostname: "shop.example.com" }, [ingressApp("ingress:1", "api", [api])]);
    expect((await get(httpPort, "/test-api/", "shop.example.com")).status).toBe(200);
    expect((await get(httpPort, "/test-api/", "SHOP.example.com:80")).status).toBe(200);
    expect((await get(httpPort, "/test-api/", "other.example.com")).status).toBe(503);
  });

  it("shares port 80 with a classic service: routes go to ingress, the rest to the service", async () => {
    await serve(
      {
        services: `- {service_name: web, service_host: 0.0.0.0, service_port: 80, service_options: [mode http], servers: [[web-0, 127.0.0.1, ${classic.port}, check]]}`,
      },
      [ingressApp("ingress:1", "api", [api])],
    );
    expect((await get(httpPort, "/test-api/x")).body).toBe("api/0 /test-api/x");
    expect((await get(httpPort, "/anything")).body).toBe("web/0 /anything");
  });

  it("checks the units' health on the path and interval they ask for", async () => {
    // 300 ms, far from haproxy's default of 2 s, so that the gaps between checks show which applies.
    const text = await serve({}, [
      ingressApp("ingress:1", "api", [api], {
        healthcheck_params: { path: "/healthz", interval: "300ms", timeout: "1s" },
      }),
    ]);
    expect(text).toContain("timeout check 1s");
    const checks = () => api.seen.filter((seen) => seen.path === "/healthz");
    const deadline = Date.now() + 10_000;
    while (checks().length < 6 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const times = checks().map((seen) => seen.at);
    expect(times.length).toBeGreaterThanOrEqual(6);
    const gaps = times.slice(1).map((time, i) => time - (times[i] ?? time));
    // The median, so that one check delayed by a busy machine does not decide.
    const median = gaps.sort((a, b) => a - b)[Math.floor(gaps.length / 2)];
    expect(median).toBeGreaterThan(200);
    expect(median).toBeLessThan(1000);
  });

  it("serves HTTPS with the relation's certificate and redirects plain HTTP when asked", async () => {
    const { csr, key } = makeCsrWithKey("shop.example.com");
    const certificate = ca.sign(csr);
    await serve(
      { external_hostname: "shop.example.com" },
      [ingressApp("ingress:1", "api", [api], { "redirect-https": true })],
      { relationCertificatePem: certificate + ca.certificate + key },
    );
    const secure = await httpsGet(httpsPort, "/test-api/x", "shop.example.com", ca.certificate);
    expect(secure).toMatchObject({ status: 200, body: "api/0 /test-api/x" });
    expect(api.seen.at(-1)?.headers["x-forwarded-proto"]).toBe("https");
    const plain = await get(httpPort, "/test-api/x?y=1", "shop.example.com");
    expect(plain.status).toBe(308);
    expect(plain.headers.location).toBe("https://shop.example.com/test-api/x?y=1");
  });

  it("tells browsers to come back over HTTPS only with enable_hsts, and only over HTTPS", async () => {
    const { csr, key } = makeCsrWithKey("shop.example.com");
    const pem = ca.sign(csr) + ca.certificate + key;
    const apps = [ingressApp("ingress:1", "api", [api])];
    await serve({ external_hostname: "shop.example.com", enable_hsts: true }, apps, {
      relationCertificatePem: pem,
    });
    const secure = await httpsGet(httpsPort, "/test-api/x", "shop.example.com", ca.certificate);
    expect(secure.status).toBe(200);
    expect(secure.headers["strict-transport-security"]).toBe("max-age=31536000");
    const plain = await get(httpPort, "/test-api/x", "shop.example.com");
    expect(plain.status).toBe(200);
    expect(plain.headers["strict-transport-security"]).toBeUndefined();
    await served?.stop();
    await serve({ external_hostname: "shop.example.com" }, apps, { relationCertificatePem: pem });
    const without = await httpsGet(httpsPort, "/test-api/x", "shop.example.com", ca.certificate);
    expect(without.headers["strict-transport-security"]).toBeUndefined();
  });
});
