// Puts a certificate into the running haproxy through its admin socket, so
// that a certificate arriving or renewed is served without a reload: the
// file is written first (a restart serves the same), then haproxy's
// certificate transaction (`set ssl cert`, `commit ssl cert`) swaps it in
// memory, and `show ssl cert` must then report the new serial. Anything else
// is a failure the caller answers with a reload, which reads the file. A
// certificate no longer wanted leaves the crt-list and haproxy's memory
// (`del ssl crt-list`, `del ssl cert`) the same way.
//
// The PEM travels as a `<<` payload, which ends at the first empty line: a
// line after it would be read as a command. So only PEM blocks pass (BEGIN
// line, base64 lines, END line, nothing between or around them), and file
// names only of letters, digits and `/._-`; anything else is refused before
// a byte is written or sent.
import { X509Certificate } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";

import { type AccountIds, readIfExists, writeFileAtomic } from "../lib/atomicFile.js";
import { describeError } from "../lib/describeError.js";
import { askAdminSocket } from "../metrics/statsSocket.js";
import type { CertificateStep } from "../model/certificateUpdate.js";
import type { AskHaproxy } from "./runtimeServers.js";

export type RuntimeCertificateResult =
  | { readonly applied: true }
  /** Nothing changed in haproxy's memory that the file does not say: reload. */
  | { readonly applied: false; readonly problem: string };

export interface RuntimeCertificateOptions {
  /** Owner of the files written (root on a unit: haproxy's master reads them); absent, the writer's. */
  readonly owner?: string | AccountIds;
  /** How long haproxy may take to answer one command. */
  readonly timeoutMs?: number;
}

/**
 * haproxy reads a command and its payload into one buffer of tune.bufsize
 * (16 KiB by default); a longer one would be cut. A leaf, its chain and an
 * RSA key are a few KiB.
 */
export const MAX_COMMAND_BYTES = 15 * 1024;

const FILE_NAME = /^\/[A-Za-z0-9._/-]+$/;
const BEGIN = /^-----BEGIN ([A-Z0-9]+(?: [A-Z0-9]+)*)-----$/;
const END = /^-----END ([A-Z0-9]+(?: [A-Z0-9]+)*)-----$/;
const BASE64_LINE = /^[A-Za-z0-9+/]{1,76}={0,2}$/;

/** Why `pem` may not go to the admin socket, or undefined when it is nothing but PEM blocks. */
export function pemPayloadProblem(pem: string): string | undefined {
  const body = pem.endsWith("\n") ? pem.slice(0, -1) : pem;
  if (body === "") return "is empty";
  let open: string | undefined;
  let blocks = 0;
  for (const [index, line] of body.split("\n").entries()) {
    const where = `line ${index + 1}`;
    if (open === undefined) {
      const label = BEGIN.exec(line)?.[1];
      if (label === undefined) return `${where} is outside a PEM block`;
      open = label;
    } else if (END.test(line)) {
      if (END.exec(line)?.[1] !== open) return `${where} ends another block than ${open}`;
      open = undefined;
      blocks += 1;
    } else if (!BASE64_LINE.test(line)) {
      return `${where} is not base64 inside ${open}`;
    }
  }
  if (open !== undefined) return `its ${open} block does not end`;
  if (!body.startsWith("-----BEGIN CERTIFICATE-----")) return "does not start with a certificate";
  return blocks > 0 ? undefined : "holds no PEM block";
}

/** Why `file` may not be named on the admin socket, or undefined. */
export function fileNameProblem(file: string): string | undefined {
  return FILE_NAME.test(file)
    ? undefined
    : `${JSON.stringify(file.slice(0, 200))} is not an absolute path of letters, digits and /._-`;
}

/**
 * Replaces the certificate haproxy loaded from `certFile` (a `crt` or a
 * crt-list line) with `pem` (leaf, chain, key), without a reload.
 */
export async function replaceCertificate(
  haproxy: string | AskHaproxy,
  certFile: string,
  pem: string,
  options: RuntimeCertificateOptions = {},
): Promise<RuntimeCertificateResult> {
  const checked = checkRequest(certFile, pem);
  if ("problem" in checked) return refused(checked.problem);
  const ask = asker(haproxy, options);
  try {
    await writeCertificate(certFile, checked.payload, options);
    const problem = await swapIn(ask, certFile, checked.payload, checked.serial);
    return problem === undefined ? { applied: true } : refused(problem);
  } catch (error) {
    return refused(describeError(error));
  }
}

/**
 * Loads `pem` (leaf, chain, key) as the new `certFile` and adds it to the
 * crt-list `crtListFile` that a `bind ... ssl crt-list` reads, without a
 * reload: its names are then served by SNI. The crt-list file gets the line
 * too.
 */
