// ingress-per-unit end to end: the packed charm (default config) in the
// local model, a scripted ingress-per-unit requirer whose units each write
// their own plain-string bag and run a real web server answering with their
// name, and curl on the URLs haproxy publishes.
import yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { LocalModel } from "../localJuju/model.js";
import { type PackedCharm, packCharm } from "./packedCharm.js";

const MODEL = "ipu";
let charm: PackedCharm;
let model: LocalModel;
let ingressId: number;

const haproxyAddress = () => model.requireUnit("haproxy/0").machine.address;

/** The `ingress` mapping haproxy's leader published: unit name -> URL. */
function publishedUrls(): Record<string, string> {
  const value = model.relation(ingressId)?.appSettings.get("haproxy")?.get("ingress") ?? "";
  if (value === "") return {};
  const mapping = yaml.load(value) as Record<string, { url: string }>;
  return Object.fromEntries(Object.entries(mapping).map(([unit, { url }]) => [unit, url]));
}

/** The body of the answer to `url`, trimmed: the name of the unit that served it. */
const answerOf = async (url: string): Promise<string> => (await model.http(url)).body.trim();

beforeAll(async () => {
  charm = packCharm();
  model = await LocalModel.create({ name: MODEL });
  await model.deploy(charm.file, { units: 1 });
  await model.deployScripted("web", {
    units: 2,
    endpoints: { "ingress-per-unit": { interface: "ingress_per_unit", role: "requires" } },
    unitSettings: (unit) => ({
      model: MODEL,
      name: unit.name,
      host: unit.address,
      port: "8080",
    }),
    httpPort: 8080,
  });
  ingressId = await model.integrate("web:ingress-per-unit", "haproxy:ingress-per-unit");
}, 240_000);

afterAll(() => {
  model?.destroy();
  charm?.cleanup();
});

describe("ingress-per-unit in the local model", () => {
  it("publishes each unit's own URL, a path on the leader's address", () => {
    expect(publishedUrls()).toEqual({
      "web/0": `http://${haproxyAddress()}/${MODEL}-web-0`,
      "web/1": `http://${haproxyAddress()}/${MODEL}-web-1`,
    });
    expect(model.requireUnit("haproxy/0").workload.message).toMatch(/^Unit is ready/);
  });

  it("sends each URL, and the paths below it, to exactly that unit", async () => {
    for (const [unit, url] of Object.entries(publishedUrls())) {
      for (let i = 0; i < 4; i++) expect(await answerOf(url)).toBe(unit);
      expect(await answerOf(`${url}/below/it?x=1`)).toBe(unit);
    }
    // A path that merely begins like a unit's is not that unit's.
    const lookalike = await model.http(`http://${haproxyAddress()}/${MODEL}-web-00`);
    expect(lookalike.status).toBe(503);
  });

  it("gives a unit asking for mode tcp a TCP port of its own, reaching that unit", async () => {
    await model.addUnit("web");
    await model.setRelationData("web/2", ingressId, { mode: "tcp" });
    const urls = publishedUrls();
    expect(urls["web/2"]).toBe(`${haproxyAddress()}:30000`);
    for (let i = 0; i < 4; i++) expect(await answerOf(`http://${urls["web/2"]}/`)).toBe("web/2");
    // The HTTP units keep their paths.
    expect(urls["web/0"]).toBe(`http://${haproxyAddress()}/${MODEL}-web-0`);
    expect(await answerOf(urls["web/1"] as string)).toBe("web/1");
  });

  it("withdraws a leaving unit's URL and route, keeping the others'", async () => {
    const gone = publishedUrls()["web/1"] as string;
    await model.removeUnit("web/1");
    const urls = publishedUrls();
    expect(Object.keys(urls)).toEqual(["web/0", "web/2"]);
    expect((await model.http(gone)).status).toBe(503);
    expect(await answerOf(urls["web/0"] as string)).toBe("web/0");
    expect(await answerOf(`http://${urls["web/2"]}/`)).toBe("web/2");
  });
});
