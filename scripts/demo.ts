// `make demo`: the README's quick start, played in a local Juju model on this
// machine (network and mount namespaces, a real haproxy, real web servers),
// showing what a Juju user would see. Everything it starts is gone when it
// ends, also on Ctrl-C. Run by `node scripts/run-ts.mjs scripts/demo.ts`.

import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { LocalModel } from "../tests/localJuju/model.js";

const charmFile = resolve(process.argv[2] ?? "haproxy.charm");

function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

function command(text: string): void {
  say(`\n$ ${text}`);
}

/** Runs a step and lists the hooks it caused, like a short `juju debug-log`. */
async function step(
  model: LocalModel,
  text: string,
  action: () => Promise<unknown>,
): Promise<void> {
  command(text);
  const before = new Map(unitsOf(model).map((unit) => [unit.name, unit.hookRuns.length]));
  const started = Date.now();
  await action();
  for (const unit of unitsOf(model)) {
    const runs = unit.hookRuns.slice(before.get(unit.name) ?? 0);
    if (runs.length === 0) continue;
    const hooks = runs.map((run) => (run.exitCode === 0 ? run.hook : `${run.hook} (FAILED)`));
    say(`  ${unit.name}: ${hooks.join(", ")}`);
  }
  say(`  (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

function unitsOf(model: LocalModel): ReturnType<LocalModel["requireUnit"]>[] {
  return model
    .status()
    .applications.flatMap((app) => app.units.map((unit) => model.requireUnit(unit.name)));
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new Error("the demo creates network and mount namespaces: run it as root");
  }
  if (!existsSync(charmFile)) throw new Error(`${charmFile} not found: run \`make charm\` first`);
  const started = Date.now();
  say("A local Juju model on this machine: every unit is a machine of its own (network,");
  say("mount and UTS namespaces) on a private network that exists only inside them.");

  const model = await LocalModel.create({ name: "demo" });
  try {
    await step(model, "juju deploy ./haproxy.charm", () => model.deploy(charmFile));
    await step(model, "juju deploy my-web-app -n 2", () =>
      model.deployScripted("my-web-app", {
        units: 2,
        endpoints: { website: { interface: "http", role: "provides" } },
        // What the README's website-relation-joined hook publishes.
        unitSettings: (unit) => ({ hostname: unit.address, port: "80" }),
        httpPort: 80,
      }),
    );
    say("  (my-web-app is played by the model: each unit runs a small web server that");
    say("   answers with its unit name)");
    await step(model, "juju integrate my-web-app:website haproxy:reverseproxy", () =>
      model.integrate("my-web-app:website", "haproxy:reverseproxy"),
    );
    await step(model, "juju add-unit my-web-app", () => model.addUnit("my-web-app"));

    command("juju status");
    say(model.formatStatus().trimEnd());

    command("juju ssh haproxy/0 cat /etc/haproxy/haproxy.cfg");
    say((await model.readFile("haproxy/0", "/etc/haproxy/haproxy.cfg")).trimEnd());

    const address = model.requireUnit("haproxy/0").machine.address;
    command(`for i in 1 2 3 4 5 6; do curl -s http://${address}/; done`);
    for (let index = 0; index < 6; index += 1) {
      const response = await model.http(`http://${address}/`);
      say(`  HTTP ${response.status}  answered by ${response.body.trim()}`);
    }
  } finally {
    model.destroy();
  }
  say(`\nModel destroyed: its processes, namespaces, mounts and files are gone.`);
  say(`Done in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
