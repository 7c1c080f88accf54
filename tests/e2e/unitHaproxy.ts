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
