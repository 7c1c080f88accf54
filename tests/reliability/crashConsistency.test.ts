// Crash consistency: the real apply step, run as its own process driving a
// real haproxy, is killed with SIGKILL after each of its file system steps in
// turn (and in the middle of each write). After every kill the live
// haproxy.cfg is the old or the new file, whole, haproxy accepts it, every
// certificate and error page it names exists and is complete, and haproxy
// still serves; the next apply then converges on the new configuration and
// haproxy serves it.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { applyPlan, type ApplyPlanInput } from "../../src/apply/applyPlan.js";
import { stateFilePath } from "../../src/stateFiles.js";
import type { RemoteUnit } from "../../src/juju/hookInputs.js";
import { planFromInputs } from "../helpers/planFromInputs.js";
import type { Paths } from "../../src/paths.js";
import { renderHaproxyConfig } from "../../src/render/renderHaproxyConfig.js";
import { pemBundleProblem } from "../../src/lib/pemBundle.js";
import { type TestCertificate, makeCertificate } from "../helpers/certificates.js";
import { checkHaproxyConfig } from "../helpers/haproxyCheck.js";
import { HaproxyProcess, findFreePort } from "../helpers/haproxyProcess.js";
import { type Backend, httpGet, startBackend } from "../helpers/httpBackends.js";
import type { ApplyJob } from "./crash/applyOnce.js";

let root: string;
let paths: Paths;
let snapshot: string;
let harness: { readonly entry: string; readonly preload: string };
let haproxy: HaproxyProcess;
let alpha: Backend;
let beta: Backend;
let webPort: number;
let oldPlan: ApplyPlanInput;
let newPlan: ApplyPlanInput;

// File system steps of applying the new plan over the old one (README:
// "Crash consistency"), and the file writes among them, each also torn.
const APPLY_STEPS = 44;
const TORN_WRITES = 6;

const base64 = (text: string) => Buffer.from(text).toString("base64");
const page = (body: string) =>
  `HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain\r\n\r\n${body}\n`;

/** A plan as the charm makes it: web over HTTP, TLS with the default certificate, maybe an api with its own. */
function planFor(
  backend: Backend,
  defaultCertificate: TestCertificate,
  ports: { tls: number; api?: number },
  sorry: string,
  apiCertificate?: TestCertificate,
): ApplyPlanInput {
  const services = [
    `- service_name: web`,
    `  service_host: 127.0.0.1`,
    `  service_port: ${webPort}`,
    `  errorfiles: [{http_status: 503, content: ${base64(page(sorry))}}]`,
    `- service_name: tls`,
    `  service_host: 127.0.0.1`,
    `  service_port: ${ports.tls}`,
    `  crts: [DEFAULT]`,
    ...(apiCertificate === undefined || ports.api === undefined
      ? []
      : [
          `- service_name: api`,
          `  service_host: 127.0.0.1`,
          `  service_port: ${ports.api}`,
          `  crts: [${base64(apiCertificate.pem)}]`,
        ]),
  ].join("\n");
  const unit = (name: string, service: string): RemoteUnit => ({
    relationId: "reverseproxy:1",
    unit: name,
    settings: { "private-address": "127.0.0.1", port: String(backend.port), service_name: service },
  });
  const plan = planFromInputs(
    {
      unitName: "haproxy/0",
      privateAddress: "127.0.0.1",
      publicAddress: "127.0.0.1",
      config: {
        services,
        ssl_cert: defaultCertificate.base64Certificate,
        ssl_key: defaultCertificate.base64Key,
      },
      reverseproxy: [
        unit("app/0", "web"),
        unit("app/1", "tls"),
        ...(apiCertificate === undefined ? [] : [unit("app/2", "api")]),
      ],
      peers: [],
    },
    paths,
  );
  return { haproxyCfg: renderHaproxyConfig(plan.config), files: plan.files };
}

interface Step {
  /** The preload's step number; service actions have none. */
  readonly number?: number;
  readonly text: string;
}

interface HarnessRun {
  readonly killed: boolean;
  readonly steps: Step[];
}

