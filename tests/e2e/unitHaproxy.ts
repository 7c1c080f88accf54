// Which haproxy a unit of the local model has: the e2e tests run once per
// version in haproxyVersions.ts and must know that the unit's haproxy.service
// and the `haproxy` its hooks run (for `haproxy -c`) are that version.
import { adminSocketPath } from "../../src/model/runtimeFiles.js";
import { productionPaths } from "../../src/paths.js";
import type { LocalModel } from "../localJuju/model.js";

/** The charm's admin socket on a unit. */
export const ADMIN_SOCKET = adminSocketPath(productionPaths.haproxyRun);

export interface UnitHaproxy {
  /** major.minor of the `haproxy` on the hooks' PATH. */
  readonly onPath: string | undefined;
  /** major.minor of the running haproxy.service, as its admin socket reports it. */
  readonly running: string | undefined;
}

const showInfo =
  `const s=require("net").connect(${JSON.stringify(ADMIN_SOCKET)});let o="";` +
  's.on("data",d=>o+=d);s.on("end",()=>process.stdout.write(o));s.write("show info\\n");';

export async function unitHaproxy(model: LocalModel, unit: string): Promise<UnitHaproxy> {
  const version = await model.exec(unit, ["haproxy", "-v"]);
  const info = await model.exec(unit, [process.execPath, "-e", showInfo]);
  return {
    onPath: /^HAProxy version (\d+\.\d+)\./m.exec(version.stdout)?.[1],
    running: /^Version: (\d+\.\d+)\./m.exec(info.stdout)?.[1],
  };
}

/** A command on a unit's haproxy admin socket (or another socket, e.g. the master's), and its answer. */
export async function askUnit(
  model: LocalModel,
  unit: string,
  command: string,
  socket = ADMIN_SOCKET,
): Promise<string> {
  const script =
    `const s=require("net").connect(${JSON.stringify(socket)});let o="";` +
    `s.on("data",d=>o+=d);s.on("end",()=>process.stdout.write(o));s.end(${JSON.stringify(`${command}\n`)});`;
  return (await model.exec(unit, [process.execPath, "-e", script])).stdout;
}

/** The pid of a unit's haproxy worker: a reload starts a new one. */
export async function workerPid(
  model: LocalModel,
  unit = "haproxy/0",
): Promise<string | undefined> {
  return /^Pid: (\d+)$/m.exec(await askUnit(model, unit, "show info"))?.[1];
}

/** The `endpoints` haproxy's leader published on a relation, as the requirer's library reads them. */
export function publishedEndpoints(model: LocalModel, relationId: number): unknown {
  const value = model.relation(relationId)?.appSettings.get("haproxy")?.get("endpoints");
  return value === undefined ? undefined : JSON.parse(value);
}
