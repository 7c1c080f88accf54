// `source` and `key`: an extra apt source for the haproxy package, as the old
// charm offered. Applied only when they change: the source is added, the
// previous one removed, the package lists updated and haproxy upgraded from
// the new source (unless package_status holds it).
import { readFile, readdir } from "node:fs/promises";
import path from "node:path";

import { ConfigError } from "../lib/errors.js";
import { readIfExists, writeFileAtomic } from "../lib/atomicFile.js";
import { removeIfPresent, writeIfChanged } from "../lib/managedFiles.js";
import { type HostCommands, aptGet, aptGetInstall, mustRun } from "./hostCommands.js";

export type AptSource =
  | { readonly kind: "none" }
  | { readonly kind: "backports" }
  | { readonly kind: "ppa"; readonly ppa: string }
  /** A one-line-style entry: `deb [options] URI suite [components]`. */
  | { readonly kind: "deb"; readonly line: string };

export interface AptSourceOptions {
  readonly source: AptSource;
  /** An ASCII-armored public key that signs the source, or undefined. */
  readonly key?: string;
}

const ARMORED_KEY =
  /^-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]+-----END PGP PUBLIC KEY BLOCK-----\s*$/;

/** Checks `source` and `key` (pure). */
export function parseAptSource(sourceOption: string, keyOption: string): AptSourceOptions {
  const text = sourceOption.trim();
  const key = keyOption.trim();
  if (key !== "" && !ARMORED_KEY.test(key)) {
    throw new ConfigError(
      "key",
      "must be an ASCII-armored public key block (-----BEGIN PGP PUBLIC KEY BLOCK-----); " +
        "key ids are not fetched from a keyserver",
    );
  }
  const withKey = (source: AptSource): AptSourceOptions =>
    key === "" ? { source } : { source, key: `${key}\n` };
  if (text === "") return withKey({ kind: "none" });
  if (/[\r\n]/.test(text)) throw new ConfigError("source", "must be a single line");
  if (text === "backports") return withKey({ kind: "backports" });
  if (text.startsWith("ppa:")) {
    if (!/^ppa:[a-z0-9][a-z0-9.+-]*\/[a-z0-9][a-z0-9.+-]*$/i.test(text)) {
      throw new ConfigError("source", `${JSON.stringify(text)} is not ppa:<owner>/<name>`);
    }
    return withKey({ kind: "ppa", ppa: text });
  }
  if (text.startsWith("cloud:")) {
    throw new ConfigError("source", "Ubuntu Cloud Archive sources (cloud:...) are not supported");
  }
  const line = text.startsWith("deb ") ? text.slice(4).trim() : text;
  const fields = line.replace(/^\[[^\]]*\]\s*/, "").split(/\s+/);
  if (!/^(https?|file|mirror\+https?):\/\/\S+$/.test(fields[0] ?? "") || fields.length < 2) {
    throw new ConfigError(
      "source",
      `${JSON.stringify(text)} is not backports, ppa:<owner>/<name> or "deb <uri> <suite> [components]"`,
    );
  }
  return withKey({ kind: "deb", line: `deb ${line}` });
}

export interface AptLocations {
  /** /etc/apt */
  readonly apt: string;
  /** Remembers what was applied, so nothing runs while the options stay the same. */
  readonly stateFile: string;
}

export function aptListFile(apt: string): string {
  return path.join(apt, "sources.list.d", "haproxy-charm.list");
}
export function aptKeyFile(apt: string): string {
  return path.join(apt, "trusted.gpg.d", "haproxy-charm.asc");
}
export function aptPreferencesFile(apt: string): string {
  return path.join(apt, "preferences.d", "haproxy-charm");
}

export interface AptSourceChange {
  readonly changed: boolean;
  readonly upgraded: boolean;
}

export async function applyAptSource(
  host: HostCommands,
  locations: AptLocations,
  options: AptSourceOptions,
  holdPackage: boolean,
): Promise<AptSourceChange> {
  const wanted = JSON.stringify(options);
  const previousText = await readIfExists(locations.stateFile);
  if (previousText === wanted) return { changed: false, upgraded: false };
  if (previousText === undefined && options.source.kind === "none" && options.key === undefined) {
    return { changed: false, upgraded: false };
  }
  const previous = parsePrevious(previousText);
  const { apt } = locations;

  if (previous?.source.kind === "ppa" && !samePpa(previous.source, options.source)) {
    await mustRun(host, "add-apt-repository", ["--remove", "--yes", previous.source.ppa]);
  }
  if (options.key !== undefined) await writeIfChanged(aptKeyFile(apt), options.key, 0o644);
  else await removeIfPresent(aptKeyFile(apt));

  const source = options.source;
  if (source.kind === "deb") {
    await writeIfChanged(aptListFile(apt), `${source.line}\n`, 0o644);
  } else {
    await removeIfPresent(aptListFile(apt));
  }
  if (source.kind === "backports") {
    const codename = await releaseCodename();
    if (!(await aptSourcesMention(apt, `${codename}-backports`))) {
      throw new Error(
        `source=backports: ${codename}-backports is not among this machine's apt sources`,
      );
    }
    await writeIfChanged(
      aptPreferencesFile(apt),
      `Package: haproxy\nPin: release a=${codename}-backports\nPin-Priority: 500\n`,
      0o644,
    );
  } else {
    await removeIfPresent(aptPreferencesFile(apt));
  }
  if (source.kind === "ppa") await mustRun(host, "add-apt-repository", ["--yes", source.ppa]);

  await aptGet(host, ["update", "-q"]);
  let upgraded = false;
  if (source.kind !== "none" && !holdPackage) {
    await aptGetInstall(host, "haproxy");
    upgraded = true;
  }
  await writeFileAtomic(locations.stateFile, wanted, { mode: 0o600 });
  return { changed: true, upgraded };
}

function samePpa(a: AptSource, b: AptSource): boolean {
  return a.kind === "ppa" && b.kind === "ppa" && a.ppa === b.ppa;
}

function parsePrevious(text: string | undefined): AptSourceOptions | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as AptSourceOptions;
  } catch {
    return undefined;
  }
}

async function releaseCodename(): Promise<string> {
  const osRelease = await readFile("/etc/os-release", "utf8");
  const codename = /^VERSION_CODENAME=["']?([a-z]+)/m.exec(osRelease)?.[1];
  if (codename === undefined) throw new Error("/etc/os-release names no VERSION_CODENAME");
  return codename;
}

async function aptSourcesMention(apt: string, suite: string): Promise<boolean> {
  const files = [path.join(apt, "sources.list")];
  try {
    const listDir = path.join(apt, "sources.list.d");
    for (const name of await readdir(listDir)) files.push(path.join(listDir, name));
  } catch {
    // no sources.list.d
  }
  for (const file of files) {
    if (!/(\.list|\.sources|sources\.list)$/.test(file)) continue;
    const text = await readIfExists(file);
    if (text !== undefined && new RegExp(`(^|\\s)${suite}(\\s|$)`, "m").test(text)) return true;
  }
  return false;
}
