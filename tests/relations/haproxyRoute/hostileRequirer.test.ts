// An application related on haproxy-route that means harm, against a real
// haproxy (2.6 and 3.0) serving what the planner makes of its data: rewrites
// that would read a file or haproxy's environment, backends on haproxy's own
// loopback or link-local addresses, backend names haproxy already uses, paths
// and hostnames that would add a rule or a map line. Each is left out with
// the field named, and the well-behaved application beside it is served.
import { readFile } from "node:fs/promises";
import { type IncomingHttpHeaders, type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import type { HookInputs, RemoteApp, RemoteUnit } from "../../../src/juju/hookInputs.js";
import type { Plan } from "../../../src/plan/planConfiguration.js";
import { routeMapPath } from "../../../src/relations/haproxyRoute/haproxyRoutePlacement.js";
import { haproxyVersions } from "../../helpers/haproxyVersions.js";
import { httpAsk } from "../../helpers/httpBackends.js";
import { findFreePort } from "../../helpers/haproxyProcess.js";
import { type PlanOnHaproxy, runPlanOnHaproxy } from "../../helpers/planOnHaproxy.js";

/** An HTTP server that answers with its name and the path, and keeps what it was sent. */
interface Upstream {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly requests: { url: string; headers: IncomingHttpHeaders }[];
  close(): Promise<void>;
}

async function startUpstream(name: string, host: string): Promise<Upstream> {
  const requests: Upstream["requests"] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ url: req.url ?? "", headers: req.headers });
    res.writeHead(200, { "content-type": "text/plain", connection: "close" });
    res.end(`${name} ${req.url ?? ""}`);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    name,
    host,
    port: (server.address() as AddressInfo).port,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

// haproxy's own address, where the requirers' units live too (a co-located application is
// reached there, as the policy allows); 127.0.0.1 is a loopback-only service of the machine.
const OWN_ADDRESS = "127.0.0.2";

interface Requirer {
  readonly app: RemoteApp;
  readonly units: RemoteUnit[];
}

/** An application's bags as its library writes them: every value JSON. */
function requirer(
  relation: number,
  name: string,
  fields: Record<string, unknown>,
  addresses: readonly string[] = [OWN_ADDRESS],
): Requirer {
  const relationId = `haproxy-route:${relation}`;
  return {
    app: {
      relationId,
      app: name,
      settings: Object.fromEntries(
        Object.entries({ service: name, ports: [evil().port], allow_http: true, ...fields }).map(
          ([key, value]) => [key, JSON.stringify(value)],
        ),
      ),
    },
    units: addresses.map((address, i) => ({
      relationId,
      unit: `${name}/${i}`,
      settings: { address: JSON.stringify(address) },
    })),
  };
}

let good: Upstream;
let evilUpstream: Upstream;
let secret: Upstream;
let web: Upstream;
let docs: Upstream;
const evil = () => evilUpstream;

/** The well-behaved application, related first. */
const goodApp = (): Requirer =>
  requirer(1, "good", { hostname: "good.example.com", ports: [good.port] });

let running: PlanOnHaproxy | undefined;
let httpPort: number;

beforeAll(async () => {
  good = await startUpstream("good", OWN_ADDRESS);
  evilUpstream = await startUpstream("evil", OWN_ADDRESS);
  web = await startUpstream("web", OWN_ADDRESS);
  docs = await startUpstream("docs", OWN_ADDRESS);
  secret = await startUpstream("secret", "127.0.0.1");
});

afterAll(async () => {
  await Promise.all([good, evilUpstream, web, docs, secret].map((upstream) => upstream.close()));
});

afterEach(async () => {
  await running?.stop();
  running = undefined;
  for (const upstream of [good, evilUpstream, web, docs, secret]) upstream.requests.length = 0;
});

/**
 * Plans, renders and runs haproxy: port 80 moved to a free port, every
 * listener on loopback. The relation-data policy is the charm's default
 * (untrusted) unless `config` says otherwise.
 */
