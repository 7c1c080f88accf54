// `npm run bench:vip`: how long a client on the network goes unserved when
// haproxy stops on the unit that holds the VIP. In the local model (the packed
// charm, a real keepalived and haproxy per unit, unicast VRRP across the
// model's switch), 3 haproxy units hold a VIP; a client on the switch asks it
// one request after another (curl, 1 s timeout). Each trial stops haproxy on
// the holder and measures, from that moment:
//   - moved: until keepalived on another unit entered MASTER (its journal);
//   - failover: until the client was served again (VIP unreachable -> serving);
//   - failed requests in between.
// Then the old holder's haproxy starts again (it does not take the address
// back) and the next trial stops the new holder.
//
//   npm run bench:vip                                  # 10 trials, peering_mode active-active
//   npm run bench:vip -- 20 --peering-mode active-passive
import { availableParallelism, loadavg } from "node:os";
import { parseArgs } from "node:util";

import { packCharm } from "../tests/e2e/packedCharm.js";
import { clientLoop, failoverSince, unusedAddress, vipHolders } from "../tests/e2e/vipClient.js";
import { deployMyWebApp } from "../tests/e2e/webApp.js";
import { LocalModel } from "../tests/localJuju/model.js";

const usage = "usage: npm run bench:vip -- [trials] [--peering-mode active-active|active-passive]";
const { values, positionals } = parseArgs({
  options: { "peering-mode": { type: "string", default: "active-active" } },
  allowPositionals: true,
});
const trials = Number(positionals[0] ?? 10);
const peeringMode = values["peering-mode"];
if (
  !Number.isInteger(trials) ||
  trials < 1 ||
  positionals.length > 1 ||
  (peeringMode !== "active-active" && peeringMode !== "active-passive")
) {
  console.error(usage);
  process.exit(2);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor<T>(probe: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("timed out");
    await sleep(50);
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

const charm = packCharm();
const model = await LocalModel.create({ name: "bench-vip" });
try {
  const vip = unusedAddress(model);
  process.stderr.write(`deploying 3 haproxy units with vip ${vip} (${peeringMode})...\n`);
  await model.deploy(charm.file, { units: 3, config: { peering_mode: peeringMode, vip } });
  await deployMyWebApp(model);
  const units = ["haproxy/0", "haproxy/1", "haproxy/2"];
  const holderNow = async () => {
    const holders = await vipHolders(model, units, vip);
    return holders.length === 1 ? holders[0] : undefined;
  };
  await waitFor(holderNow, 30_000);

  const loop = clientLoop(model, `http://${vip}/`);
  const rows: { moved: number; failover: number; failed: number }[] = [];
  for (let trial = 1; trial <= trials; trial += 1) {
    const holder = await waitFor(holderNow, 30_000);
    // Served steadily before the trial starts.
    await waitFor(async () => {
      const last = loop.requests.slice(-3);
      return last.length === 3 && last.every((r) => r.answer !== undefined) ? true : undefined;
    }, 30_000);
    const stoppedAt = Date.now();
    await model.system(holder).haproxy.stop();
    const failover = await waitFor(async () => failoverSince(loop.requests, stoppedAt), 60_000);
    const moved = await waitFor(async () => {
      for (const unit of units.filter((candidate) => candidate !== holder)) {
        const entry = model
          .system(unit)
          .keepalived.journal.find(
            (line) => line.at >= stoppedAt && line.message.includes("Entering MASTER STATE"),
          );
        if (entry !== undefined) return entry.at - stoppedAt;
      }
      return undefined;
    }, 30_000);
    rows.push({ moved, failover: failover.gapMs, failed: failover.failed });
    process.stderr.write(
      `  trial ${trial}: ${holder} stopped; moved ${moved} ms, served again ${failover.gapMs} ms, ${failover.failed} failed\n`,
    );
    await model.system(holder).haproxy.start();
    // Its check must pass again (rise 2) before it can take over in a later trial.
    await sleep(4000);
  }
  await loop.stop();

  const failovers = rows.map((row) => row.failover);
  const moves = rows.map((row) => row.moved);
  const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  console.log(
    [
      `VIP failover, 3 haproxy units, peering_mode ${peeringMode}, ${trials} trials`,
      "",
      "| figure | median | worst |",
      "| --- | ---: | ---: |",
      `| address moved (another unit MASTER) | ${seconds(median(moves))} | ${seconds(Math.max(...moves))} |`,
      `| failover (VIP unreachable -> serving again) | ${seconds(median(failovers))} | ${seconds(Math.max(...failovers))} |`,
      `| failed requests (1 s timeout each) | ${median(rows.map((r) => r.failed))} | ${Math.max(...rows.map((r) => r.failed))} |`,
      "",
      median(failovers) < 3000
        ? "target met: median failover under 3 s"
        : "target missed: median failover 3 s or more",
    ].join("\n"),
  );
  const load = loadavg().map((average) => average.toFixed(2));
  console.log(`load average at the end: ${load.join(" ")} (${availableParallelism()} cores)`);
} finally {
  model.destroy();
  charm.cleanup();
}
