// A plan as a unit would serve it, run by a real haproxy from a scratch
// directory: the planner's files written, haproxy.cfg rendered, and the
// listeners moved off the unit's ports (80 and 443 to free loopback ports,
// every other listener to loopback) so that tests can run side by side.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import type { HookInputs } from "../../src/juju/hookInputs.js";
import type { Plan, PlanPaths } from "../../src/plan/planConfiguration.js";
import { renderHaproxyConfig } from "../../src/render/renderHaproxyConfig.js";
import { HaproxyProcess, findFreePort } from "./haproxyProcess.js";
import { planFromInputs } from "./planFromInputs.js";

/** What a test names of a hook's inputs; the rest is a lone haproxy/0 with no classic relations. */
export type PlanTestInputs = Partial<HookInputs>;

export interface PlanOnHaproxyOptions {
  readonly haproxyBinary?: string;
  /** Other ports the plan listens on that the test wants moved to free ports too. */
  readonly movedPorts?: readonly number[];
  /** The unit's live haproxy.cfg, for a plan that keeps what it can of it. */
  readonly liveConfig?: string;
}

export interface PlanOnHaproxy {
  readonly paths: PlanPaths;
  readonly plan: Plan;
  /** haproxy.cfg as the charm renders it, on the unit's ports. */
  readonly rendered: string;
  /** haproxy.cfg as it runs here, on the test's ports. */
  readonly text: string;
  /** Where the unit's port 80 is served. */
  readonly httpPort: number;
  /** Where the unit's port 443 is served. */
  readonly httpsPort: number;
  /** Where each of `movedPorts` is served. */
  readonly ports: ReadonlyMap<number, number>;
  readonly haproxy: HaproxyProcess;
  /** Stops haproxy and removes the scratch directory. */
  stop(): Promise<void>;
}

/** The defaults every such test shares: haproxy/0 on 10.1.1.1, no peers, no classic units. */
export function testInputs(inputs: PlanTestInputs): HookInputs {
  return {
    unitName: "haproxy/0",
    privateAddress: "10.1.1.1",
    publicAddress: "10.1.1.1",
    reverseproxy: [],
    peers: [],
    ...inputs,
    config: inputs.config ?? {},
  };
}

/**
 * haproxy.cfg with each `0.0.0.0:<port>` listener of `moves` on 127.0.0.1 and
 * its new port, and every other listener on 127.0.0.1 and its own port.
 */
export function onTestPorts(text: string, moves: ReadonlyMap<number, number>): string {
  return text.replace(/0\.0\.0\.0:(\d+)/g, (_whole, port: string) => {
    return `127.0.0.1:${moves.get(Number(port)) ?? port}`;
  });
}

export async function runPlanOnHaproxy(
  inputs: PlanTestInputs,
  options: PlanOnHaproxyOptions = {},
): Promise<PlanOnHaproxy> {
  const root = await mkdtemp(path.join(tmpdir(), "plan-on-haproxy-"));
  try {
    const paths = { haproxyLib: path.join(root, "lib"), haproxyRun: path.join(root, "run") };
    await mkdir(paths.haproxyLib);
    await mkdir(paths.haproxyRun);
    const plan = planFromInputs(testInputs(inputs), paths, options.liveConfig);
    for (const file of plan.files) {
      await mkdir(path.dirname(file.path), { recursive: true });
      await writeFile(file.path, file.content, { mode: file.mode });
    }
    const rendered = renderHaproxyConfig(plan.config);
    const ports = new Map<number, number>();
    for (const port of [80, 443, ...(options.movedPorts ?? [])]) {
      ports.set(port, await findFreePort());
    }
    const text = onTestPorts(rendered, ports);
    const configFile = path.join(root, "haproxy.cfg");
    await writeFile(configFile, text);
    // Wait for the moved listeners the configuration really has.
    const probePorts = [...ports].filter(([port]) => rendered.includes(`0.0.0.0:${port}`));
    const haproxy = new HaproxyProcess({
      configFile,
      pidFile: path.join(root, "haproxy.pid"),
      probePorts: probePorts.map(([, moved]) => moved),
      ...(options.haproxyBinary !== undefined && { haproxyBinary: options.haproxyBinary }),
    });
    await haproxy.start();
    return {
      paths,
      plan,
      rendered,
      text,
      httpPort: ports.get(80) as number,
      httpsPort: ports.get(443) as number,
      ports,
      haproxy,
      stop: async () => {
        await haproxy.stop();
        await rm(root, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}
