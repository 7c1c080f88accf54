// Issue: several haproxy units. Three units in active-passive mode forward
// through the first working peer, survive its loss and take it back; in
// active-active mode each balances by itself; apache2 on `website` always
// sees the live services. The system's haproxy runs all of it; the other
// versions (haproxyVersions.ts) run what haproxy itself takes part in:
// active-passive failover and the switch to active-active, not the website
// relation's data or haproxy units coming and going.
import yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { haproxyVersions } from "../helpers/haproxyVersions.js";
import { LocalModel } from "../localJuju/model.js";
import { type PackedCharm, packCharm } from "./packedCharm.js";
import { deployMyWebApp } from "./webApp.js";
import { eventually } from "../helpers/eventually.js";
import { answeringUnits } from "./traffic.js";
import { ADMIN_SOCKET, unitHaproxy } from "./unitHaproxy.js";

let charm: PackedCharm;
let model: LocalModel;
const haproxyUnits = ["haproxy/0", "haproxy/1", "haproxy/2"];
// A forwarder's server: checked, and down at the first connection it refuses.
const FORWARDER_CHECKS = "check observe layer4 error-limit 1 on-error mark-down";

const address = (unit: string) => model.requireUnit(unit).machine.address;

/** A backend server's state as that unit's haproxy reports it on its admin socket. */
async function serverState(unit: string, backend: string, server: string): Promise<string> {
  const script = `const s=require("net").connect(${JSON.stringify(ADMIN_SOCKET)});let o="";s.on("data",d=>o+=d);s.on("end",()=>process.stdout.write(o));s.write("show stat\\n");`;
  const result = await model.exec(unit, [process.execPath, "-e", script]);
  const row = result.stdout.split("\n").find((line) => line.startsWith(`${backend},${server},`));
  return row?.split(",")[17] ?? "missing";
}

function unitStatuses(): { name: string; workload: string; agent: string }[] {
  return model.status().applications.flatMap((app) => app.units);
}

/** Every my-web-app unit, by name: all of them must answer through haproxy. */
function webUnits(): string[] {
  return (model.application("my-web-app")?.units ?? []).map((unit) => unit.name).sort();
}

beforeAll(() => {
  charm = packCharm();
});

afterAll(() => {
  charm?.cleanup();
});

for (const [index, { version, binary }] of haproxyVersions.entries()) {
  const everything = index === 0;
  describe(`haproxy ${version}`, () => {
    beforeAll(async () => {
      model = await LocalModel.create({ name: "peering", haproxyBinary: binary });
      await model.deploy(charm.file, { units: 3 });
      await deployMyWebApp(model);
    }, 180_000);

    afterAll(() => {
      model?.destroy();
    });

    it(`runs haproxy ${version} on every unit, for the service and the charm's checks`, async () => {
      for (const unit of haproxyUnits) {
        expect(await unitHaproxy(model, unit)).toEqual({ onPath: version, running: version });
      }
    });

    describe("active-passive (the default)", activePassive);
    describe.runIf(everything)("the website relation", websiteRelation);
    describe("active-active and scaling", () => activeActive(everything));
  });
}

function activePassive(): void {
  it("answers on every unit's port 80, all units active", async () => {
    expect(unitStatuses().filter((u) => u.name.startsWith("haproxy/"))).toEqual(
      haproxyUnits.map((name) =>
        expect.objectContaining({ name, workload: "active", agent: "idle" }),
      ),
    );
    for (const unit of haproxyUnits) {
      expect(await answeringUnits(model, `http://${address(unit)}/`)).toEqual([
        "my-web-app/0",
        "my-web-app/1",
      ]);
    }
  });

  it("forwards port 80 to the first peer's port 81, the others as backup", async () => {
    const config = await model.readFile("haproxy/2", "/etc/haproxy/haproxy.cfg");
    expect(config).toContain(`server haproxy-0 ${address("haproxy/0")}:81 ${FORWARDER_CHECKS}\n`);
    expect(config).toContain(
      `server haproxy-1 ${address("haproxy/1")}:81 ${FORWARDER_CHECKS} backup\n`,
    );
    expect(config).toContain(
      `server haproxy-2 ${address("haproxy/2")}:81 ${FORWARDER_CHECKS} backup\n`,
    );
    expect(config).toContain("backend haproxy_service_be\n");
  });

  it("keeps serving through the next peer when the first one's haproxy stops, and hands back", async () => {
    await model.system("haproxy/0").haproxy.stop();
    for (const unit of ["haproxy/1", "haproxy/2"]) {
      await eventually(async () => {
        expect(await answeringUnits(model, `http://${address(unit)}/`, 4)).toEqual([
          "my-web-app/0",
          "my-web-app/1",
        ]);
      });
    }
    expect(await serverState("haproxy/1", "haproxy_service", "haproxy-0")).toMatch(/^DOWN/);

    await model.system("haproxy/0").haproxy.start();
    await eventually(async () => {
      expect(await serverState("haproxy/1", "haproxy_service", "haproxy-0")).toBe("UP");
    });
    expect(await answeringUnits(model, `http://${address("haproxy/0")}/`)).toEqual([
      "my-web-app/0",
      "my-web-app/1",
    ]);
  });
}

