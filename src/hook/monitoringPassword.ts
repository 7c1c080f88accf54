// `monitoring_password=changeme` means: generate a password once and keep it
// for the unit's life. It is remembered in the charm's state directory, and a
// unit refreshed from the old charm keeps the one in its haproxy.cfg.
import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";

import { readIfExists, writeFileAtomic } from "../lib/atomicFile.js";
import { stateFilePath } from "../stateFiles.js";

const ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

export async function monitoringPassword(
  stateDir: string,
  liveConfigPath: string,
): Promise<string> {
  const stored = stateFilePath(stateDir, "monitoringPassword");
  const remembered = (await readIfExists(stored))?.trim();
  if (remembered) return remembered;
  const password = legacyPassword(await readIfExists(liveConfigPath)) ?? generatePassword(24);
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(stored, password, { mode: 0o600 });
  return password;
}

export function generatePassword(length: number): string {
  return Array.from(randomBytes(length), (byte) => ALPHABET[byte % ALPHABET.length]).join("");
}

/** The old charm's haproxy.cfg carries the password in `stats auth user:password`. */
export function legacyPassword(haproxyCfg: string | undefined): string | undefined {
  return haproxyCfg?.match(/stats auth\s+[^\s:]+:(\S+)/)?.[1];
}
