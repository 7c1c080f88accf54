// `package_status`: `hold` pins the haproxy package in dpkg's database so
// unattended upgrades leave it alone; `install` releases it.
import { ConfigError } from "../lib/errors.js";
import type { HostCommands } from "./hostCommands.js";

export const SERVICE_PACKAGES = ["haproxy"];

export type PackageSelection = "install" | "hold";

export function packageSelection(value: string): PackageSelection {
  const trimmed = value.trim();
  if (trimmed === "install" || trimmed === "hold") return trimmed;
  throw new ConfigError("package_status", `must be install or hold, not ${JSON.stringify(value)}`);
}

/** Sets the selection where it differs; returns the packages that changed. */
export async function applyPackageSelection(
  host: HostCommands,
  selection: PackageSelection,
): Promise<string[]> {
  const current = await host.run("dpkg", ["--get-selections", ...SERVICE_PACKAGES]);
  const selected = new Map(
    current.stdout
      .split("\n")
      .map((line) => line.trim().split(/\s+/))
      .filter((fields) => fields.length === 2)
      .map(([name, state]) => [(name ?? "").split(":")[0] ?? "", state ?? ""]),
  );
  const changing = SERVICE_PACKAGES.filter((name) => selected.get(name) !== selection);
  if (changing.length === 0) return [];
  const input = changing.map((name) => `${name} ${selection}\n`).join("");
  const result = await host.run("dpkg", ["--set-selections"], input);
  if (result.exitCode !== 0) {
    throw new Error(`dpkg --set-selections failed: ${result.stderr.trim() || "no output"}`);
  }
  return changing;
}
