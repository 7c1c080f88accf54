// Which file changes the running haproxy can take through its admin socket:
// only certificates, the hostnames' with their crt-list (renewed, added,
// removed) and a bind's own `crt` files (renewed), and only where a restart
// with the new files would serve the same.
import { describe, expect, it } from "vitest";

import {
  type CertificateUpdate,
  type FileChange,
  planCertificateUpdate,
} from "../../src/model/certificateUpdate.js";

const LIST = "/lib/certs/hostnames.crtlist";
const A = "/lib/certs/a.example.com.pem";
const B = "/lib/certs/b.example.com.pem";
const C = "/lib/certs/c.example.com.pem";
const MAP = "/lib/routes/haproxy-route.map";
const EXTERNAL = "/lib/certificates-relation.pem";

const bind = (words: string) => `frontend web\n    bind 0.0.0.0:443 ssl ${words}\n`;
const AFTER_CRT = bind(`crt ${EXTERNAL} crt-list ${LIST}`);
const LIST_FIRST = bind(`crt-list ${LIST}`);

const list = (...files: string[]) => files.map((file) => `${file}\n`).join("");

function decide(
  changed: FileChange[],
  planned: Record<string, string>,
  haproxyCfg = AFTER_CRT,
): CertificateUpdate {
  return planCertificateUpdate({
    crtList: LIST,
    haproxyCfg,
    changed,
    planned: new Map(Object.entries(planned)),
  });
}

describe("planCertificateUpdate", () => {
  it("replaces a renewed certificate that haproxy has", () => {
    expect(
      decide([{ path: B, content: "B2", previous: "B1" }], {
        [A]: "A",
        [B]: "B2",
        [LIST]: list(A, B),
      }),
    ).toEqual({
      kind: "runtime",
      crtList: LIST,
      steps: [{ kind: "replace", certFile: B, pem: "B2" }],
    });
  });

  it("adds a new hostname's certificate listed at the end, after the renewals", () => {
    const changed: FileChange[] = [
      { path: A, content: "A2", previous: "A1" },
      { path: C, content: "C" },
      { path: LIST, content: list(A, B, C), previous: list(A, B) },
    ];
    expect(decide(changed, { [A]: "A2", [B]: "B", [C]: "C", [LIST]: list(A, B, C) })).toEqual({
      kind: "runtime",
      crtList: LIST,
      steps: [
        { kind: "replace", certFile: A, pem: "A2" },
        { kind: "add", certFile: C, pem: "C" },
      ],
    });
  });

  it("adds one listed before the others when a crt comes first on the bind", () => {
    const changed: FileChange[] = [
      { path: A, content: "A" },
      { path: LIST, content: list(A, B), previous: list(B) },
    ];
    const planned = { [A]: "A", [B]: "B", [LIST]: list(A, B) };
    expect(decide(changed, planned, AFTER_CRT)).toMatchObject({
      kind: "runtime",
      steps: [{ kind: "add", certFile: A }],
    });
    // The crt-list's first line is the default certificate: haproxy would
    // append it, a restart would put it first.
    expect(decide(changed, planned, LIST_FIRST)).toEqual({
      kind: "reload",
      reason: `the default certificate would change from ${B} to ${A}`,
    });
  });

  it("removes a line gone from the crt-list, but reloads when it is the default certificate", () => {
    const lastGone: FileChange[] = [{ path: LIST, content: list(A), previous: list(A, B) }];
    expect(decide(lastGone, { [A]: "A", [LIST]: list(A) }, LIST_FIRST)).toEqual({
      kind: "runtime",
      crtList: LIST,
      steps: [{ kind: "remove", certFile: B }],
    });
    const firstGone: FileChange[] = [{ path: LIST, content: list(B), previous: list(A, B) }];
    expect(decide(firstGone, { [B]: "B", [LIST]: list(B) }, AFTER_CRT)).toMatchObject({
      kind: "runtime",
      steps: [{ kind: "remove", certFile: A }],
    });
    expect(decide(firstGone, { [B]: "B", [LIST]: list(B) }, LIST_FIRST)).toEqual({
      kind: "reload",
      reason: `the default certificate would change from ${A} to ${B}`,
    });
  });

  it("reloads when another file changed with a certificate", () => {
    const changed: FileChange[] = [
      { path: A, content: "A2", previous: "A1" },
      { path: MAP, content: "x y\n", previous: "" },
    ];
    expect(decide(changed, { [A]: "A2", [LIST]: list(A), [MAP]: "x y\n" })).toEqual({
      kind: "reload",
      reason: `${MAP} is not a certificate haproxy loads`,
    });
  });

  it("reloads when haproxy has no crt-list yet", () => {
    const changed: FileChange[] = [
      { path: A, content: "A" },
      { path: LIST, content: list(A) },
    ];
    expect(decide(changed, { [A]: "A", [LIST]: list(A) })).toMatchObject({ kind: "reload" });
  });

  it("replaces a renewed certificate a bind loads with crt (external_hostname's), alone or with others", () => {
    const renewed: FileChange = { path: EXTERNAL, content: "E2", previous: "E1" };
    expect(decide([renewed], { [EXTERNAL]: "E2", [A]: "A", [LIST]: list(A) })).toEqual({
      kind: "runtime",
      crtList: LIST,
      steps: [{ kind: "replace", certFile: EXTERNAL, pem: "E2" }],
    });
    // With no crt-list at all.
    expect(decide([renewed], { [EXTERNAL]: "E2" }, bind(`crt ${EXTERNAL}`))).toEqual({
      kind: "runtime",
      crtList: LIST,
      steps: [{ kind: "replace", certFile: EXTERNAL, pem: "E2" }],
    });
    // With a hostname's renewal.
    const both: FileChange[] = [renewed, { path: A, content: "A2", previous: "A1" }];
    expect(decide(both, { [EXTERNAL]: "E2", [A]: "A2", [LIST]: list(A) })).toEqual({
      kind: "runtime",
      crtList: LIST,
      steps: [
        { kind: "replace", certFile: EXTERNAL, pem: "E2" },
        { kind: "replace", certFile: A, pem: "A2" },
      ],
    });
    // With another file: a reload, naming it.
    expect(
      decide([renewed, { path: MAP, content: "m", previous: "" }], {
        [EXTERNAL]: "E2",
        [MAP]: "m",
      }),
    ).toEqual({ kind: "reload", reason: `${MAP} is not a certificate haproxy loads` });
  });

  it("leaves alone the changes that concern no certificate haproxy loads", () => {
    // No bind loads it: whatever it is, a reload (or nothing) decides.
    const unbound: FileChange[] = [{ path: EXTERNAL, content: "E2", previous: "E1" }];
    expect(decide(unbound, { [EXTERNAL]: "E2", [A]: "A", [LIST]: list(A) }, LIST_FIRST)).toEqual({
      kind: "unrelated",
    });
    // A bind's certificate that is new: haproxy has none in memory to replace.
    expect(decide([{ path: EXTERNAL, content: "E" }], { [EXTERNAL]: "E" })).toEqual({
      kind: "unrelated",
    });
    expect(decide([{ path: MAP, content: "m" }], { [MAP]: "m" })).toEqual({ kind: "unrelated" });
  });
});
