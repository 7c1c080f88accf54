// The CAs applications send on receive-ca-certs, as certificate_transfer v1
// providers write them (a JSON list in the app bag) and as v0 providers do
// (`ca`, `certificate`, `chain` in each unit's bag): one bundle of each
// certificate once, in a stable order, and every value that is not
// certificates left out with a warning naming where it came from.
import { X509Certificate } from "node:crypto";

import { describe, expect, it } from "vitest";

import type { RemoteApp, RemoteUnit } from "../../../src/juju/hookInputs.js";
import { readReceivedCas } from "../../../src/relations/receiveCaCerts/receivedCas.js";
import { type NodeCertificate, nodeCertificate } from "../../helpers/nodeCertificate.js";

const rootA = nodeCertificate("Root A");
const rootB = nodeCertificate("Root B");
const rootC = nodeCertificate("Root C");

/** A v1 provider's app bag, as the library writes it (each field JSON). */
const v1App = (relationId: string, app: string, pems: readonly string[]): RemoteApp => ({
  relationId,
  app,
  settings: { certificates: JSON.stringify(pems), version: "1" },
});

const v0Unit = (
  relationId: string,
  unit: string,
  settings: Record<string, string>,
): RemoteUnit => ({
  relationId,
  unit,
  settings,
});

/** The fingerprints of the bundle's certificates, in the bundle's order. */
function fingerprintsOf(bundle: string): string[] {
  const blocks = bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g);
  expect(blocks?.join("")).toBe(bundle);
  return (blocks ?? []).map((pem) => new X509Certificate(pem).fingerprint256);
}

const sorted = (...certificates: NodeCertificate[]) =>
  certificates.map((certificate) => certificate.fingerprint256).sort();

