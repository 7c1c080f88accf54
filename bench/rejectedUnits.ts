// What leaving out the related units haproxy rejects costs a hook: the
// bisection's `haproxy -c` runs and its wall time, for 1 and 3 bad units
// among 10, 100 and 500, the first time and in a later hook that knows the
// units rejected before. Prints a table; `npm run bench:rejected`.
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { parseCharmConfig } from "../src/config/charmConfig.js";
import { haproxyProbe, isolateRejectedUnits } from "../src/hook/rejectedUnits.js";
import type { HookInputs, RemoteUnit } from "../src/juju/hookInputs.js";
import type { Paths } from "../src/paths.js";
import { RecordingService } from "../tests/helpers/recordingService.js";

const SIZES = [10, 100, 500];
const BAD_COUNTS = [1, 3];

function units(count: number, bad: number): RemoteUnit[] {
  // Bad units spread through the list, each adding a server haproxy cannot parse.
  const badAt = new Set(
    Array.from({ length: bad }, (_, i) => Math.floor(((i + 1) * count) / (bad + 1))),
  );
  return Array.from({ length: count }, (_, i) => ({
    relationId: "reverseproxy:1",
    unit: `web/${i}`,
    settings: {
      "private-address": `10.${Math.floor(i / 250)}.${i % 250}.1`,
      port: "8000",
      ...(badAt.has(i) && {
        services: `- {service_name: web, servers: [[bad-${i}, 10.9.9.${i % 250}, 80, frobnicate]]}`,
      }),
    },
  }));
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), "bench-rejected-"));
  const paths: Paths = {
    haproxyConfig: join(root, "etc", "haproxy.cfg"),
    haproxyLib: join(root, "lib"),
    haproxyRun: join(root, "run"),
    charmState: join(root, "state"),
  };
  await mkdir(paths.haproxyLib, { recursive: true });
  const rows: string[] = [];
  try {
    for (const size of SIZES) {
      for (const bad of BAD_COUNTS) {
        const inputs: HookInputs = {
          unitName: "haproxy/0",
          privateAddress: "10.0.0.1",
          publicAddress: "203.0.113.1",
          config: {
            services:
              "- {service_name: web, service_host: 0.0.0.0, service_port: 80, service_options: [balance leastconn]}",
          },
          reverseproxy: units(size, bad),
          peers: [],
        };
        const probe = haproxyProbe(
          {
            paths,
            haproxyBinary: "haproxy",
            service: new RecordingService(),
            fileOwner: "haproxy",
          },
          parseCharmConfig(inputs.config),
        );
        const measure = async (suspects: ReadonlySet<string>) => {
          let probes = 0;
          const started = performance.now();
          const isolation = await isolateRejectedUnits(
            inputs,
            (candidate) => {
              probes += 1;
              return probe(candidate);
            },
            suspects,
          );
          const ms = Math.round(performance.now() - started);
          return { rejected: isolation?.rejected ?? [], probes, ms };
        };
        const first = await measure(new Set());
        const later = await measure(new Set(first.rejected.map((unit) => unit.unit)));
        rows.push(
          `| ${size} | ${bad} | ${first.rejected.length} | ${first.probes} | ${first.ms} ` +
            `| ${later.probes} | ${later.ms} |`,
        );
      }
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  console.log(
    "| related units | bad | left out | haproxy -c runs | ms | later hook: runs | later hook: ms |",
  );
  console.log("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const row of rows) console.log(row);
}

await main();
