// haproxy-route applications as haproxy serves them: the planner's
// configuration run by a real haproxy (2.6 and 3.0; ports 80 and 443 moved to
// free loopback ports), real HTTP servers standing for the requirers' units,
// real HTTP and TLS clients sending the Host header and SNI a browser would.
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import type { HookInputs, RemoteApp, RemoteUnit } from "../../../src/juju/hookInputs.js";
import type { Plan } from "../../../src/plan/planConfiguration.js";
import { haproxyVersions } from "../../helpers/haproxyVersions.js";
import { httpAsk } from "../../helpers/httpBackends.js";
import { type PlanOnHaproxy, runPlanOnHaproxy } from "../../helpers/planOnHaproxy.js";
import { TestCa, makeCsrWithKey } from "../../helpers/testCa.js";

/** A requirer unit: answers with its name and the path it was asked for. */
interface Upstream {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

async function startUpstream(name: string, host: string, port = 0): Promise<Upstream> {
  const server: Server = createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/plain", connection: "close" });
    res.end(`${name} ${req.url ?? ""}`);
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return {
    name,
    host,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

interface Requirer {
  readonly app: RemoteApp;
  readonly units: RemoteUnit[];
}

/** An application's bags as its library writes them: every value JSON. */
function requirer(
  relationId: string,
  name: string,
  upstreams: readonly Upstream[],
  fields: Record<string, unknown>,
): Requirer {
  return {
    app: {
      relationId,
      app: name,
      settings: Object.fromEntries(
        Object.entries({ service: name, ports: [upstreams[0]?.port ?? 1], ...fields }).map(
          ([key, value]) => [key, JSON.stringify(value)],
        ),
      ),
    },
    units: upstreams.map((upstream, i) => ({
      relationId,
      unit: `${name}/${i}`,
      settings: { address: JSON.stringify(upstream.host) },
    })),
  };
}

const upstreams: Record<string, Upstream> = {};
let ca: TestCa;
let served: PlanOnHaproxy | undefined;
let httpPort: number;
let httpsPort: number;

beforeAll(async () => {
  // Each application's units on their own loopback address, so that answers name who served.
  const names = ["shop", "api", "apiV2", "wild", "docs", "web", "other"];
  for (const [i, name] of names.entries()) {
    upstreams[name] = await startUpstream(name, `127.0.0.${i + 2}`);
  }
  ca = TestCa.create();
});

afterAll(async () => {
  await Promise.all(Object.values(upstreams).map((upstream) => upstream.close()));
  ca.cleanup();
});

afterEach(async () => {
  await served?.stop();
  served = undefined;
});

const up = (name: string): Upstream => upstreams[name] as Upstream;

/** Plans, renders and runs haproxy with 80 and 443 moved to free loopback ports. */
async function serve(
  binary: string,
  config: Record<string, unknown>,
  requirers: readonly Requirer[],
  extra: Partial<HookInputs> = {},
): Promise<{ plan: Plan; text: string }> {
  served = await runPlanOnHaproxy(
    {
      // Loopback upstreams: routing, not the relation data policy, is what these tests are about.
      config: { services: "", trust_relation_data: true, ...config },
      haproxyRouteApps: requirers.map((entry) => entry.app),
      haproxyRouteUnits: requirers.flatMap((entry) => entry.units),
      ...extra,
    },
    { haproxyBinary: binary },
  );
  ({ httpPort, httpsPort } = served);
  return served;
}

const get = (urlPath: string, host: string) => httpAsk(httpPort, urlPath, { host });
const httpsGet = (urlPath: string, host: string) =>
  httpAsk(httpsPort, urlPath, { host, tls: { servername: host, ca: ca.certificate } });

describe.each(haproxyVersions)("haproxy-route through a real haproxy $version", ({ binary }) => {
  it("routes by hostname (without its port, any case) and by path, the deepest path first", async () => {
    await serve(binary, {}, [
      requirer("haproxy-route:1", "shop", [up("shop")], {
        hostname: "shop.example.com",
        additional_hostnames: ["www.shop.example.com"],
        allow_http: true,
      }),
      requirer("haproxy-route:2", "api", [up("api")], {
        hostname: "api.example.com",
        paths: ["/v1"],
        allow_http: true,
      }),
      requirer("haproxy-route:3", "apiV2", [up("apiV2")], {
        service: "api-v2",
        hostname: "api.example.com",
        paths: ["/v1/beta", "/v2"],
        allow_http: true,
      }),
    ]);
    expect((await get("/cart", "shop.example.com")).body).toBe("shop /cart");
    expect((await get("/cart", "SHOP.Example.com:80")).body).toBe("shop /cart");
    expect((await get("/", "www.shop.example.com")).body).toBe("shop /");
    expect((await get("/v1/items", "api.example.com")).body).toBe("api /v1/items");
    expect((await get("/v1/beta/x", "api.example.com")).body).toBe("apiV2 /v1/beta/x");
    expect((await get("/v2", "api.example.com")).body).toBe("apiV2 /v2");
    // Neither a path nobody routes, nor another hostname, nor a hostname that merely starts alike.
    expect((await get("/v3", "api.example.com")).status).toBe(503);
    expect((await get("/cart", "other.example.com")).status).toBe(503);
    expect((await get("/cart", "shop.example.com.evil")).status).toBe(503);
  });

  it("matches a wildcard hostname for any one label, after the exact hostnames", async () => {
    await serve(binary, {}, [
      requirer("haproxy-route:1", "wild", [up("wild")], {
        hostname: "*.apps.example.com",
        allow_http: true,
      }),
      requirer("haproxy-route:2", "docs", [up("docs")], {
        hostname: "docs.apps.example.com",
        allow_http: true,
      }),
    ]);
    expect((await get("/x", "blog.apps.example.com")).body).toBe("wild /x");
    expect((await get("/x", "Blog.Apps.Example.com:8080")).body).toBe("wild /x");
    expect((await get("/x", "docs.apps.example.com")).body).toBe("docs /x");
    expect((await get("/x", "apps.example.com")).status).toBe(503);
  });

  it("redirects plain HTTP to HTTPS unless allow_http, and serves each hostname its own certificate", async () => {
    const pems: Record<string, string> = {};
    for (const host of ["shop.example.com", "api.example.com"]) {
      const { csr, key } = makeCsrWithKey(host);
      pems[host] = ca.sign(csr) + ca.certificate + key;
    }
    await serve(
      binary,
      {},
      [
        requirer("haproxy-route:1", "shop", [up("shop")], { hostname: "shop.example.com" }),
        requirer("haproxy-route:2", "api", [up("api")], {
          hostname: "api.example.com",
          allow_http: true,
        }),
      ],
      { hostnameCertificates: pems },
    );
    const plain = await get("/cart?x=1", "shop.example.com");
    expect(plain.status).toBe(302);
    expect(plain.headers.location).toBe("https://shop.example.com/cart?x=1");
    expect((await get("/v1", "api.example.com")).body).toBe("api /v1");
    // Each client gets the certificate for its name (the TLS client checks it against the name).
    expect((await httpsGet("/cart", "shop.example.com")).body).toBe("shop /cart");
    expect((await httpsGet("/v1", "api.example.com")).body).toBe("api /v1");
  });

  it("shares port 80 with a classic service and an ingress route, each keeping what is its own", async () => {
    const web = up("web");
    await serve(
      binary,
      {
        services: `- {service_name: web, service_host: 0.0.0.0, service_port: 80, service_options: [mode http], servers: [[web-0, ${web.host}, ${web.port}, check]]}`,
      },
      [
        requirer("haproxy-route:1", "shop", [up("shop")], {
          hostname: "shop.example.com",
          allow_http: true,
        }),
      ],
      {
        ingressApps: [
          {
            relationId: "ingress:9",
            app: "docs",
            settings: { model: '"m"', name: '"docs"', port: String(up("docs").port) },
          },
        ],
        ingressUnits: [
          {
            relationId: "ingress:9",
            unit: "docs/0",
            settings: { host: JSON.stringify(up("docs").host) },
          },
        ],
      },
    );
    expect((await get("/cart", "shop.example.com")).body).toBe("shop /cart");
    // The ingress route's path comes first, on any hostname.
    expect((await get("/m-docs/a", "shop.example.com")).body).toBe("docs /m-docs/a");
    expect((await get("/anything", "else.example.com")).body).toBe("web /anything");
  });

  it("routes 1,000 hostnames, past haproxy's 64 words a line", async () => {
    const many = Array.from({ length: 1000 }, (_, i) => `h${i}.example.com`);
    const { text } = await serve(binary, {}, [
      requirer("haproxy-route:1", "shop", [up("shop")], {
        hostname: many[0],
        additional_hostnames: many.slice(1, 500),
        allow_http: true,
      }),
      requirer("haproxy-route:2", "api", [up("api")], {
        hostname: many[500],
        additional_hostnames: many.slice(501),
        allow_http: true,
      }),
    ]);
    expect(text).not.toContain("h999.example.com");
    expect((await get("/", "h0.example.com")).body).toBe("shop /");
    expect((await get("/", "h499.example.com")).body).toBe("shop /");
    expect((await get("/", "h500.example.com")).body).toBe("api /");
    expect((await get("/", "h999.example.com")).body).toBe("api /");
  });

  it("leaves out both applications that claim the same hostname and path, and serves the rest", async () => {
    const { plan } = await serve(binary, {}, [
      requirer("haproxy-route:1", "shop", [up("shop")], {
        hostname: "same.example.com",
        allow_http: true,
      }),
      requirer("haproxy-route:2", "other", [up("other")], {
        hostname: "same.example.com",
        allow_http: true,
      }),
      requirer("haproxy-route:3", "api", [up("api")], {
        hostname: "api.example.com",
        allow_http: true,
      }),
    ]);
    expect(plan.skippedRouteApps.map((app) => app.app).sort()).toEqual(["other", "shop"]);
    expect((await get("/", "same.example.com")).status).toBe(503);
    expect((await get("/", "api.example.com")).body).toBe("api /");
  });
});
