// apache2 on both sides of haproxy, against the packed charm with real traffic:
// - behind it (reverseproxy): every apache2 unit publishes the same
//   `all_services`, and haproxy reaches each unit on each service's port;
// - in front of it (website): a front end that says `is-proxy` gets
//   `option forwardfor` on the services it is served, until it leaves.

import yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

import { LocalModel } from "../localJuju/model.js";
import { type PackedCharm, packCharm } from "./packedCharm.js";
import { answeringUnits } from "./traffic.js";

// Every step runs real hooks and haproxy reloads: allow for a busy machine.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

let charm: PackedCharm;
let model: LocalModel;
let haproxy: string;
const apache2Units = ["apache2/0", "apache2/1"];

// The services as haproxy described them to apache2: the same from every unit.
const allServices = yaml.dump([
  {
    service_name: "site",
    service_host: "0.0.0.0",
    service_port: 8081,
    service_options: ["balance roundrobin"],
    servers: [
      ["site-0-80", "10.99.0.1", "80", "check"],
      ["site-1-80", "10.99.0.2", "80", "check"],
    ],
  },
  {
    service_name: "api",
    service_host: "0.0.0.0",
    service_port: 8082,
    service_options: ["balance roundrobin"],
    servers: [["api-0-9000", "10.99.0.3", "9000", "check"]],
  },
]);

const haproxyConfig = () => model.readFile("haproxy/0", "/etc/haproxy/haproxy.cfg");

/** The options of `backend <name>` in haproxy.cfg. */
function backendLines(config: string, name: string): string[] {
  const section = config.split(/\n(?=\S)/).find((block) => block.startsWith(`backend ${name}\n`));
  return (section ?? "").split("\n").slice(1);
}

beforeAll(async () => {
  charm = packCharm();
  model = await LocalModel.create({ name: "apache2-units" });
  await model.deploy(charm.file);
  haproxy = model.requireUnit("haproxy/0").machine.address;

  await model.deployScripted("apache2", {
    units: 2,
    endpoints: { website: { interface: "http", role: "provides" } },
    unitSettings: () => ({ all_services: allServices }),
  });
  for (const unit of apache2Units) {
    await model.serveHttp(unit, 8081, `${unit} site`);
    await model.serveHttp(unit, 8082, `${unit} api`);
  }
  await model.integrate("apache2:website", "haproxy:reverseproxy");
});

afterAll(() => {
  model?.destroy();
  charm?.cleanup();
});

describe("apache2 units publishing all_services", () => {
  it("reaches every unit on each service's port, ignoring none", async () => {
    expect(await answeringUnits(model, `http://${haproxy}:8081/`)).toEqual([
      "apache2/0 site",
      "apache2/1 site",
    ]);
    expect(await answeringUnits(model, `http://${haproxy}:8082/`)).toEqual([
      "apache2/0 api",
      "apache2/1 api",
    ]);
    expect(model.requireUnit("haproxy/0").agent).toBe("idle");
    expect(model.status().applications.flatMap((app) => app.units)).toContainEqual(
      expect.objectContaining({ name: "haproxy/0", workload: "active", message: "Unit is ready" }),
    );
  });

  it("names each unit's servers after the unit", async () => {
    const address = (unit: string) => model.requireUnit(unit).machine.address;
    const servers = backendLines(await haproxyConfig(), "site").filter((line) =>
      line.trimStart().startsWith("server "),
    );
    expect(servers.map((line) => line.trim())).toEqual([
      `server apache2-0-site-0-80 ${address("apache2/0")}:8081 check`,
      `server apache2-0-site-1-80 ${address("apache2/0")}:8081 check`,
      `server apache2-1-site-0-80 ${address("apache2/1")}:8081 check`,
      `server apache2-1-site-1-80 ${address("apache2/1")}:8081 check`,
    ]);
  });
});

describe("a proxy front end on the website relation", () => {
  let relationId: number;

  it("gets option forwardfor on every service it is served", async () => {
    await model.deployScripted("squid", {
      units: 1,
      endpoints: { reverseproxy: { interface: "http", role: "requires" } },
      unitSettings: () => ({ "is-proxy": "true" }),
    });
    relationId = await model.integrate("squid:reverseproxy", "haproxy:website");
    expect(model.requireUnit("haproxy/0").agent).toBe("idle");
    const config = await haproxyConfig();
    for (const name of ["site", "api"]) {
      expect(backendLines(config, name)).toContain("    option forwardfor");
    }
    expect(await answeringUnits(model, `http://${haproxy}:8081/`)).toEqual([
      "apache2/0 site",
      "apache2/1 site",
    ]);
  });

  it("takes it away again when the front end leaves", async () => {
    await model.removeRelation(relationId);
    expect(model.requireUnit("haproxy/0").agent).toBe("idle");
    expect(await haproxyConfig()).not.toContain("forwardfor");
  });
});
