// `npm run bench`: what a hook costs as a relation grows. In the local model
// (the packed charm, real hook tools, real haproxy), N units of an
// application join `reverseproxy` one at a time, then N units of another
// join `ingress`; for the N-th join it reports the relation-changed hook's
// wall time and hook-tool calls, and the total hook time of all N joins. Then the cost of a no-op update-status, of
// rendering 1,000 servers, and of `haproxy -c` on that configuration, beside
// `node -e 0` run the way the model runs a hook (the floor of any hook). Last,
// reloads and workers over 100 joins (bench/serverJoins.ts).
// Figures go to stdout and to bench/results.md.
//
//   npm run bench                 # N = 10, 100, 500
//   npm run bench -- 10 50        # other sizes
//   npm run bench -- 10 --server-joins 0   # without the last table (it takes minutes)
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";

import { renderHaproxyConfig } from "../src/render/renderHaproxyConfig.js";
import { packCharm } from "../tests/e2e/packedCharm.js";
import { planFromInputs } from "../tests/helpers/planFromInputs.js";
import { measureServerJoins } from "./serverJoins.js";
import { LocalModel } from "../tests/localJuju/model.js";

const args = process.argv.slice(2);
const flag = args.indexOf("--server-joins");
// The joins of the last table (bench/serverJoins.ts); 0 leaves it out.
const serverJoins = flag >= 0 ? Number(args[flag + 1]) : 100;
const sizes = (flag >= 0 ? [...args.slice(0, flag), ...args.slice(flag + 2)] : args)
  .map(Number)
  .filter((n) => n > 0);
const joinCounts = sizes.length > 0 ? sizes : [10, 100, 500];

type Endpoint = "reverseproxy" | "ingress";