async function serve(
  binary: string,
  requirers: readonly Requirer[],
  config: Record<string, unknown> = {},
  extra: Partial<HookInputs> = {},
): Promise<{ plan: Plan; text: string; map: string }> {
  running = await runPlanOnHaproxy(
    {
      privateAddress: OWN_ADDRESS,
      publicAddress: OWN_ADDRESS,
      config: { services: "", ...config },
      haproxyRouteApps: requirers.map((entry) => entry.app),
      haproxyRouteUnits: requirers.flatMap((entry) => entry.units),
      ...extra,
    },
    { haproxyBinary: binary },
  );
  httpPort = running.httpPort;
  const map = await readFile(routeMapPath(running.paths.haproxyLib), "utf8").catch(() => "");
  return { plan: running.plan, text: running.text, map };
}

const get = (urlPath: string, host: string, port = httpPort) => httpAsk(port, urlPath, { host });

/** The reason each application was left out for, by name; invalid data only. */
function leftOut(plan: Plan): Record<string, string> {
  for (const skip of plan.skippedRouteApps) expect(skip.invalid, skip.reason).toBe(true);
  return Object.fromEntries(plan.skippedRouteApps.map((skip) => [skip.app, skip.reason]));
}

const served = (plan: Plan) => plan.haproxyRoutes.map((request) => request.app).sort();