/** Runs the apply step in its own process, killed after step `kill.after` (never, without one). */
async function runHarness(
  plan: ApplyPlanInput,
  kill?: { readonly after: number; readonly torn: boolean },
): Promise<HarnessRun> {
  const jobFile = join(root, "job.json");
  const logFile = join(root, "steps.log");
  const job: ApplyJob = { plan, paths, pidFile: join(root, "haproxy.pid"), actionLog: logFile };
  await writeFile(jobFile, JSON.stringify(job));
  await writeFile(logFile, "");
  const env = {
    ...process.env,
    KILL_LOG: logFile,
    ...(kill !== undefined && { KILL_AFTER_WRITES: String(kill.after) }),
    ...(kill?.torn === true && { TORN_WRITE: "1" }),
  };
  const killed = await new Promise<boolean>((resolve, reject) => {
    execFile(
      process.execPath,
      ["--import", harness.preload, harness.entry, jobFile],
      { env, timeout: 20_000 },
      (error, _stdout, stderr) => {
        if (error === null) resolve(false);
        else if (error.signal === "SIGKILL") resolve(true);
        else reject(new Error(`apply harness failed: ${error.message}\n${stderr}`));
      },
    );
  });
  const steps = (await readFile(logFile, "utf8"))
    .split("\n")
    .filter((line) => line !== "")
    .map((text) => {
      const number = /^(\d+) /.exec(text)?.[1];
      return number === undefined ? { text } : { number: Number(number), text };
    });
  return { killed, steps };
}

/** Puts back the files exactly as a finished apply of the old plan left them, and haproxy serving them. */
async function restoreOldState(): Promise<void> {
  for (const dir of ["etc", "lib", "state"]) {
    await rm(join(root, dir), { recursive: true, force: true });
    await cp(join(snapshot, dir), join(root, dir), { recursive: true, preserveTimestamps: true });
  }
  await haproxy.reload();
  await eventuallyServes("alpha");
}

/** Files the live configuration names: certificates (`crt`) and error pages (`errorfile`). */
function referencedFiles(config: string): { certificates: string[]; errorfiles: string[] } {
  return {
    certificates: [...config.matchAll(/\scrt (\S+)/g)].map((match) => match[1] as string),
    errorfiles: [...config.matchAll(/^\s*errorfile \d+ (\S+)/gm)].map(
      (match) => match[1] as string,
    ),
  };
}

/** haproxy's verdict on a configuration and the files it names, asked once per distinct state. */
const verdicts = new Map<string, { ok: boolean; output: string }>();

/** What must hold whenever the apply step has died, wherever it died. */
async function expectConsistentLiveState(where: string): Promise<"old" | "new"> {
  const live = await readFile(paths.haproxyConfig, "utf8");
  expect([oldPlan.haproxyCfg, newPlan.haproxyCfg], where).toContain(live);
  const { certificates, errorfiles } = referencedFiles(live);
  expect(certificates.length, where).toBeGreaterThan(0);
  const state = createHash("sha256").update(live);
  for (const file of certificates) {
    const pem = await readFile(file, "utf8");
    expect(pemBundleProblem(pem), `${where}: ${file}`).toBeUndefined();
    state.update(pem);
  }
  for (const file of errorfiles) {
    const body = await readFile(file, "utf8");
    expect(body, `${where}: ${file}`).toMatch(/^HTTP\/1\.0 503 [^]*\n$/);
    state.update(body);
  }
  const key = state.digest("hex");
  const verdict = verdicts.get(key) ?? (await checkHaproxyConfig(live));
  verdicts.set(key, verdict);
  expect(verdict.ok, `${where}\n${verdict.output}`).toBe(true);
  return live === newPlan.haproxyCfg ? "new" : "old";
}

async function expectNewPlanLive(where: string): Promise<void> {
  expect(await readFile(paths.haproxyConfig, "utf8"), where).toBe(newPlan.haproxyCfg);
  for (const file of newPlan.files) {
    expect(await readFile(file.path, "utf8"), `${where}: ${file.path}`).toBe(file.content);
  }
  expect(existsSync(stateFilePath(paths.charmState, "reloadPending")), where).toBe(false);
}

/** Temporary files and candidates under the unit's directories, which nothing should leave. */
async function leftovers(): Promise<string[]> {
  const found: string[] = [];
  for (const dir of ["etc", "lib", "state"]) {
    const names = await readdir(join(root, dir), { recursive: true });
    found.push(
      ...names.filter((name) => /\.tmp$|\.new$/.test(name)).map((name) => `${dir}/${name}`),
    );
  }
  return found;
}