export async function addCertificate(
  haproxy: string | AskHaproxy,
  crtListFile: string,
  certFile: string,
  pem: string,
  options: RuntimeCertificateOptions = {},
): Promise<RuntimeCertificateResult> {
  const listProblem = fileNameProblem(crtListFile);
  if (listProblem !== undefined) return refused(`the crt-list ${listProblem}`);
  const checked = checkRequest(certFile, pem);
  if ("problem" in checked) return refused(checked.problem);
  const ask = asker(haproxy, options);
  let created = false;
  try {
    await writeCertificate(certFile, checked.payload, options);
    await addToCrtListFile(crtListFile, certFile, options);

    const store = `new ssl cert ${certFile}`;
    const stored = await ask(store);
    // Known already (an earlier attempt, or another crt-list): its content is replaced.
    if (/New empty certificate store/.test(stored)) created = true;
    else if (!/already exists/.test(stored)) return refused(unexpected(store, stored));

    const problem = await swapIn(ask, certFile, checked.payload, checked.serial);
    if (problem !== undefined) {
      if (created) await ask(`del ssl cert ${certFile}`).catch(() => undefined);
      return refused(problem);
    }
    const show = `show ssl crt-list ${crtListFile}`;
    if (!listsCertificate(await ask(show), certFile)) {
      const add = `add ssl crt-list ${crtListFile} ${certFile}`;
      const added = await ask(add);
      if (!/Success!/.test(added)) return refused(unexpected(add, added));
      const listed = await ask(show);
      if (!listsCertificate(listed, certFile)) {
        return refused(`${unexpected(show, listed)}: ${certFile} is not in it`);
      }
    }
    return { applied: true };
  } catch (error) {
    return refused(describeError(error));
  }
}

/**
 * Deletes `certFile` from the crt-list `crtListFile` in the running haproxy,
 * then from its memory, without a reload; then the crt-list file loses the
 * line too. The certificate file stays: whoever wrote it removes it. haproxy
 * refuses to delete the default certificate of a bind (the first one it
 * loaded): a restart would pick another one, so that takes a reload.
 */
export async function removeCertificate(
  haproxy: string | AskHaproxy,
  crtListFile: string,
  certFile: string,
  options: RuntimeCertificateOptions = {},
): Promise<RuntimeCertificateResult> {
  const listProblem = fileNameProblem(crtListFile);
  if (listProblem !== undefined) return refused(`the crt-list ${listProblem}`);
  const fileProblem = fileNameProblem(certFile);
  if (fileProblem !== undefined) return refused(`the certificate file ${fileProblem}`);
  const ask = asker(haproxy, options);
  try {
    const show = `show ssl crt-list ${crtListFile}`;
    if (listsCertificate(await ask(show), certFile)) {
      const del = `del ssl crt-list ${crtListFile} ${certFile}`;
      const deleted = await ask(del);
      if (!/deleted in crtlist/.test(deleted)) return refused(unexpected(del, deleted));
      const listed = await ask(show);
      if (listsCertificate(listed, certFile)) {
        return refused(`${unexpected(show, listed)}: ${certFile} is still in it`);
      }
    }
    // Gone already (an earlier attempt) is as good as deleted now.
    const forget = `del ssl cert ${certFile}`;
    const forgotten = await ask(forget);
    if (!/deleted!|doesn't exist/.test(forgotten)) return refused(unexpected(forget, forgotten));
    // Last: were haproxy to refuse, the file would still say what it serves.
    await removeFromCrtListFile(crtListFile, certFile, options);
    return { applied: true };
  } catch (error) {
    return refused(describeError(error));
  }
}

/**
 * Takes `steps` (model/certificateUpdate.ts) into the running haproxy in order; the
 * first that fails stops the rest, and the caller reloads: every file is
 * written already, so the reload serves them all.
 */
export async function applyCertificateSteps(
  haproxy: string | AskHaproxy,
  crtListFile: string,
  steps: readonly CertificateStep[],
  options: RuntimeCertificateOptions = {},
): Promise<RuntimeCertificateResult> {
  for (const step of steps) {
    const result = await applyStep(haproxy, crtListFile, step, options);
    if (!result.applied) return refused(`${step.kind} ${step.certFile}: ${result.problem}`);
  }
  return { applied: true };
}

function applyStep(
  haproxy: string | AskHaproxy,
  crtListFile: string,
  step: CertificateStep,
  options: RuntimeCertificateOptions,
): Promise<RuntimeCertificateResult> {
  switch (step.kind) {
    case "replace":
      return replaceCertificate(haproxy, step.certFile, step.pem, options);
    case "add":
      return addCertificate(haproxy, crtListFile, step.certFile, step.pem, options);
    case "remove":
      return removeCertificate(haproxy, crtListFile, step.certFile, options);
  }
}

/** A socket path is asked directly; a function (the caller's own connection) as it is. */
function asker(haproxy: string | AskHaproxy, options: RuntimeCertificateOptions): AskHaproxy {
  if (typeof haproxy !== "string") return haproxy;
  return (command) => askAdminSocket(haproxy, command, options.timeoutMs ?? 5000);
}

interface CheckedRequest {
  /** The PEM with exactly one final newline. */
  readonly payload: string;
  /** The leaf's serial, as `show ssl cert` prints it. */
  readonly serial: string;
}

function checkRequest(certFile: string, pem: string): CheckedRequest | { problem: string } {
  const fileProblem = fileNameProblem(certFile);
  if (fileProblem !== undefined) return { problem: `the certificate file ${fileProblem}` };
  const pemProblem = pemPayloadProblem(pem);
  if (pemProblem !== undefined) {
    return { problem: `the PEM for ${certFile} ${pemProblem}; nothing sent to haproxy` };
  }
  const payload = pem.endsWith("\n") ? pem : `${pem}\n`;
  if (Buffer.byteLength(payload) + certFile.length + 20 > MAX_COMMAND_BYTES) {
    return { problem: `the PEM for ${certFile} is too long for one admin socket command` };
  }
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(/^[\s\S]+?-----END CERTIFICATE-----/.exec(payload)?.[0] ?? "");
  } catch {
    return { problem: `the PEM for ${certFile} does not start with a certificate that parses` };
  }
  return { payload, serial: normalSerial(leaf.serialNumber) };
}