describe.each(haproxyVersions)(
  "a hostile haproxy-route requirer, haproxy $version",
  ({ binary }) => {
    it("cannot rewrite with a sample that reads a file or the environment, or that haproxy would refuse", async () => {
      const rewrite = (relation: number, name: string, rule: Record<string, string>) =>
        requirer(relation, name, { hostname: `${name}.example.com`, rewrites: [rule] });
      const { plan, text } = await serve(binary, [
        goodApp(),
        rewrite(2, "env", { method: "set-header", header: "X-Leak", expression: "%[env(HOME)]" }),
        rewrite(3, "map", { method: "set-path", expression: "%[path,map(/etc/passwd)]" }),
        rewrite(4, "jwt", {
          method: "set-header",
          header: "X-Key",
          expression: "%[req.hdr(authorization),jwt_verify(RS256,/etc/ssl/private/haproxy.pem)]",
        }),
        rewrite(5, "lffile", { method: "set-path", expression: "%[lf-file]" }),
        rewrite(6, "lua", { method: "set-query", expression: "%[src,lua.leak]" }),
        // Neither reads anything, but haproxy would refuse the whole configuration.
        rewrite(7, "unknown", { method: "set-path", expression: "/%[nosuch]" }),
        rewrite(8, "table", { method: "set-path", expression: "%[src,table_http_req_rate(good)]" }),
        rewrite(9, "percent", { method: "set-path", expression: "/a%zz" }),
      ]);
      const reasons = leftOut(plan);
      expect(Object.keys(reasons).sort()).toEqual(
        ["env", "jwt", "lffile", "lua", "map", "percent", "table", "unknown"].sort(),
      );
      for (const reason of Object.values(reasons)) {
        expect(reason).toMatch(/^rewrites\[0\]\.expression: /);
      }
      expect(served(plan)).toEqual(["good"]);
      expect(text).not.toMatch(/env\(|map\(|jwt_verify|lf-file|lua\.|nosuch|table_http/);

      expect((await get("/x", "good.example.com")).body).toBe("good /x");
      expect((await get("/x", "env.example.com")).status).toBe(503);
      expect(evil().requests).toEqual([]);
    });

    it("accepts a rewrite of the samples it allows, and haproxy runs it", async () => {
      const { plan } = await serve(binary, [
        goodApp(),
        requirer(2, "rewritten", {
          hostname: "rewritten.example.com",
          rewrites: [
            { method: "set-path", expression: "/v2%[path,regsub(^/api/,/),lower]" },
            { method: "set-header", header: "X-Route", expression: "%[req.hdr(host),field(1,.)]" },
          ],
        }),
      ]);
      expect(served(plan)).toEqual(["good", "rewritten"]);
      expect((await get("/api/Items", "rewritten.example.com")).body).toBe("evil /v2/items");
      expect(evil().requests[0]?.headers["x-route"]).toBe("rewritten");
    });

    it("cannot send traffic to haproxy's own loopback or to a link-local address", async () => {
      const { plan } = await serve(binary, [
        goodApp(),
        requirer(2, "hosts", {
          hostname: "hosts.example.com",
          hosts: ["127.0.0.1"],
          ports: [secret.port],
        }),
        requirer(3, "unit", { hostname: "unit.example.com", ports: [secret.port] }, ["127.0.0.1"]),
        requirer(4, "mapped", {
          hostname: "mapped.example.com",
          hosts: ["::ffff:127.0.0.1"],
          ports: [secret.port],
        }),
        requirer(5, "metadata", { hostname: "metadata.example.com", ports: [80] }, [
          "169.254.169.254",
        ]),
      ]);
      expect(leftOut(plan)).toEqual({
        hosts: expect.stringMatching(/^hosts\[0\]: "127\.0\.0\.1" is a loopback address/),
        unit: expect.stringMatching(/^unit\/0\.address: "127\.0\.0\.1" is a loopback address/),
        mapped: expect.stringMatching(/^hosts\[0\]: .* loopback/),
        metadata: expect.stringMatching(/^metadata\/0\.address: .* link-local/),
      });
      expect(served(plan)).toEqual(["good"]);
      for (const host of ["hosts", "unit", "mapped", "metadata"]) {
        expect((await get("/", `${host}.example.com`)).status).toBe(503);
      }
      expect((await get("/", "good.example.com")).body).toBe("good /");
      expect(secret.requests).toEqual([]);
    });

    it("serves the same loopback backends once the operator trusts relation data", async () => {
      const { plan } = await serve(
        binary,
        [
          goodApp(),
          requirer(2, "hosts", {
            hostname: "hosts.example.com",
            hosts: ["127.0.0.1"],
            ports: [secret.port],
          }),
          requirer(3, "unit", { hostname: "unit.example.com", ports: [secret.port] }, [
            "127.0.0.1",
          ]),
        ],
        { trust_relation_data: true },
      );
      expect(served(plan)).toEqual(["good", "hosts", "unit"]);
      expect((await get("/a", "hosts.example.com")).body).toBe("secret /a");
      expect((await get("/b", "unit.example.com")).body).toBe("secret /b");
      expect(secret.requests.map((request) => request.url)).toEqual(["/a", "/b"]);
    });

    it("cannot take the name of a backend haproxy already has; that backend keeps serving", async () => {
      const monitoringPort = await findFreePort();
      const webPort = await findFreePort();
      const { plan, text } = await serve(
        binary,
        [
          goodApp(),
          requirer(2, "monitoring", { service: "haproxy_monitoring", hostname: "mon.example.com" }),
          requirer(3, "classic", { service: "web", hostname: "web.example.com" }),
          requirer(4, "ingress", { service: "m-docs", hostname: "docs.example.com" }),
        ],
        {
          enable_monitoring: true,
          monitoring_port: monitoringPort,
          services: `- {service_name: web, service_host: 0.0.0.0, service_port: ${webPort}, service_options: [mode http], servers: [[web-0, ${web.host}, ${web.port}]]}`,
        },
        {
          ingressApps: [
            {
              relationId: "ingress:9",
              app: "docs",
              settings: { model: '"m"', name: '"docs"', port: String(docs.port) },
            },
          ],
          ingressUnits: [
            {
              relationId: "ingress:9",
              unit: "docs/0",
              settings: { host: JSON.stringify(docs.host) },
            },
          ],
        },
      );
      const reasons = leftOut(plan);
      expect(Object.keys(reasons).sort()).toEqual(["classic", "ingress", "monitoring"]);
      for (const reason of Object.values(reasons)) expect(reason).toMatch(/^service: /);
      expect(served(plan)).toEqual(["good"]);
      for (const name of ["haproxy_monitoring", "web", "m-docs"]) {
        expect(text.split("\n").filter((line) => line === `backend ${name}`)).toHaveLength(1);
      }

      // The monitoring page stays on its own port behind its own checks, not on port 80.
      expect((await get("/", "mon.example.com")).status).toBe(503);
      expect((await get("/", "localhost", monitoringPort)).status).toBe(401);
      expect((await get("/", "web.example.com")).status).toBe(503);
      expect((await get("/x", "web.example.com", webPort)).body).toBe("web /x");
      expect((await get("/m-docs/x", "docs.example.com")).body).toBe("docs /m-docs/x");
      expect((await get("/", "good.example.com")).body).toBe("good /");
      expect(evil().requests).toEqual([]);
    });

    it("cannot add a rule or a map line through a path or a hostname", async () => {
      const { plan, map } = await serve(binary, [
        goodApp(),
        requirer(2, "newline", { hostname: "a.example.com", paths: ["/a\n/b evil"] }),
        requirer(3, "space", { hostname: "b.example.com", paths: ["/a evil"] }),
        requirer(4, "condition", { hostname: "c.example.com", deny_paths: ["/x if TRUE"] }),
        requirer(5, "comment", { hostname: "d.example.com", paths: ["/a#x"] }),
        requirer(6, "hostline", { hostname: "e.example.com\ngood.example.com/ evil" }),
        requirer(7, "hostspace", { hostname: "f.example.com evil" }),
        requirer(8, "additional", {
          hostname: "g.example.com",
          additional_hostnames: ["h.example.com\n/ evil"],
        }),
        requirer(9, "checkpath", {
          hostname: "i.example.com",
          check: { interval: 5, rise: 2, fall: 3, path: "/health if TRUE" },
        }),
      ]);
      expect(leftOut(plan)).toEqual({
        newline: expect.stringMatching(/^paths\[0\]: /),
        space: expect.stringMatching(/^paths\[0\]: /),
        condition: expect.stringMatching(/^deny_paths\[0\]: /),
        comment: expect.stringMatching(/^paths\[0\]: /),
        hostline: expect.stringMatching(/^hostname: /),
        hostspace: expect.stringMatching(/^hostname: /),
        additional: expect.stringMatching(/^additional_hostnames\[0\]: /),
        checkpath: expect.stringMatching(/^check\.path: /),
      });
      expect(map).toBe("good.example.com/ good\n");
      for (const host of ["a", "b", "c", "d", "e", "f", "g", "h", "i"]) {
        expect((await get("/a", `${host}.example.com`)).status).toBe(503);
      }
      expect((await get("/b", "good.example.com")).body).toBe("good /b");
      expect(evil().requests).toEqual([]);
    });

    it("cannot make haproxy refuse the configuration with more deny_paths than a line holds", async () => {
      const many = Array.from({ length: 200 }, (_, i) => `/d${i}`);
      const { plan } = await serve(binary, [
        goodApp(),
        requirer(2, "many", { hostname: "many.example.com", deny_paths: many }),
      ]);
      expect(served(plan)).toEqual(["good", "many"]);
      expect((await get("/d0", "many.example.com")).status).toBe(403);
      expect((await get("/d199/x", "many.example.com")).status).toBe(403);
      expect((await get("/x", "many.example.com")).body).toBe("evil /x");
      expect((await get("/d0", "good.example.com")).body).toBe("good /d0");
    });

    it("takes % and encoded paths only as haproxy loads them, touching no other application", async () => {
      const { plan } = await serve(binary, [
        goodApp(),
        requirer(2, "encoded", {
          hostname: "encoded.example.com",
          paths: ["/%2e%2e", "/%", "/%zz", "/a%20b", "/%25"],
          deny_paths: ["/%61dmin", "/%2e%2e/secret", "/%%"],
        }),
      ]);
      // Every one is a word haproxy takes as it is: the configuration loads (serve started
      // haproxy) and the application is served.
      expect(served(plan)).toEqual(["encoded", "good"]);
      for (const urlPath of ["/%61dmin", "/admin", "/%2e%2e/secret", "/%25", "/a%20b"]) {
        expect((await get(urlPath, "good.example.com")).body).toBe(`good ${urlPath}`);
      }
      // Paths are compared as the client sent them, never decoded.
      expect((await get("/a%20b/x", "encoded.example.com")).body).toBe("evil /a%20b/x");
      expect((await get("/%2e%2e/secret", "encoded.example.com")).status).toBe(403);
      expect((await get("/%61dmin", "encoded.example.com")).status).toBe(403);
      expect((await get("/admin", "encoded.example.com")).status).toBe(503);
    });
  },
);
