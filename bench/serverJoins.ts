// `npm run bench` (after the hook cost) or `npm run bench:joins`: what 100
// units joining `reverseproxy` one by one cost haproxy. In the local model
// (packed charm, real haproxy), with clients holding long-lived connections
// open throughout (one more after each join, each a request kept unfinished),
// it counts the reloads, the haproxy workers alive at the end (every reload
// leaves an old worker serving its connections), the hook-tool calls and the
// wall time of the N-th join's relation-changed. The default service (whose
// servers carry `cookie`, which haproxy 2.6 refuses on a server added at run
// time) and a leastconn service without cookies; on 2.6 and 3.0.
//
//   npm run bench:joins            # 100 joins
//   npm run bench:joins -- 30      # another count
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";

import { HAPROXY3_BINARY, haproxyVersionOf } from "../tests/helpers/haproxyVersions.js";
import { packCharm } from "../tests/e2e/packedCharm.js";
import { LocalModel } from "../tests/localJuju/model.js";

export interface JoinsFigures {
  readonly haproxy: string;
  readonly service: string;
  readonly joins: number;
  readonly reloads: number;
  readonly workers: number;
  readonly lastJoinCalls: number;
  readonly lastJoinMs: number;
}

const SERVICES: Record<string, Record<string, string>> = {
  "default (leastconn, cookie)": {},
  "leastconn, no cookie": {
    services: `- {service_name: web, service_host: 0.0.0.0, service_port: 80, service_options: [balance leastconn], server_options: maxconn 100 check}`,
  },
};

/** A client in `namespace` holding requests open on host:80; `open()` adds one. */
function holdConnections(namespace: string, host: string) {
  const script = `
    const net = require("net");
    const open = [];
    process.stdin.on("data", () => {
      const socket = net.connect(80, ${JSON.stringify(host)}, () =>
        socket.write("GET / HTTP/1.1\\r\\nHost: bench\\r\\n"));
      socket.on("error", () => {});
      open.push(socket);
    });
    // A header line now and then: the request stays unfinished, never idle.
    setInterval(() => open.forEach((socket) => socket.write("X-Still: here\\r\\n")), 5000);`;
  const child = spawn(
    "nsenter",
    [`--net=/run/netns/${namespace}`, "--", process.execPath, "-e", script],
    {
      stdio: ["pipe", "ignore", "inherit"],
    },
  );
  return {
    open: () => child.stdin.write("\n"),
    close: () => child.kill(),
  };
}

function workersOf(masterPid: number | undefined): number {
  if (masterPid === undefined) return 0;
  const children = readFileSync(`/proc/${masterPid}/task/${masterPid}/children`, "utf8").trim();
  return children === "" ? 0 : children.split(/\s+/).length;
}

async function joinsWith(
  charmFile: string,
  haproxyBinary: string,
  service: string,
  joins: number,
): Promise<JoinsFigures> {
  const model = await LocalModel.create({
    name: "bench-joins",
    haproxyBinary,
    hookTimeoutMs: 120_000,
  });
  try {
    await model.deploy(charmFile, { config: SERVICES[service] ?? {} });
    await model.deployScripted("app", {
      units: 1,
      endpoints: { website: { interface: "http", role: "provides" } },
      unitSettings: (unit) => ({ hostname: unit.address, port: "80" }),
      httpPort: 80,
    });
    await model.integrate("app:website", "haproxy:reverseproxy");
    await model.deployScripted("client", { units: 1, endpoints: {} });
    const haproxy = model.system("haproxy/0").haproxy;
    const clients = holdConnections(
      model.requireUnit("client/0").machine.namespace,
      model.requireUnit("haproxy/0").machine.address,
    );
    try {
      const reloadsBefore = haproxy.history.filter((entry) => entry === "reload").length;
      let lastJoinCalls = 0;
      for (let joined = 1; joined <= joins; joined += 1) {
        clients.open();
        const callsBefore = model.toolCalls.length;
        await model.addUnit("app");
        const calls = model.toolCalls
          .slice(callsBefore)
          .filter((call) => call.context.startsWith("haproxy/0-reverseproxy-relation-changed-"));
        const lastContext = calls.at(-1)?.context;
        lastJoinCalls = calls.filter((call) => call.context === lastContext).length;
        if (joined % 25 === 0) process.stderr.write(`  ${joined}/${joins} units joined\n`);
      }
      const last = model
        .requireUnit("haproxy/0")
        .hookRuns.filter((run) => run.hook === "reverseproxy-relation-changed")
        .at(-1);
      return {
        haproxy: haproxyVersionOf(haproxyBinary) ?? haproxyBinary,
        service,
        joins,
        reloads: haproxy.history.filter((entry) => entry === "reload").length - reloadsBefore,
        workers: workersOf(haproxy.pid),
        lastJoinCalls,
        lastJoinMs: last?.durationMs ?? NaN,
      };
    } finally {
      clients.close();
    }
  } finally {
    model.destroy();
  }
}

export async function measureServerJoins(charmFile: string, joins = 100): Promise<string> {
  const binaries = ["haproxy", ...(haproxyVersionOf(HAPROXY3_BINARY) ? [HAPROXY3_BINARY] : [])];
  const results: JoinsFigures[] = [];
  for (const binary of binaries) {
    for (const service of Object.keys(SERVICES)) {
      process.stderr.write(`${joins} joins, haproxy ${haproxyVersionOf(binary)}, ${service}...\n`);
      results.push(await joinsWith(charmFile, binary, service, joins));
    }
  }
  return [
    `${joins} units join \`reverseproxy\` one by one while clients hold one more unfinished request open after each join (load average ${loadavg()[0]?.toFixed(1)} at the end).`,
    "",
    "| haproxy | service | reloads | haproxy workers alive at the end | hook-tool calls in the N-th join | N-th join's relation-changed |",
    "| --- | --- | ---: | ---: | ---: | ---: |",
    ...results.map(
      (r) =>
        `| ${r.haproxy} | ${r.service} | ${r.reloads} | ${r.workers} | ${r.lastJoinCalls} | ${r.lastJoinMs.toFixed(0)} ms |`,
    ),
  ].join("\n");
}

// Run on its own (`npm run bench:joins`).
if (/serverJoins\.(ts|mjs)$/.test(process.argv[1] ?? "")) {
  const joins = Number(process.argv[2] ?? 100);
  const charm = packCharm();
  try {
    process.stdout.write(`${await measureServerJoins(charm.file, joins > 0 ? joins : 100)}\n`);
  } finally {
    charm.cleanup();
  }
}
