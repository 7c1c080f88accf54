// The README's two ways for a web application to describe itself on the
// reverseproxy relation, against the packed charm with real traffic:
// - service_name: the unit names a service the operator defined in `services`;
// - relation-driven: the unit sends its own `services`, here the README's
//   `acl foo path_beg -i /foo` + `use_backend foo if foo` example.

import yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { LocalModel } from "../localJuju/model.js";
import type { PackedCharm } from "./packedCharm.js";
import { packCharm } from "./packedCharm.js";
import { answeringUnits } from "./traffic.js";

// Every step runs real hooks and haproxy reloads: allow for a busy machine.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

let charm: PackedCharm;
let model: LocalModel;
let haproxy: string;

const operatorServices = yaml.dump([
  {
    service_name: "shop_api",
    service_host: "0.0.0.0",
    service_port: 8080,
    service_options: ["balance roundrobin"],
    server_options: ["check inter 2000"],
  },
]);

/** What the README's website-relation-changed hook sets, for one unit. */
function relationDrivenServices(unit: string, host: string): string {
  const index = unit.split("/")[1];
  return `- { service_name: my_web_app,
    service_port: 80,
    service_options: [mode http, balance leastconn, acl foo path_beg -i /foo, use_backend foo if foo],
    servers: [[my_web_app_${index}, ${host}, 8000, check]],
    backends: [{ backend_name: foo, servers: [[my_web_app_foo_${index}, ${host}, 8001, check]] }] }
`;
}

beforeAll(async () => {
  charm = packCharm();
  model = await LocalModel.create({ name: "service-forms" });
  await model.deploy(charm.file, { config: { services: operatorServices } });
  haproxy = model.requireUnit("haproxy/0").machine.address;

  await model.deployScripted("api", {
    units: 2,
    endpoints: { website: { interface: "http", role: "provides" } },
    unitSettings: (unit) => ({ hostname: unit.address, port: "80", service_name: "shop_api" }),
    httpPort: 80,
  });
  await model.integrate("api:website", "haproxy:reverseproxy");

  await model.deployScripted("shop", {
    units: 2,
    endpoints: { website: { interface: "http", role: "provides" } },
    unitSettings: (unit) => ({ services: relationDrivenServices(unit.name, unit.address) }),
  });
  for (const unit of ["shop/0", "shop/1"]) {
    await model.serveHttp(unit, 8000);
    await model.serveHttp(unit, 8001, `${unit} foo`);
  }
  await model.integrate("shop:website", "haproxy:reverseproxy");
});

afterAll(() => {
  model?.destroy();
  charm?.cleanup();
});

describe("service_name", () => {
  it("puts the units into the operator's service, with its server options", async () => {
    expect(await answeringUnits(model, `http://${haproxy}:8080/`)).toEqual(["api/0", "api/1"]);
    const config = await model.readFile("haproxy/0", "/etc/haproxy/haproxy.cfg");
    expect(config).toMatch(/^backend shop_api$/m);
    expect(config).toContain(`server api-0-80 ${model.requireUnit("api/0").machine.address}:80`);
    expect(config).toMatch(/server api-1-80 \S+ .*check inter 2000/);
  });
});

describe("relation-driven services", () => {
  it("serves the default backend, and /foo from backend foo", async () => {
    expect(model.requireUnit("haproxy/0").agent).toBe("idle");
    expect(await answeringUnits(model, `http://${haproxy}/`)).toEqual(["shop/0", "shop/1"]);
    expect(await answeringUnits(model, `http://${haproxy}/foo/bar`)).toEqual([
      "shop/0 foo",
      "shop/1 foo",
    ]);
  });

  it("drops the services when the relation is removed", async () => {
    await model.removeRelation("shop:website", "haproxy:reverseproxy");
    const config = await model.readFile("haproxy/0", "/etc/haproxy/haproxy.cfg");
    expect(config).not.toContain("my_web_app");
    await expect(model.http(`http://${haproxy}/`)).rejects.toThrow(/curl/);
    // The other application is unaffected.
    expect(await answeringUnits(model, `http://${haproxy}:8080/`, 4)).toEqual(["api/0", "api/1"]);
  });
});
