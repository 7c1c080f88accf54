// The seed README's examples, from relation data to haproxy.cfg: each
// rendering must equal its hand-written golden file and pass `haproxy -c` of
// every haproxy version the tests have.
import { readFile } from "node:fs/promises";

import { describe, expect, it } from "vitest";

import { planFromInputs } from "../helpers/planFromInputs.js";
import { productionPaths } from "../../src/paths.js";
import { renderHaproxyConfig } from "../../src/render/renderHaproxyConfig.js";
import { parseSnapshot } from "../../src/plan/snapshot.js";
import { checkHaproxyConfig } from "../helpers/haproxyCheck.js";
import { haproxyVersions } from "../helpers/haproxyVersions.js";

const golden = (file: string) => readFile(new URL(`../golden/${file}`, import.meta.url), "utf8");

describe.each(["quickstart", "service-name", "relation-driven"])("golden %s", (name) => {
  it("renders exactly the golden haproxy.cfg", async () => {
    const inputs = parseSnapshot(await golden(`${name}.json`));
    const rendered = renderHaproxyConfig(planFromInputs(inputs, productionPaths).config);
    expect(rendered).toBe(await golden(`${name}.cfg`));
  });

  for (const { version, binary } of haproxyVersions) {
    it(`which haproxy ${version} accepts`, async () => {
      const check = await checkHaproxyConfig(await golden(`${name}.cfg`), binary);
      expect(check.output).not.toMatch(/ALERT/);
      expect(check.ok).toBe(true);
    });
  }
});
