// A certificate per hostname on the certificates relation: external_hostname
// and the routes' hostnames (wildcards included) each get their CSR, with the
// unit's one key, in the one list of our unit bag; a real openssl CA answers
// them as a provider does. Hostnames come and go, certificates arrive one by
// one and are renewed one by one.
import { execFileSync } from "node:child_process";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { readCharmConfig } from "../../../src/config/charmConfig.js";
import type { HookInputs } from "../../../src/juju/hookInputs.js";
import type { Paths } from "../../../src/paths.js";
import { hostnameCertificatePath } from "../../../src/plan/defaultCertificate.js";
import {
  type RelationCertificate,
  renewalDue,
  withRelationCertificate,
} from "../../../src/relations/certificates/relationCertificate.js";
import { stateFilePath } from "../../../src/stateFiles.js";
import { type CertificateEntry, TestCa, requestedCsrs } from "../../helpers/testCa.js";
import { temporaryPaths } from "../../helpers/temporaryPaths.js";

const EXTERNAL = "shop.example.com";
const APP = "app.example.com";
const WILDCARD = "*.example.com";
const RELATION = "certificates:7";
const DAY = 86_400_000;

const baseInputs: HookInputs = {
  unitName: "haproxy/0",
  privateAddress: "10.0.0.2",
  publicAddress: "10.0.0.2",
  config: {},
  reverseproxy: [],
  peers: [],
};

let ca: TestCa;
let root: string;
let paths: Paths;
let clock: number;
/** What the provider lists in its app bag. */
let offered: CertificateEntry[];

beforeAll(() => {
  ca = TestCa.create();
});
afterAll(() => ca.cleanup());
beforeEach(async () => {
  ({ root, paths } = await temporaryPaths("hostname-certificates-"));
  clock = Date.now();
  offered = [];
});
afterEach(() => rm(root, { recursive: true, force: true }));

/** One hook's pass over the relation, with these route hostnames. */
function reconcileWith(
  routeHostnames: readonly string[],
  external = EXTERNAL,
): Promise<RelationCertificate> {
  // The unit's clock runs on: a certificate issued just now is valid for it.
  clock = Math.max(clock, Date.now());
  return withRelationCertificate(
    paths,
    readCharmConfig({ external_hostname: external }),
    baseInputs,
    [
      {
        relationId: RELATION,
        app: "self-signed-certificates",
        settings: offered.length === 0 ? {} : { certificates: JSON.stringify(offered) },
      },
    ],
    clock,
    routeHostnames,
  );
}

/** The CSRs of our unit bag, by the hostname each asks for. */
function csrsByHostname(result: RelationCertificate): Map<string, string> {
  expect(result.request?.relationId).toBe(RELATION);
  const csrs = requestedCsrs(result.request?.value);
  return new Map(csrs.map((csr) => [subjectOf(csr).cn, csr]));
}

/** CN, x500UniqueIdentifier and subjectAltName of a CSR, as openssl prints them; it fails when the signature does not verify. */
function subjectOf(csr: string): { cn: string; uid: string; san: string; publicKey: string } {
  execFileSync("openssl", ["req", "-noout", "-verify"], {
    input: csr,
    stdio: ["pipe", "ignore", "ignore"],
  });
  const text = execFileSync("openssl", ["req", "-noout", "-text"], {
    input: csr,
    encoding: "utf8",
  });
  const subject = /Subject: CN ?= ?(\S+), x500UniqueIdentifier ?= ?([0-9a-f-]{36})$/m.exec(text);
  const san = /X509v3 Subject Alternative Name:\s*\n\s*(.+)$/m.exec(text);
  const publicKey = execFileSync("openssl", ["req", "-noout", "-pubkey"], {
    input: csr,
    encoding: "utf8",
  });
  return { cn: subject?.[1] ?? "", uid: subject?.[2] ?? "", san: san?.[1] ?? "", publicKey };
}

/** The leaf of a served PEM (leaf, chain, key) after checking the rest of it. */
function leafOf(pem: string | undefined, hostname: string): X509Certificate {
  expect(pem).toBeDefined();
  const blocks = (pem ?? "").match(/-----BEGIN [A-Z ]+-----[\s\S]+?-----END [A-Z ]+-----/g) ?? [];
  expect(blocks.map((block) => /BEGIN ([A-Z ]+)-----/.exec(block)?.[1])).toEqual([
    "CERTIFICATE",
    "CERTIFICATE",
    "PRIVATE KEY",
  ]);
  const leaf = new X509Certificate(blocks[0] ?? "");
  expect(leaf.checkHost(hostname)).toBe(hostname);
  expect(leaf.checkIssued(new X509Certificate(ca.certificate))).toBe(true);
  expect(leaf.checkPrivateKey(createPrivateKey(blocks[2] ?? ""))).toBe(true);
  return leaf;
}