async function eventuallyServes(body: string, where = ""): Promise<void> {
  const deadline = Date.now() + 10_000;
  let last = "";
  while (Date.now() < deadline) {
    last = (await httpGet(webPort)).body;
    if (last === body) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(last, where).toBe(body);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "crash-"));
  snapshot = join(root, "snapshot");
  paths = {
    haproxyConfig: join(root, "etc", "haproxy", "haproxy.cfg"),
    haproxyLib: join(root, "lib"),
    haproxyRun: join(root, "run"),
    charmState: join(root, "state"),
  };
  await Promise.all([mkdir(paths.haproxyLib), mkdir(paths.haproxyRun), mkdir(paths.charmState)]);
  await mkdir(join(root, "etc", "haproxy"), { recursive: true });

  const out = join(root, "harness");
  await build({
    entryPoints: {
      applyOnce: join(import.meta.dirname, "crash", "applyOnce.ts"),
      killAfterWrites: join(import.meta.dirname, "crash", "killAfterWrites.ts"),
    },
    outdir: out,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "silent",
    // Bundled CommonJS dependencies call require(); give the ESM output one.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
  });
  harness = { entry: join(out, "applyOnce.mjs"), preload: join(out, "killAfterWrites.mjs") };

  [alpha, beta] = await Promise.all([startBackend("alpha"), startBackend("beta")]);
  webPort = await findFreePort();
  const ports = { tls: await findFreePort(), api: await findFreePort() };
  const [oldDefault, newDefault, api] = ["old.example", "new.example", "api.example"].map((name) =>
    makeCertificate(name),
  ) as [TestCertificate, TestCertificate, TestCertificate];
  oldPlan = planFor(alpha, oldDefault, ports, "old sorry");
  newPlan = planFor(beta, newDefault, ports, "new sorry", api);

  haproxy = new HaproxyProcess({
    configFile: paths.haproxyConfig,
    pidFile: join(root, "haproxy.pid"),
    probePorts: [webPort],
  });
  await applyPlan(oldPlan, {
    paths,
    haproxyBinary: "haproxy",
    service: haproxy,
    fileOwner: "haproxy",
  });
  for (const dir of ["etc", "lib", "state"]) {
    await cp(join(root, dir), join(snapshot, dir), { recursive: true, preserveTimestamps: true });
  }
}, 60_000);

afterAll(async () => {
  await haproxy?.stop();
  await Promise.all([alpha?.close(), beta?.close()]);
  await rm(root, { recursive: true, force: true });
});

describe("crash consistency of the apply step", () => {
  it("leaves the old or the new configuration, whole and valid with all its files and served by haproxy, after a SIGKILL at any step; the next apply converges", async () => {
    // A run without a kill lists the steps, and where the reload falls among them.
    await restoreOldState();
    const full = await runHarness(newPlan);
    expect(full.killed).toBe(false);
    const steps = full.steps.filter((step) => step.number !== undefined);
    // The README gives this number: a change to the apply step's writes shows here.
    expect(steps).toHaveLength(APPLY_STEPS);
    const reloadIndex = full.steps.findIndex((step) => step.text === "- service reload");
    expect(reloadIndex).toBeGreaterThan(0);
    const lastStepBeforeReload = full.steps[reloadIndex - 1]?.number ?? 0;
    expect(steps.some((step) => step.text.endsWith(`rename ${paths.haproxyConfig}.new`))).toBe(
      true,
    );

    const killPoints = [
      ...steps.map((step) => ({ after: step.number ?? 0, torn: false })),
      ...steps
        .filter((step) => step.text.includes(" handle.writeFile "))
        .map((step) => ({ after: step.number ?? 0, torn: true })),
    ];
    expect(killPoints).toHaveLength(APPLY_STEPS + TORN_WRITES);
    const seen = { old: 0, new: 0 };
    for (const kill of killPoints) {
      await restoreOldState();
      const where = `killed ${kill.torn ? "in the middle of" : "after"} step ${steps[kill.after - 1]?.text}`;
      const run = await runHarness(newPlan, kill);
      expect(run.killed, where).toBe(true);
      seen[await expectConsistentLiveState(where)] += 1;
      const reloadedBeforeDeath = !kill.torn && kill.after > lastStepBeforeReload;
      expect(await haproxy.isRunning(), where).toBe(true);
      await eventuallyServes(reloadedBeforeDeath ? "beta" : "alpha", where);

      // The next hook's apply converges, reloading unless the dead run already had.
      const before = { reloads: haproxy.reloads, starts: haproxy.starts };
      await applyPlan(newPlan, {
        paths,
        haproxyBinary: "haproxy",
        service: haproxy,
        fileOwner: "haproxy",
      });
      await expectNewPlanLive(where);
      expect(await leftovers(), where).toEqual([]);
      await eventuallyServes("beta", where);
      expect(
        { reloads: haproxy.reloads - before.reloads, starts: haproxy.starts - before.starts },
        where,
      ).toEqual({ reloads: reloadedBeforeDeath ? 0 : 1, starts: 0 });
    }
    expect(seen.old).toBeGreaterThan(0);
    expect(seen.new).toBeGreaterThan(0);
  }, 300_000);
});
