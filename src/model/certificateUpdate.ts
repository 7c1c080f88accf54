// Whether the files a plan changed, with haproxy.cfg unchanged, are only
// certificates the running haproxy can take through its admin socket without
// a reload, and if so, how: the hostnames' certificates and their crt-list,
// and the certificate files binds load with `crt` (external_hostname's, the
// ssl_cert option's). Pure: it reads the files' texts, never haproxy.
//
// The live process must end up serving what a restart with the new files
// would serve. haproxy replaces a loaded certificate in place, and appends a
// certificate added to a crt-list after the others, and forgets one deleted
// from it; so a certificate already loaded is replaced, a new line is added,
// a line gone is deleted, and anything else reloads: another file, or a
// change of the crt-list's first line when that is the bind's default
// certificate (the one a client without a known name gets), which haproxy
// neither changes nor deletes at run time.
import { crtListCertificates } from "./hostnameCrtList.js";

export interface FileChange {
  /** As the plan names it. */
  readonly path: string;
  readonly content: string;
  /** What the file held before; absent, it is new. */
  readonly previous?: string;
}

export type CertificateStep =
  /** A certificate haproxy has: a renewal. */
  | { readonly kind: "replace"; readonly certFile: string; readonly pem: string }
  /** A certificate new to the crt-list: a new hostname. */
  | { readonly kind: "add"; readonly certFile: string; readonly pem: string }
  /** A certificate gone from the crt-list: a hostname without one any more. */
  | { readonly kind: "remove"; readonly certFile: string };

export type CertificateUpdate =
  | {
      readonly kind: "runtime";
      readonly crtList: string;
      /** Replacements, additions in the crt-list's order, then removals. */
      readonly steps: readonly CertificateStep[];
    }
  | { readonly kind: "reload"; readonly reason: string }
  /** No certificate haproxy loads changed: nothing for the runtime API to try. */
  | { readonly kind: "unrelated" };

export interface CertificateUpdateInput {
  /** The crt-list of the hostnames' certificates. */
  readonly crtList: string;
  /** The live haproxy.cfg, which the plan leaves as it is. */
  readonly haproxyCfg: string;
  /** The plan's files whose content changed. */
  readonly changed: readonly FileChange[];
  /** Every file of the plan, by path: what a listed certificate holds. */
  readonly planned: ReadonlyMap<string, string>;
}

export function planCertificateUpdate(input: CertificateUpdateInput): CertificateUpdate {
  const { crtList, changed, planned } = input;
  const listChange = changed.find((file) => file.path === crtList);
  const liveText = listChange === undefined ? planned.get(crtList) : listChange.previous;
  const nextText = planned.get(crtList);
  const live = crtListCertificates(liveText ?? "");
  const next = crtListCertificates(nextText ?? "");
  const bound = boundCertificateFiles(input.haproxyCfg);
  // A certificate a bind loads by name, renewed: replaced where it is.
  const renewedBound = (file: FileChange) =>
    bound.includes(file.path) && file.previous !== undefined && !next.includes(file.path);
  const listed = (file: FileChange) =>
    file.path === crtList || live.includes(file.path) || next.includes(file.path);
  if (!changed.some((file) => listed(file) || renewedBound(file))) return { kind: "unrelated" };
  const replaceBound = changed
    .filter(renewedBound)
    .map((file): CertificateStep => ({ kind: "replace", certFile: file.path, pem: file.content }));
  if (!changed.some(listed)) {
    const other = changed.find((file) => !renewedBound(file));
    if (other !== undefined) return reload(`${other.path} is not a certificate haproxy loads`);
    return { kind: "runtime", crtList, steps: replaceBound };
  }
  if (liveText === undefined || nextText === undefined) {
    return reload(`haproxy loads no ${crtList} to add certificates to`);
  }

  // haproxy appends what is added; of the lines' order, only the first one's
  // place shows to a client (SNI picks the others by name).
  if (next[0] !== live[0] && crtListIsDefault(input.haproxyCfg, crtList)) {
    return reload(
      `the default certificate would change from ${live[0] ?? "none"} to ${next[0] ?? "none"}`,
    );
  }

  const steps: CertificateStep[] = [...replaceBound];
  for (const file of changed) {
    if (file.path === crtList || renewedBound(file)) continue;
    if (!next.includes(file.path)) return reload(`${file.path} is not a certificate haproxy loads`);
    if (live.includes(file.path)) {
      steps.push({ kind: "replace", certFile: file.path, pem: file.content });
    }
  }
  for (const certFile of next.filter((file) => !live.includes(file))) {
    const pem = planned.get(certFile);
    if (pem === undefined) return reload(`${certFile} is listed but not written`);
    steps.push({ kind: "add", certFile, pem });
  }
  for (const certFile of live.filter((file) => !next.includes(file))) {
    steps.push({ kind: "remove", certFile });
  }
  return { kind: "runtime", crtList, steps };
}

/** The files the binds of `haproxyCfg` load with `crt <file>`. */
function boundCertificateFiles(haproxyCfg: string): string[] {
  const files: string[] = [];
  for (const line of haproxyCfg.split("\n")) {
    const words = line.trim().split(/\s+/);
    if (words[0] !== "bind") continue;
    words.forEach((word, i) => {
      const file = words[i + 1];
      if (word === "crt" && file !== undefined) files.push(file);
    });
  }
  return files;
}

/**
 * Whether a bind loads `crtList` before any `crt`: its first line is then
 * that bind's default certificate.
 */
function crtListIsDefault(haproxyCfg: string, crtList: string): boolean {
  return haproxyCfg.split("\n").some((line) => {
    const words = line.trim().split(/\s+/);
    if (words[0] !== "bind") return false;
    const at = words.findIndex((word, i) => word === "crt-list" && words[i + 1] === crtList);
    return at >= 0 && !words.slice(0, at).includes("crt");
  });
}

function reload(reason: string): CertificateUpdate {
  return { kind: "reload", reason };
}