describe("a certificate per hostname", () => {
  it("asks for external_hostname and each route hostname, one CSR each with the one key", async () => {
    const result = await reconcileWith([WILDCARD, APP, "APP.example.com"]);
    const csrs = csrsByHostname(result);
    // external_hostname first, then the routes' sorted; a hostname asked twice is asked once.
    expect([...csrs.keys()]).toEqual([EXTERNAL, WILDCARD, APP]);
    const subjects = [...csrs.values()].map(subjectOf);
    expect(subjects.map((subject) => subject.san)).toEqual([
      `DNS:${EXTERNAL}`,
      `DNS:${WILDCARD}`,
      `DNS:${APP}`,
    ]);
    expect(new Set(subjects.map((subject) => subject.uid)).size).toBe(3);
    expect(new Set(subjects.map((subject) => subject.publicKey)).size).toBe(1);
    expect(JSON.parse(result.request?.value ?? "")).toEqual(
      [...csrs.values()].map((csr) => ({ certificate_signing_request: csr.trim(), ca: false })),
    );
    expect(result.request?.changed).toBe(true);
    expect(result.inputs.awaitingCertificate).toBe(true);
    expect(result.inputs.hostnameCertificates).toEqual({});
    expect(result.inputs.awaitingHostnames).toEqual([WILDCARD, APP]);

    // Nothing changes while nothing does.
    const again = await reconcileWith([APP, WILDCARD]);
    expect(again.request?.value).toBe(result.request?.value);
    expect(again.request?.changed).toBe(false);
  });

  it("serves each certificate as it arrives, and waits for the others", async () => {
    const csrs = csrsByHostname(await reconcileWith([APP, WILDCARD]));
    offered = [ca.entry(csrs.get(APP) ?? "")];
    const one = await reconcileWith([APP, WILDCARD]);
    expect(one.warnings).toEqual([]);
    expect(Object.keys(one.inputs.hostnameCertificates ?? {})).toEqual([APP]);
    leafOf(one.inputs.hostnameCertificates?.[APP], APP);
    expect(one.inputs.awaitingHostnames).toEqual([WILDCARD]);
    expect(one.inputs.relationCertificatePem).toBeUndefined();
    expect(one.inputs.awaitingCertificate).toBe(true);
    // No new CSR for a hostname whose certificate arrived.
    expect(one.request?.changed).toBe(false);

    offered = [...offered, ca.entry(csrs.get(WILDCARD) ?? ""), ca.entry(csrs.get(EXTERNAL) ?? "")];
    const all = await reconcileWith([APP, WILDCARD]);
    expect(all.inputs.awaitingHostnames).toEqual([]);
    expect(all.inputs.awaitingCertificate).toBeUndefined();
    const wildcard = leafOf(all.inputs.hostnameCertificates?.[WILDCARD], WILDCARD);
    expect(wildcard.checkHost("cart.example.com")).toBe(WILDCARD);
    leafOf(all.inputs.relationCertificatePem, EXTERNAL);
  });

  it("gives a route hostname that is external_hostname the same certificate, asked once", async () => {
    const csrs = csrsByHostname(await reconcileWith([EXTERNAL]));
    expect([...csrs.keys()]).toEqual([EXTERNAL]);
    offered = [ca.entry(csrs.get(EXTERNAL) ?? "")];
    const { inputs } = await reconcileWith([EXTERNAL]);
    expect(inputs.hostnameCertificates).toEqual({ [EXTERNAL]: inputs.relationCertificatePem });
  });

  it("withdraws the CSR of a hostname no longer asked for, and drops its certificate", async () => {
    const csrs = csrsByHostname(await reconcileWith([APP, WILDCARD]));
    offered = [...csrs.values()].map((csr) => ca.entry(csr));
    expect(
      Object.keys((await reconcileWith([APP, WILDCARD])).inputs.hostnameCertificates ?? {}),
    ).toEqual([WILDCARD, APP]);

    // The provider still lists the certificate: it is no longer ours to serve.
    const fewer = await reconcileWith([APP]);
    expect([...csrsByHostname(fewer)]).toEqual([
      [EXTERNAL, csrs.get(EXTERNAL)],
      [APP, csrs.get(APP)],
    ]);
    expect(fewer.request?.changed).toBe(true);
    expect(Object.keys(fewer.inputs.hostnameCertificates ?? {})).toEqual([APP]);
    const held = await readFile(stateFilePath(paths.charmState, "heldCertificate"), "utf8");
    expect(held).not.toContain(WILDCARD);

    // Asked again, it is a fresh request, not the withdrawn one.
    const back = csrsByHostname(await reconcileWith([APP, WILDCARD]));
    expect(back.get(WILDCARD)).toBeDefined();
    expect(back.get(WILDCARD)).not.toBe(csrs.get(WILDCARD));
    expect(back.get(APP)).toBe(csrs.get(APP));

    // No route hostnames, no external_hostname: nothing is asked, nothing held.
    const none = await reconcileWith([], "");
    expect(none.request?.value).toBe("");
    expect(none.inputs.hostnameCertificates).toBeUndefined();
    expect(none.inputs.awaitingCertificate).toBeUndefined();
  });

  it("renews one hostname at 90 % of its validity, serving the old certificate until the new arrives", async () => {
    const csrs = csrsByHostname(await reconcileWith([APP, WILDCARD]));
    offered = [
      ca.entry(csrs.get(APP) ?? "", { endsIn: 10 * 86_400 }),
      ca.entry(csrs.get(WILDCARD) ?? ""),
      ca.entry(csrs.get(EXTERNAL) ?? ""),
    ];
    const first = await reconcileWith([APP, WILDCARD]);
    const appBefore = first.inputs.hostnameCertificates?.[APP];

    clock += 8.9 * DAY; // 89 % of APP's: nothing due
    expect(await renewalDue(paths, clock)).toBe(false);
    clock += 0.2 * DAY; // 91 %
    expect(await renewalDue(paths, clock)).toBe(true);
    const renewing = await reconcileWith([APP, WILDCARD]);
    const renewed = csrsByHostname(renewing);
    expect(renewed.get(APP)).not.toBe(csrs.get(APP));
    expect(subjectOf(renewed.get(APP) ?? "").publicKey).toBe(
      subjectOf(csrs.get(APP) ?? "").publicKey,
    );
    expect(renewed.get(WILDCARD)).toBe(csrs.get(WILDCARD));
    expect(renewed.get(EXTERNAL)).toBe(csrs.get(EXTERNAL));
    expect(renewing.request?.changed).toBe(true);
    expect(renewing.inputs.hostnameCertificates?.[APP]).toBe(appBefore);
    expect(await renewalDue(paths, clock)).toBe(false);

    // The provider answers the new CSR (and drops the old entry): the new one serves.
    offered = [
      ca.entry(renewed.get(APP) ?? ""),
      ...offered.filter((entry) => entry.certificate_signing_request !== csrs.get(APP)),
    ];
    // Issued now: valid at the unit's clock, 9 days on.
    const after = await reconcileWith([APP, WILDCARD]);
    expect(after.inputs.hostnameCertificates?.[APP]).not.toBe(appBefore);
    leafOf(after.inputs.hostnameCertificates?.[APP], APP);
    expect(after.request?.changed).toBe(false);
  });

  it("names a route hostname that is not one, and asks nothing for it", async () => {
    const result = await reconcileWith(["evil.example.com/CN=x", "*.com", "a b.example.com", APP]);
    expect([...csrsByHostname(result).keys()]).toEqual([EXTERNAL, APP]);
    expect(result.warnings).toEqual([
      `self-signed-certificates (${RELATION}): "evil.example.com/CN=x" is not a host name; no certificate asked for it`,
      `self-signed-certificates (${RELATION}): "*.com" is not a host name; no certificate asked for it`,
      `self-signed-certificates (${RELATION}): "a b.example.com" is not a host name; no certificate asked for it`,
    ]);
  });

  it("reads the state of the one-hostname charm: no new CSR, the certificate still served", async () => {
    const csr = csrsByHostname(await reconcileWith([])).get(EXTERNAL) ?? "";
    offered = [ca.entry(csr)];
    const served = (await reconcileWith([])).inputs.relationCertificatePem;
    // What the charm before many hostnames wrote: one bare entry per file.
    const requestFile = stateFilePath(paths.charmState, "certificateRequest");
    const heldFile = stateFilePath(paths.charmState, "heldCertificate");
    const request = JSON.parse(await readFile(requestFile, "utf8")) as { requests: unknown[] };
    const held = JSON.parse(await readFile(heldFile, "utf8")) as { certificates: unknown[] };
    expect(request.requests).toHaveLength(1);
    await mkdir(path.dirname(requestFile), { recursive: true });
    await writeFile(requestFile, JSON.stringify(request.requests[0]));
    await writeFile(heldFile, JSON.stringify(held.certificates[0]));

    const upgraded = await reconcileWith([APP]);
    expect(upgraded.inputs.relationCertificatePem).toBe(served);
    expect(csrsByHostname(upgraded).get(EXTERNAL)).toBe(csr);
    expect(upgraded.inputs.awaitingHostnames).toEqual([APP]);
    // Written back in the new format.
    expect(JSON.parse(await readFile(requestFile, "utf8"))).toMatchObject({ version: 2 });
  });

  it("forgets every hostname's request and certificate when the relation goes", async () => {
    const csrs = csrsByHostname(await reconcileWith([APP]));
    offered = [...csrs.values()].map((csr) => ca.entry(csr));
    await reconcileWith([APP]);
    const gone = await withRelationCertificate(
      paths,
      readCharmConfig({ external_hostname: EXTERNAL }),
      baseInputs,
      [],
      clock,
      [APP],
    );
    expect(gone.inputs.hostnameCertificates).toBeUndefined();
    expect(gone.request).toBeUndefined();
    expect(await renewalDue(paths, clock + 365 * DAY)).toBe(false);
  });
});

describe("hostnameCertificatePath", () => {
  it.each([
    [APP, "/var/lib/haproxy/certs/app.example.com.pem"],
    [WILDCARD, "/var/lib/haproxy/certs/_wildcard_.example.com.pem"],
    ["../../etc/x", "/var/lib/haproxy/certs/.._.._etc_x.pem"],
  ])("keeps %s in its own file of the certificate directory", (hostname, file) => {
    expect(hostnameCertificatePath("/var/lib/haproxy", hostname)).toBe(file);
  });
});
