// haproxy-route-tcp end to end: the packed charm (two units, default config)
// in the local model, a scripted haproxy-route-tcp requirer whose units run
// real servers, and curl through the TCP listener. The servers speak HTTP,
// which a TCP route carries untouched: each answer names the unit behind it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { eventually } from "../helpers/eventually.js";
import { LocalModel } from "../localJuju/model.js";
import { type PackedCharm, packCharm } from "./packedCharm.js";
import { publishedEndpoints, workerPid } from "./unitHaproxy.js";

const LISTEN_PORT = 15432;
const ENDPOINT = {
  "haproxy-route-tcp": { interface: "haproxy-route-tcp", role: "requires" },
} as const;
let charm: PackedCharm;
let model: LocalModel;
let routeId: number;

const haproxyAddress = (n = 0) => model.requireUnit(`haproxy/${n}`).machine.address;

/** The name of the unit that answers on the TCP port of a haproxy unit. */
const answerThrough = async (unit: number): Promise<string> =>
  (await model.http(`http://${haproxyAddress(unit)}:${LISTEN_PORT}/`)).body.trim();

beforeAll(async () => {
  charm = packCharm();
  model = await LocalModel.create({ name: "tcp" });
  // The default config: its haproxy_service holds port 80.
  await model.deploy(charm.file, { units: 2 });
  await model.deployScripted("db", {
    units: 2,
    endpoints: ENDPOINT,
    unitSettings: (unit) => ({ address: JSON.stringify(unit.address) }),
    httpPort: 8080,
  });
  routeId = await model.integrate("db:haproxy-route-tcp", "haproxy:haproxy-route-tcp");
  await model.setRelationData("db", routeId, {
    port: String(LISTEN_PORT),
    backend_port: "8080",
    enforce_tls: "false",
  });
}, 240_000);

afterAll(() => {
  model?.destroy();
  charm?.cleanup();
});

describe("haproxy-route-tcp in the local model", () => {
  it("publishes every haproxy unit's address with the listen port as the endpoints", () => {
    const expected = [0, 1].map((n) => `${haproxyAddress(n)}:${LISTEN_PORT}`).sort();
    expect(publishedEndpoints(model, routeId)).toEqual(expected);
    expect(model.requireUnit("haproxy/0").workload.message).toBe("Unit is ready");
  });

  it("carries connections on the listen port to both requirer units, through both haproxy units", async () => {
    for (const unit of [0, 1]) {
      const seen = new Set<string>();
      for (let i = 0; i < 6; i++) seen.add(await answerThrough(unit));
      expect([...seen].sort()).toEqual(["db/0", "db/1"]);
    }
  });

  it("adds a joining requirer unit without a reload", async () => {
    const before = await workerPid(model);
    await model.addUnit("db");
    await eventually(async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 9; i++) seen.add(await answerThrough(0));
      expect(seen.has("db/2")).toBe(true);
    });
    expect(await workerPid(model)).toBe(before);
    const expected = [0, 1].map((n) => `${haproxyAddress(n)}:${LISTEN_PORT}`).sort();
    expect(publishedEndpoints(model, routeId)).toEqual(expected);
  });

  it("leaves out an application asking for a port the HTTP service holds, with a status that counts it", async () => {
    await model.deployScripted("greedy", {
      units: 1,
      endpoints: ENDPOINT,
      unitSettings: (unit) => ({ address: JSON.stringify(unit.address) }),
      httpPort: 8080,
    });
    const greedyId = await model.integrate("greedy:haproxy-route-tcp", "haproxy:haproxy-route-tcp");
    await model.setRelationData("greedy", greedyId, {
      port: "80",
      backend_port: "8080",
      enforce_tls: "false",
    });
    expect(publishedEndpoints(model, greedyId)).toEqual([]);
    expect(model.requireUnit("haproxy/0").workload.message).toContain(
      "1 of 2 haproxy-route-tcp relations valid",
    );
    // Port 80 stays the HTTP service's: greedy's server never answers there.
    const port80 = await model.http(`http://${haproxyAddress()}/`);
    expect(port80.body.trim()).not.toBe("greedy/0");
    // The valid application keeps being served.
    expect(await answerThrough(1)).toMatch(/^db\/[012]$/);
    await model.removeRelation(greedyId);
    expect(model.requireUnit("haproxy/0").workload.message).toBe("Unit is ready");
  });

  it("closes the listen port when the relation goes", async () => {
    await model.removeRelation(routeId);
    for (const unit of [0, 1]) {
      await expect(answerThrough(unit)).rejects.toThrow(/curl .* failed/);
      expect(await model.readFile(`haproxy/${unit}`, "/etc/haproxy/haproxy.cfg")).not.toContain(
        String(LISTEN_PORT),
      );
    }
  });
});