interface JoinFigures {
  readonly endpoint: Endpoint;
  readonly units: number;
  readonly lastHookMs: number;
  readonly lastHookToolCalls: number;
  readonly totalHookSeconds: number;
  /** Medians over the N joins: relation-joined makes no hook-tool call on reverseproxy. */
  readonly joinedMedianMs: number;
  readonly changedMedianMs: number;
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

function timeMs(action: () => void): number {
  const started = process.hrtime.bigint();
  action();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

async function joins(
  charmFile: string,
  units: number,
  endpoint: Endpoint,
): Promise<{ joins: JoinFigures; updateStatusMs: number; nodeFloorMs: number }> {
  const model = await LocalModel.create({ name: `bench-${units}`, hookTimeoutMs: 120_000 });
  try {
    await model.deploy(charmFile);
    if (endpoint === "reverseproxy") {
      await model.deployScripted("app", {
        units: 0,
        endpoints: { website: { interface: "http", role: "provides" } },
        unitSettings: () => ({ port: "80" }),
      });
      await model.integrate("app:website", "haproxy:reverseproxy");
    } else {
      await model.deployScripted("app", {
        units: 0,
        endpoints: { ingress: { interface: "ingress", role: "requires" } },
        unitSettings: (unit) => ({ host: JSON.stringify(unit.address) }),
      });
      const id = await model.integrate("app:ingress", "haproxy:ingress");
      await model.setRelationData("app", id, { model: '"bench"', name: '"app"', port: "80" });
    }
    const haproxy = model.requireUnit("haproxy/0");
    const firstRun = haproxy.hookRuns.length;
    let lastContextCalls = 0;
    for (let joined = 1; joined <= units; joined += 1) {
      const callsBefore = model.toolCalls.length;
      await model.addUnit("app");
      // Context ids name the unit and hook: haproxy/0-reverseproxy-relation-changed-<n>.
      const calls = model.toolCalls
        .slice(callsBefore)
        .filter((call) => call.context.startsWith(`haproxy/0-${endpoint}-relation-changed-`));
      const lastContext = calls.at(-1)?.context;
      lastContextCalls = calls.filter((call) => call.context === lastContext).length;
      if (joined % 50 === 0) process.stderr.write(`  ${joined}/${units} units joined\n`);
    }
    const runs = haproxy.hookRuns
      .slice(firstRun)
      .filter((run) => run.hook.startsWith(`${endpoint}-relation-`));
    const last = runs.at(-1);
    if (last?.hook !== `${endpoint}-relation-changed` || last.exitCode !== 0) {
      throw new Error(`the last hook was ${last?.hook} (exit ${last?.exitCode}): ${last?.output}`);
    }
    if (process.env.HAPROXY_CHARM_PROFILE === "1") {
      const joinedRun = runs.filter((run) => run.hook === `${endpoint}-relation-joined`).at(-1);
      process.stderr.write(
        `profile of the last ${endpoint}-relation-joined:\n${joinedRun?.output}\n`,
      );
      process.stderr.write(`profile of the last ${last.hook}:\n${last.output}\n`);
    }
    const durations = (hook: string) =>
      runs.filter((run) => run.hook === hook).map((run) => run.durationMs);
    const nodeFloor: number[] = [];
    for (let i = 0; i < 7; i += 1) {
      const started = Date.now();
      await model.exec("haproxy/0", ["node", "-e", "0"]);
      nodeFloor.push(Date.now() - started);
    }
    const updateStatus: number[] = [];
    for (let i = 0; i < 7; i += 1) {
      await model.trigger("haproxy/0", "update-status");
      updateStatus.push(haproxy.hookRuns.at(-1)?.durationMs ?? NaN);
    }
    return {
      joins: {
        endpoint,
        units,
        lastHookMs: last.durationMs,
        lastHookToolCalls: lastContextCalls,
        totalHookSeconds: runs.reduce((sum, run) => sum + run.durationMs, 0) / 1000,
        joinedMedianMs: median(durations(`${endpoint}-relation-joined`)),
        changedMedianMs: median(durations(`${endpoint}-relation-changed`)),
      },
      updateStatusMs: median(updateStatus),
      nodeFloorMs: median(nodeFloor),
    };
  } finally {
    model.destroy();
  }
}

function renderAndCheck(servers: number): { renderMs: number; checkMs: number } {
  const services = `- {service_name: web, service_port: 80, service_options: [balance leastconn], server_options: [check]}`;
  const reverseproxy = Array.from({ length: servers }, (_, i) => ({
    relationId: "reverseproxy:1",
    unit: `app/${i}`,
    settings: { "private-address": `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, port: "8080" },
  }));
  const inputs = {
    unitName: "haproxy/0",
    privateAddress: "10.0.0.1",
    publicAddress: "10.0.0.1",
    config: { services },
    reverseproxy,
    peers: [],
  };
  const paths = { haproxyLib: "/var/lib/haproxy", haproxyRun: "/run/haproxy" };
  let text = "";
  const renderMs = median(
    Array.from({ length: 9 }, () =>
      timeMs(() => (text = renderHaproxyConfig(planFromInputs(inputs, paths).config))),
    ),
  );
  const dir = mkdtempSync(path.join(tmpdir(), "bench-render-"));
  try {
    const file = path.join(dir, "haproxy.cfg");
    writeFileSync(file, text);
    const checkMs = median(
      Array.from({ length: 5 }, () =>
        timeMs(() => execFileSync("haproxy", ["-c", "-q", "-f", file])),
      ),
    );
    return { renderMs, checkMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const charm = packCharm();
try {
  const results: JoinFigures[] = [];
  let updateStatusMs = NaN;
  let nodeFloorMs = NaN;
  for (const endpoint of ["reverseproxy", "ingress"] as const) {
    for (const units of joinCounts) {
      process.stderr.write(`joining ${units} units on ${endpoint}...\n`);
      const figures = await joins(charm.file, units, endpoint);
      results.push(figures.joins);
      if (endpoint === "reverseproxy") {
        updateStatusMs = figures.updateStatusMs;
        nodeFloorMs = figures.nodeFloorMs;
      }
    }
  }
  const { renderMs, checkMs } = renderAndCheck(1000);
  const reverseproxy = results.filter((r) => r.endpoint === "reverseproxy");
  const first = reverseproxy[0];
  const largest = reverseproxy.at(-1);
  const lines = [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${execFileSync("nproc").toString().trim()} cores with \`npm run bench\` (load average ${loadavg()[0]?.toFixed(1)} at the end).`,
    "",
    "| relation | units joined (N) | relation-changed of the N-th unit | hook-tool calls in it | all N joins, total hook time | relation-joined, median of N | relation-changed, median of N |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...results.map(
      (r) =>
        `| ${r.endpoint} | ${r.units} | ${r.lastHookMs.toFixed(0)} ms | ${r.lastHookToolCalls} | ${r.totalHookSeconds.toFixed(1)} s | ${r.joinedMedianMs.toFixed(0)} ms | ${r.changedMedianMs.toFixed(0)} ms |`,
    ),
    "",
    "| what | figure |",
    "| --- | ---: |",
    ...(first && largest && largest !== first
      ? [
          `| reverseproxy: N-th hook time, largest N / smallest N | ${(largest.lastHookMs / first.lastHookMs).toFixed(2)} |`,
        ]
      : []),
    `| no-op update-status (median of 7) | ${updateStatusMs.toFixed(0)} ms |`,
    `| \`node -e 0\` on the unit's machine, run as a hook is (median of 7) | ${nodeFloorMs.toFixed(0)} ms |`,
    `| render 1,000 servers (plan + template, median of 9) | ${renderMs.toFixed(1)} ms |`,
    `| \`haproxy -c\` on that configuration (median of 5) | ${checkMs.toFixed(0)} ms |`,
  ];
  const joinsTable = serverJoins > 0 ? [await measureServerJoins(charm.file, serverJoins)] : [];
  const table = [...lines, ...joinsTable.flatMap((joins) => ["", joins])].join("\n");
  process.stdout.write(`${table}\n`);
  // npm runs scripts from the repository root.
  writeFileSync(path.resolve("bench", "results.md"), `# Hook cost benchmark\n\n${table}\n`);
} finally {
  charm.cleanup();
}