/** `set ssl cert`, `commit ssl cert`, then the serial read back; a problem, or undefined. */
async function swapIn(
  ask: AskHaproxy,
  certFile: string,
  payload: string,
  serial: string,
): Promise<string | undefined> {
  const abort = () => ask(`abort ssl cert ${certFile}`).catch(() => undefined);
  // askAdminSocket ends the command with a newline: the empty line that ends the payload.
  const set = `set ssl cert ${certFile} <<\n${payload}`;
  const transaction = await ask(set);
  if (!/Transaction (created|updated)/.test(transaction)) {
    await abort();
    return unexpected(`set ssl cert ${certFile}`, transaction);
  }
  const commit = `commit ssl cert ${certFile}`;
  const committed = await ask(commit);
  if (!/Success!/.test(committed)) {
    await abort();
    return unexpected(commit, committed);
  }
  const show = `show ssl cert ${certFile}`;
  const shown = await ask(show);
  const live = /^Serial: ([0-9A-Fa-f]+)$/m.exec(shown)?.[1];
  if (live === undefined || normalSerial(live) !== serial) {
    await abort();
    return `${unexpected(show, shown)}: serial ${live ?? "none"}, not the new certificate's ${serial}`;
  }
  return undefined;
}

async function writeCertificate(
  certFile: string,
  payload: string,
  options: RuntimeCertificateOptions,
): Promise<void> {
  await mkdir(dirname(certFile), { recursive: true, mode: 0o755 });
  await writeFileAtomic(certFile, payload, {
    mode: 0o600,
    ...(options.owner !== undefined && { owner: options.owner }),
  });
}

/** The crt-list file names `certFile` on a line of its own, as a restart must find it. */
async function addToCrtListFile(
  crtListFile: string,
  certFile: string,
  options: RuntimeCertificateOptions,
): Promise<void> {
  const text = (await readIfExists(crtListFile)) ?? "";
  if (listsCertificate(text, certFile)) return;
  const separator = text === "" || text.endsWith("\n") ? "" : "\n";
  await writeFileAtomic(crtListFile, `${text}${separator}${certFile}\n`, {
    mode: 0o644,
    ...(options.owner !== undefined && { owner: options.owner }),
  });
}

/** The crt-list file no longer names `certFile`, as a restart must not find it. */
async function removeFromCrtListFile(
  crtListFile: string,
  certFile: string,
  options: RuntimeCertificateOptions,
): Promise<void> {
  const text = await readIfExists(crtListFile);
  if (text === undefined || !listsCertificate(text, certFile)) return;
  const kept = text.split("\n").filter((line) => !listsCertificate(line, certFile));
  await writeFileAtomic(crtListFile, kept.join("\n"), {
    mode: 0o644,
    ...(options.owner !== undefined && { owner: options.owner }),
  });
}

/** Whether a crt-list (its file, or `show ssl crt-list`) has a line for `certFile`. */
function listsCertificate(crtList: string, certFile: string): boolean {
  return crtList.split("\n").some((line) => line.trim().split(/\s+/)[0] === certFile);
}

function normalSerial(serial: string): string {
  return serial.toUpperCase().replace(/^0+(?=.)/, "");
}

function unexpected(command: string, answer: string): string {
  return `\`${command}\` answered ${JSON.stringify(answer.trim().slice(0, 300) || "nothing")}`;
}

function refused(problem: string): RuntimeCertificateResult {
  return { applied: false, problem };
}