describe("the CAs received on receive-ca-certs", () => {
  it("is nothing, without a warning, while no application has sent any", () => {
    expect(readReceivedCas([], [])).toEqual({ bundle: "", count: 0, warnings: [] });
    const empty = [v1App("receive-ca-certs:1", "vault", [])];
    const unrelated = v0Unit("receive-ca-certs:1", "vault/0", { "ingress-address": "10.0.0.9" });
    expect(readReceivedCas(empty, [unrelated])).toEqual({ bundle: "", count: 0, warnings: [] });
  });

  it("takes a v1 provider's list from its app bag", () => {
    const received = readReceivedCas(
      [v1App("receive-ca-certs:1", "vault", [rootA.pem, rootB.pem])],
      [],
    );
    expect(fingerprintsOf(received.bundle)).toEqual(sorted(rootA, rootB));
    expect(received).toMatchObject({ count: 2, warnings: [] });
  });

  it("takes a v0 provider's ca, certificate and chain from its units' bags, plain or as JSON", () => {
    const received = readReceivedCas(
      [],
      [
        // The v0 library: plain PEM, chain a JSON list.
        v0Unit("receive-ca-certs:2", "legacy/0", {
          ca: rootA.pem,
          certificate: rootB.pem,
          chain: JSON.stringify([rootB.pem, rootA.pem]),
        }),
        // The v1 library talking v0: every value JSON text.
        v0Unit("receive-ca-certs:3", "newer/0", {
          ca: JSON.stringify(rootC.pem),
          certificate: JSON.stringify(rootC.pem),
          chain: JSON.stringify([rootC.pem]),
          version: "0",
        }),
      ],
    );
    expect(fingerprintsOf(received.bundle)).toEqual(sorted(rootA, rootB, rootC));
    expect(received.warnings).toEqual([]);
  });

  it("trusts the union of every relation, v1 and v0 at once, each certificate once", () => {
    const received = readReceivedCas(
      [
        v1App("receive-ca-certs:1", "vault", [rootA.pem, rootB.pem, rootA.pem]),
        v1App("receive-ca-certs:4", "other", [rootB.pem]),
      ],
      [
        v0Unit("receive-ca-certs:2", "legacy/0", {
          ca: rootC.pem,
          chain: JSON.stringify([rootA.pem]),
        }),
        v0Unit("receive-ca-certs:2", "legacy/1", { ca: rootC.pem }),
      ],
    );
    expect(fingerprintsOf(received.bundle)).toEqual(sorted(rootA, rootB, rootC));
    expect(received.count).toBe(3);
    // The same certificate, with other line endings or whitespace, is the same certificate.
    const reformatted = `\n${rootA.pem.replaceAll("\n", "\r\n")}  \n`;
    const again = readReceivedCas([v1App("receive-ca-certs:1", "vault", [reformatted])], []);
    expect(fingerprintsOf(again.bundle)).toEqual([rootA.fingerprint256]);
  });

  it("gives the same bytes whatever order the bags and lists come in", () => {
    const apps = [
      v1App("receive-ca-certs:1", "vault", [rootA.pem, rootB.pem]),
      v1App("receive-ca-certs:4", "other", [rootC.pem]),
    ];
    const units = [v0Unit("receive-ca-certs:2", "legacy/0", { ca: rootB.pem })];
    const forwards = readReceivedCas(apps, units);
    const backwards = readReceivedCas(
      [
        v1App("receive-ca-certs:4", "other", [rootC.pem]),
        v1App("receive-ca-certs:1", "vault", [rootB.pem, rootA.pem]),
      ],
      units,
    );
    expect(backwards.bundle).toBe(forwards.bundle);
    expect(fingerprintsOf(forwards.bundle)).toEqual(sorted(rootA, rootB, rootC));
  });

  it("rebuilds the bundle from the parsed certificates: nothing else reaches it", () => {
    const withComment = `Subject: CN=Root A\n${rootA.pem}`;
    const received = readReceivedCas(
      [v1App("receive-ca-certs:1", "vault", [withComment, rootB.pem])],
      [],
    );
    expect(received.bundle).not.toContain("Subject");
    expect(fingerprintsOf(received.bundle)).toEqual([rootB.fingerprint256]);
  });

  it.each([
    ["a private key", () => rootA.keyPem, "certificates[1]: holds a private key"],
    [
      "a certificate with its private key",
      () => rootA.pem + rootA.keyPem,
      "certificates[1]: holds a private key",
    ],
    [
      "text that is not PEM",
      () => "not a certificate",
      "certificates[1]: holds no PEM certificate",
    ],
    [
      "a PEM block that is not a certificate",
      () => "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n",
      "certificates[1]: holds a PUBLIC KEY, not a certificate",
    ],
    [
      "a certificate whose content is not one",
      () => "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
      "certificates[1]: holds a PEM certificate that does not parse",
    ],
    [
      "a certificate with text around it",
      () => `${rootB.pem}and more`,
      "certificates[1]: holds text outside its PEM blocks",
    ],
  ])("leaves out %s, naming the application and the key", (_, value, problem) => {
    const received = readReceivedCas(
      [v1App("receive-ca-certs:1", "vault", [rootC.pem, value()])],
      [],
    );
    // The good certificate is still trusted.
    expect(fingerprintsOf(received.bundle)).toEqual([rootC.fingerprint256]);
    expect(received.warnings).toEqual([
      `receive-ca-certs application vault (receive-ca-certs:1): ${problem}; left out`,
    ]);
    expect(received.bundle).not.toContain("PRIVATE KEY");
  });

  it("leaves out a v0 unit's bad values, naming the application, the unit and the key", () => {
    const received = readReceivedCas(
      [{ relationId: "receive-ca-certs:1", app: "vault", settings: { certificates: "{}" } }],
      [
        v0Unit("receive-ca-certs:2", "legacy/3", {
          ca: rootA.keyPem,
          certificate: rootB.pem,
          chain: JSON.stringify([rootB.pem, 7]),
        }),
      ],
    );
    expect(fingerprintsOf(received.bundle)).toEqual([rootB.fingerprint256]);
    expect(received.warnings).toEqual([
      "receive-ca-certs application vault (receive-ca-certs:1): certificates: is neither PEM text nor a JSON list of it; left out",
      "receive-ca-certs application legacy, unit legacy/3 (receive-ca-certs:2): ca: holds a private key; left out",
      "receive-ca-certs application legacy, unit legacy/3 (receive-ca-certs:2): chain: is neither PEM text nor a JSON list of it; left out",
    ]);
  });

  it("refuses a value over 1 MiB", () => {
    const huge = JSON.stringify([rootA.pem, " ".repeat(1024 * 1024)]);
    const received = readReceivedCas(
      [{ relationId: "receive-ca-certs:1", app: "vault", settings: { certificates: huge } }],
      [],
    );
    expect(received).toEqual({
      bundle: "",
      count: 0,
      warnings: [
        "receive-ca-certs application vault (receive-ca-certs:1): certificates: is over 1 MiB; left out",
      ],
    });
  });
});
