// A front end (apache2, squid) that says `is-proxy` on the website relation,
// through the hooks: a real haproxy (its configuration checked by haproxy -c
// on every apply) in front of a real backend that reports the
// X-Forwarded-For it receives.
import { type Server, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";

import yaml from "js-yaml";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { findFreePort } from "../helpers/haproxyProcess.js";
import { MemoryHookTools } from "../helpers/memoryHookTools.js";
import { type UnitSandbox, createUnitSandbox } from "../helpers/unitSandbox.js";

let backend: Server;
let backendPort: number;
let sandbox: UnitSandbox;
let tools: MemoryHookTools;
let shopPort: number;
let blogPort: number;

const WEBSITE = "website:3";
const FRONT_END = "apache2/0";

/** What the backend saw in X-Forwarded-For on a request to haproxy's `port`, or "none". */
function forwardedFor(port: number, sent?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: "/",
        agent: false,
        headers: { connection: "close", ...(sent !== undefined && { "x-forwarded-for": sent }) },
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () =>
          res.statusCode === 200 ? resolve(body) : reject(new Error(`status ${res.statusCode}`)),
        );
      },
    );
    req.setTimeout(5000, () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
    req.end();
  });
}

const websiteHook = (kind: "changed" | "departed") =>
  sandbox.hook(`website-relation-${kind}`, {
    JUJU_RELATION_ID: WEBSITE,
    JUJU_REMOTE_UNIT: FRONT_END,
    JUJU_REMOTE_APP: "apache2",
    ...(kind === "departed" && { JUJU_DEPARTING_UNIT: FRONT_END }),
  });

beforeAll(async () => {
  backend = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { "content-type": "text/plain", connection: "close" });
    res.end(req.headers["x-forwarded-for"] ?? "none");
  });
  await new Promise<void>((resolve) => backend.listen(0, "127.0.0.1", resolve));
  backendPort = (backend.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => backend.close(() => resolve())));

beforeEach(async () => {
  shopPort = await findFreePort();
  blogPort = await findFreePort();
  tools = new MemoryHookTools();
  tools.config = {
    services: yaml.dump([
      { service_name: "shop", service_host: "127.0.0.1", service_port: shopPort },
      { service_name: "blog", service_host: "127.0.0.1", service_port: blogPort },
    ]),
  };
  for (const name of ["shop", "blog"]) {
    tools.addUnit("reverseproxy:1", `${name}/0`, {
      "private-address": "127.0.0.1",
      port: String(backendPort),
      service_name: name,
    });
  }
  sandbox = await createUnitSandbox(tools, { probePorts: [shopPort, blogPort] });
  await sandbox.hook("config-changed");
  expect(tools.status).toEqual({ status: "active", message: "Unit is ready" });
});
afterEach(() => sandbox.cleanup());

describe("a proxy front end on the website relation", () => {
  it("has haproxy forward the client's address on every service it is served, until it leaves", async () => {
    expect(await forwardedFor(shopPort)).toBe("none");

    tools.addUnit(WEBSITE, FRONT_END, { "private-address": "127.0.0.9", "is-proxy": "true" });
    await websiteHook("changed");
    expect(tools.status).toEqual({ status: "active", message: "Unit is ready" });
    expect(await forwardedFor(shopPort)).toBe("127.0.0.1");
    expect(await forwardedFor(blogPort)).toBe("127.0.0.1");
    // The front end's own header is kept: the backend sees the whole chain.
    expect(await forwardedFor(shopPort, "198.51.100.7")).toBe("198.51.100.7, 127.0.0.1");

    tools.removeUnit(WEBSITE, FRONT_END);
    await websiteHook("departed");
    expect(await forwardedFor(shopPort)).toBe("none");
    expect(await forwardedFor(blogPort)).toBe("none");
  });

  it("forwards only on the service a front end names in service_name", async () => {
    tools.addUnit(WEBSITE, FRONT_END, {
      "private-address": "127.0.0.9",
      "is-proxy": "true",
      service_name: "blog",
    });
    await websiteHook("changed");
    expect(await forwardedFor(blogPort)).toBe("127.0.0.1");
    expect(await forwardedFor(shopPort)).toBe("none");
  });

  it("changes nothing for a front end that is not a proxy", async () => {
    tools.addUnit(WEBSITE, FRONT_END, { "private-address": "127.0.0.9" });
    await websiteHook("changed");
    expect(await forwardedFor(shopPort)).toBe("none");
    expect(await forwardedFor(blogPort)).toBe("none");
  });
});