function websiteRelation(): void {
  let relationId: number;
  const published = () => {
    const relation = model.relation(relationId);
    return relation?.unitSettings.get("haproxy/0");
  };

  beforeAll(async () => {
    await model.deployScripted("apache2", {
      units: 1,
      endpoints: { reverseproxy: { interface: "http", role: "requires" } },
    });
    relationId = await model.integrate("apache2:reverseproxy", "haproxy:website");
  }, 60_000);

  it("tells apache2 haproxy's address, port and every service as live in haproxy.cfg", async () => {
    const settings = published();
    expect(settings?.get("hostname")).toBe(address("haproxy/0"));
    expect(settings?.get("port")).toBe("80");
    const services = yaml.load(settings?.get("all_services") ?? "") as {
      service_name: string;
      service_port: number;
    }[];
    const config = await model.readFile("haproxy/0", "/etc/haproxy/haproxy.cfg");
    for (const service of services) {
      expect(config).toContain(`backend ${service.service_name}\n`);
      expect(config).toContain(`bind 0.0.0.0:${service.service_port}\n`);
    }
    expect(services.map((s) => s.service_name).sort()).toEqual([
      "haproxy_service",
      "haproxy_service_be",
    ]);
  });

  it("refreshes apache2's data when a backend unit joins, in the same hook", async () => {
    await model.addUnit("my-web-app");
    const services = yaml.load(published()?.get("all_services") ?? "") as {
      service_name: string;
      servers: string[][];
    }[];
    const balancer = services.find((s) => s.service_name === "haproxy_service_be");
    expect(balancer?.servers.map((s) => s[0])).toEqual([
      "my-web-app-0-80",
      "my-web-app-1-80",
      "my-web-app-2-80",
    ]);
  });
}

function activeActive(everything: boolean): void {
  it("switches to active-active with a reload, not a restart, and drops port+1", async () => {
    const pidsBefore = haproxyUnits.map((unit) => model.system(unit).haproxy.pid);
    await model.config("haproxy", { peering_mode: "active-active" });
    for (const unit of haproxyUnits) {
      const config = await model.readFile(unit, "/etc/haproxy/haproxy.cfg");
      expect(config).not.toContain(":81");
      expect(config).not.toContain("_be");
      expect(await answeringUnits(model, `http://${address(unit)}/`)).toEqual(webUnits());
    }
    expect(haproxyUnits.map((unit) => model.system(unit).haproxy.pid)).toEqual(pidsBefore);
  });

  // Units coming and going exercise the charm's peer handling more than haproxy.
  it.runIf(everything)(
    "converges without errors when haproxy units come and go",
    async () => {
      await model.config("haproxy", { peering_mode: "active-passive" });
      await model.addUnit("haproxy");
      await model.removeUnit("haproxy/1");
      const statuses = unitStatuses().filter((u) => u.name.startsWith("haproxy/"));
      expect(statuses.map((u) => [u.name, u.workload, u.agent])).toEqual([
        ["haproxy/0", "active", "idle"],
        ["haproxy/2", "active", "idle"],
        ["haproxy/3", "active", "idle"],
      ]);
      const config = await model.readFile("haproxy/3", "/etc/haproxy/haproxy.cfg");
      expect(config).not.toContain("haproxy-1 ");
      expect(config).toContain(`server haproxy-0 ${address("haproxy/0")}:81 ${FORWARDER_CHECKS}\n`);
      expect(await answeringUnits(model, `http://${address("haproxy/3")}/`)).toEqual([
        "my-web-app/0",
        "my-web-app/1",
        "my-web-app/2",
      ]);
    },
    180_000,
  );
}
