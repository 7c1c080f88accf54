// Configuration changes under load, in the local model: the scenario behind
// `npm run bench:reload` and the reload e2e test. Load runs from a machine of
// its own while haproxy reloads for units joining, units leaving (they first
// withdraw their port, then go) and config changes.
import { LocalModel } from "../localJuju/model.js";
import type { WrkFigures } from "./wrkLoad.js";
import { startWrk } from "./wrkLoad.js";
import { unitHaproxy } from "./unitHaproxy.js";

export interface ReloadFigures {
  /** major.minor of the haproxy the unit ran. */
  readonly haproxyVersion: string | undefined;
  readonly changes: number;
  readonly reloads: number;
  readonly keepAlive: WrkFigures;
  readonly newConnections: WrkFigures;
}

export interface ReloadScenarioOptions {
  readonly charmFile: string;
  readonly modelName: string;
  /** How many configuration changes to apply while the load runs. */
  readonly changes: number;
  /** Only config changes (no units joining or leaving). */
  readonly configOnly?: boolean;
  readonly keepAliveConnections?: number;
  readonly newConnectionConnections?: number;
  /** The haproxy the unit runs (LocalModel's haproxyBinary); absent, the host's. */
  readonly haproxyBinary?: string;
  readonly progress?: (message: string) => void;
}

export async function reloadsUnderLoad(options: ReloadScenarioOptions): Promise<ReloadFigures> {
  const model = await LocalModel.create({
    name: options.modelName,
    ...(options.haproxyBinary !== undefined && { haproxyBinary: options.haproxyBinary }),
  });
  try {
    await model.deploy(options.charmFile);
    await model.deployScripted("app", {
      units: 2,
      endpoints: { website: { interface: "http", role: "provides" } },
      unitSettings: (unit) => ({ hostname: unit.address, port: "80" }),
      httpPort: 80,
    });
    const relationId = await model.integrate("app:website", "haproxy:reverseproxy");
    await model.deployScripted("client", { units: 1, endpoints: {} });

    const { running: haproxyVersion } = await unitHaproxy(model, "haproxy/0");
    const haproxy = model.system("haproxy/0").haproxy;
    const url = `http://${model.requireUnit("haproxy/0").machine.address}/`;
    const client = model.requireUnit("client/0").machine.namespace;
    const reloadsBefore = haproxy.history.filter((entry) => entry === "reload").length;

    const keepAliveLoad = startWrk(client, url, {
      connections: options.keepAliveConnections ?? 8,
      threads: 2,
    });
    const newConnectionLoad = startWrk(client, url, {
      connections: options.newConnectionConnections ?? 4,
      newConnectionPerRequest: true,
    });
    // Load first, then change things under it.
    await new Promise((resolve) => setTimeout(resolve, 1000));

    const joined: string[] = [];
    let maxconn = 4096;
    for (let change = 0; change < options.changes; change += 1) {
      const kind = options.configOnly ? 1 : change % 3;
      if (kind === 0) {
        const [unit] = await model.addUnit("app");
        if (unit !== undefined) joined.push(unit.name);
        options.progress?.(`change ${change + 1}: ${unit?.name} joined`);
      } else if (kind === 2 && joined.length > 0) {
        const leaving = joined.shift() as string;
        // A well-behaved unit stops advertising before it goes away.
        await model.setRelationData(leaving, relationId, { port: "" });
        await model.removeUnit(leaving);
        options.progress?.(`change ${change + 1}: ${leaving} left`);
      } else {
        maxconn = maxconn === 4096 ? 4000 : 4096;
        await model.config("haproxy", { global_maxconn: maxconn });
        options.progress?.(`change ${change + 1}: global_maxconn=${maxconn}`);
      }
    }

    // Let connections accepted by the last old worker finish before counting.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const [keepAlive, newConnections] = await Promise.all([
      keepAliveLoad.stop(),
      newConnectionLoad.stop(),
    ]);
    const reloads = haproxy.history.filter((entry) => entry === "reload").length - reloadsBefore;
    return { haproxyVersion, changes: options.changes, reloads, keepAlive, newConnections };
  } finally {
    model.destroy();
  }
}
