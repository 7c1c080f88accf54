// Packs the deployable charm: a zip holding exactly what charmcraft.yaml
// primes, plus the manifest.yaml charmcraft would write. Exec bits survive
// (Info-ZIP stores Unix modes), so Juju can run dispatch and hooks/*.
//
//   node scripts/pack-charm.mjs [--output haproxy.charm]
import { execFileSync } from "node:child_process";
import { accessSync, constants, cpSync, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import yaml from "js-yaml";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const output = resolve(root, optionValue("--output") ?? "haproxy.charm");

const recipe = yaml.load(readFileSync(join(root, "charmcraft.yaml"), "utf8"));
const prime = recipe?.parts?.charm?.prime;
if (!Array.isArray(prime) || prime.length === 0) {
  fail("charmcraft.yaml has no parts.charm.prime list");
}

const missing = prime.filter((entry) => !existsSync(join(root, entry)));
if (missing.length > 0) {
  const hint = missing.includes("dist") ? " (run `make bundle` first)" : "";
  fail(`files listed in charmcraft.yaml's prime list are missing: ${missing.join(", ")}${hint}`);
}
// A file Juju reads from the charm root but the prime list forgets would
// silently vanish from the deployed charm.
for (const file of ["actions.yaml", "LICENSE"]) {
  if (existsSync(join(root, file)) && !prime.includes(file)) {
    fail(`${file} exists but charmcraft.yaml does not prime it`);
  }
}
requireExecutable("dispatch");
if (prime.includes("hooks")) {
  for (const name of readdirSync(join(root, "hooks"))) {
    const path = join("hooks", name);
    if (statSync(join(root, path)).isFile()) requireExecutable(path);
  }
}

const stage = mkdtempSync(join(tmpdir(), "pack-charm-"));
try {
  for (const entry of prime) {
    cpSync(join(root, entry), join(stage, entry), { recursive: true, preserveTimestamps: true });
  }
  writeFileSync(join(stage, "manifest.yaml"), manifest(recipe));
  rmSync(output, { force: true });
  // -X: no extra attributes, so the zip depends on file contents and modes only.
  execFileSync("zip", ["-X", "-r", "-q", output, "."], { cwd: stage, stdio: "inherit" });
} finally {
  rmSync(stage, { recursive: true, force: true });
}
console.log(`packed ${output} (${prime.join(", ")}, manifest.yaml)`);

/** manifest.yaml as charmcraft writes it: one base listing every platform's architecture. */
function manifest(project) {
  const [name, channel] = String(project.base ?? "").split("@");
  if (!name || !channel)
    fail(`charmcraft.yaml: base must read <name>@<channel>, not ${project.base}`);
  const architectures = Object.entries(project.platforms ?? {}).flatMap(
    ([platform, spec]) => spec?.["build-for"] ?? [platform],
  );
  if (architectures.length === 0) fail("charmcraft.yaml lists no platforms");
  const startedAt = process.env.SOURCE_DATE_EPOCH
    ? new Date(Number(process.env.SOURCE_DATE_EPOCH) * 1000)
    : new Date();
  const version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
  return yaml.dump({
    analysis: {
      attributes: [
        { name: "language", result: "unknown" },
        { name: "framework", result: "unknown" },
      ],
    },
    bases: [{ architectures, channel, name }],
    "charmcraft-started-at": startedAt.toISOString(),
    // Not charmcraft itself: say which tool wrote the file.
    "charmcraft-version": `pack-charm-${version}`,
  });
}

function requireExecutable(path) {
  try {
    accessSync(join(root, path), constants.X_OK);
  } catch {
    fail(`${path} is not executable: Juju could not run it`);
  }
}

function optionValue(flag) {
  const index = process.argv.indexOf(flag);
  return index === -1 ? undefined : process.argv[index + 1];
}

function fail(message) {
  console.error(`pack-charm: ${message}`);
  process.exit(1);
}
