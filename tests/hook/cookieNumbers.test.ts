// The default service pins a client to a server with `cookie S{i}`: a unit
// leaving must not renumber the others, or their clients lose their server
// (and the changed options would force a reload). Hooks against a real
// haproxy of each version, real backends and a real client.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { type Backend, startBackend } from "../helpers/httpBackends.js";
import { findFreePort } from "../helpers/haproxyProcess.js";
import { haproxyVersions } from "../helpers/haproxyVersions.js";
import { MemoryHookTools } from "../helpers/memoryHookTools.js";
import { type UnitSandbox, createUnitSandbox } from "../helpers/unitSandbox.js";

const RELATION = "reverseproxy:3";

/** The default service's options, on a free port. */
const services = (port: number) =>
  `- service_name: web
  service_host: 127.0.0.1
  service_port: ${port}
  service_options: [balance leastconn, cookie SRVNAME insert]
  server_options: maxconn 100 cookie S{i} check
`;

async function ask(port: number, cookie?: string): Promise<{ body: string; cookie?: string }> {
  const response = await fetch(`http://127.0.0.1:${port}/`, {
    headers: { connection: "close", ...(cookie !== undefined && { cookie }) },
  });
  const setCookie = response.headers.get("set-cookie")?.split(";")[0];
  return { body: await response.text(), ...(setCookie !== undefined && { cookie: setCookie }) };
}

const backends: Backend[] = [];
beforeAll(async () => {
  for (const name of ["web/0", "web/1", "web/2"]) backends.push(await startBackend(name));
});
afterAll(async () => {
  await Promise.all(backends.map((backend) => backend.close()));
});

describe.each(haproxyVersions)("cookies on haproxy $version", ({ binary }) => {
  let sandbox: UnitSandbox;
  let tools: MemoryHookTools;
  let port: number;

  beforeEach(async () => {
    port = await findFreePort();
    tools = new MemoryHookTools();
    tools.config = { services: services(port) };
    sandbox = await createUnitSandbox(tools, { probePorts: [port], haproxyBinary: binary });
    for (const backend of backends) {
      tools.addUnit(RELATION, backend.name, {
        "private-address": "127.0.0.1",
        port: String(backend.port),
      });
    }
  });
  afterEach(() => sandbox.cleanup());

  it("a client pinned to a server stays on it when another unit leaves, without a reload", async () => {
    await sandbox.hook("config-changed");
    // Clients without a cookie are spread over the units; take web/2's.
    let pinned: string | undefined;
    for (let i = 0; i < 30 && pinned === undefined; i++) {
      const answer = await ask(port);
      if (answer.body === "web/2") pinned = answer.cookie;
    }
    expect(pinned).toBe("SRVNAME=S2");
    const reloads = sandbox.haproxy.reloads;

    tools.removeUnit(RELATION, "web/1");
    await sandbox.hook("reverseproxy-relation-departed", {
      JUJU_RELATION_ID: RELATION,
      JUJU_DEPARTING_UNIT: "web/1",
    });

    const answers = await Promise.all(Array.from({ length: 10 }, () => ask(port, pinned)));
    expect(new Set(answers.map((answer) => answer.body))).toEqual(new Set(["web/2"]));
    // Only web/1's server went: the departure took the runtime path.
    expect(sandbox.haproxy.reloads).toBe(reloads);
    expect(tools.status).toEqual({ status: "active", message: "Unit is ready" });
  });
});
