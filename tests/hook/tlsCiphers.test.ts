// What a security review's TLS scan sees: every cipher this OpenSSL knows,
// offered one at a time by `openssl s_client` to a real haproxy (each version
// the tests have) that config-changed configured, serving an RSA and an ECDSA
// certificate so that every kind of key exchange can be negotiated.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { execa } from "execa";
import { afterEach, beforeAll, describe, expect, it } from "vitest";

import { parseCharmConfig } from "../../src/config/charmConfig.js";
import { buildGlobalSection } from "../../src/model/globalSections.js";
import { makeCertificate } from "../helpers/certificates.js";
import { findFreePort } from "../helpers/haproxyProcess.js";
import { haproxyVersions } from "../helpers/haproxyVersions.js";
import { MemoryHookTools } from "../helpers/memoryHookTools.js";
import { handshake } from "../helpers/tlsHandshake.js";
import { type UnitSandbox, createUnitSandbox } from "../helpers/unitSandbox.js";

const SERVER_NAME = "shop.example";

interface Cipher {
  readonly name: string;
  readonly keyExchange: string;
  readonly authentication: string;
  readonly encryption: string;
}

/** `openssl ciphers -v` lines: name, version, Kx=, Au=, Enc=, Mac=. */
function listCiphers(args: readonly string[]): Cipher[] {
  const text = execFileSync("openssl", ["ciphers", "-v", ...args], { encoding: "utf8" });
  return text
    .trim()
    .split("\n")
    .map((line) => {
      const [name = "", , ...fields] = line.trim().split(/\s+/);
      const field = (key: string) =>
        fields.find((f) => f.startsWith(`${key}=`))?.slice(key.length + 1) ?? "";
      return {
        name,
        keyExchange: field("Kx"),
        authentication: field("Au"),
        encryption: field("Enc"),
      };
    });
}

// Security level 0 lets the client offer everything, the broken ciphers too:
// refusing them must be the server's doing.
const TLS12_CIPHERS = listCiphers(["-s", "-tls1_2", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"]).filter(
  (cipher) => !cipher.name.startsWith("TLS_"),
);
const TLS13_SUITES = [
  "TLS_AES_128_GCM_SHA256",
  "TLS_AES_256_GCM_SHA384",
  "TLS_CHACHA20_POLY1305_SHA256",
  "TLS_AES_128_CCM_SHA256",
  "TLS_AES_128_CCM_8_SHA256",
];

/** Forward secrecy (ephemeral, authenticated key exchange) and an AEAD cipher. */
function isStrong(cipher: Cipher): boolean {
  return (
    ["ECDH", "DH"].includes(cipher.keyExchange) &&
    ["RSA", "ECDSA"].includes(cipher.authentication) &&
    /^(AESGCM|CHACHA20\/POLY1305)\(/.test(cipher.encryption)
  );
}

/** A self-signed RSA certificate: the static-RSA ciphers need one to be negotiable at all. */
function makeRsaCertificate(): { base64Certificate: string; base64Key: string } {
  const dir = mkdtempSync(path.join(tmpdir(), "test-rsa-"));
  try {
    const key = path.join(dir, "key.pem");
    const certificate = path.join(dir, "cert.pem");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "30",
        "-subj",
        `/CN=${SERVER_NAME}`,
        "-addext",
        `subjectAltName=DNS:${SERVER_NAME}`,
        "-keyout",
        key,
        "-out",
        certificate,
      ],
      { stdio: "ignore" },
    );
    return {
      base64Certificate: readFileSync(certificate).toString("base64"),
      base64Key: readFileSync(key).toString("base64"),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let rsa: { base64Certificate: string; base64Key: string };
let ecdsaPem: string;

beforeAll(() => {
  rsa = makeRsaCertificate();
  ecdsaPem = Buffer.from(makeCertificate(SERVER_NAME).pem).toString("base64");
});

/** The cipher a handshake with these s_client options agreed on, or undefined when refused. */
async function negotiated(port: number, options: readonly string[]): Promise<string | undefined> {
  return (await handshake(port, SERVER_NAME, options)).cipher;
}

/** Which of `names` the server accepts, each offered alone, a few handshakes at a time. */
async function accepted(
  names: readonly string[],
  offer: (name: string) => Promise<string | undefined>,
): Promise<string[]> {
  const verdicts = new Map<string, boolean>();
  const queue = [...names];
  const worker = async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      verdicts.set(name, (await offer(name)) === name);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return names.filter((name) => verdicts.get(name));
}

describe.each(haproxyVersions)("TLS scan of haproxy $version", ({ binary }) => {
  let sandbox: UnitSandbox;
  let port: number;

  /** Configures TLS with the given options through config-changed. */
  async function serve(options: Record<string, string> = {}): Promise<void> {
    port = await findFreePort();
    const tools = new MemoryHookTools();
    tools.addUnit("reverseproxy:1", "shop/0", { "private-address": "127.0.0.1", port: "8080" });
    tools.config = {
      services: `- {service_name: shop, service_host: 127.0.0.1, service_port: ${port}, crts: [DEFAULT, ${ecdsaPem}], service_options: [mode http]}`,
      ssl_cert: rsa.base64Certificate,
      ssl_key: rsa.base64Key,
      ...options,
    };
    sandbox = await createUnitSandbox(tools, { probePorts: [port], haproxyBinary: binary });
    await sandbox.hook("config-changed");
    expect(tools.status).toEqual({ status: "active", message: "Unit is ready" });
  }

  const tls12 = (names: readonly string[]) =>
    accepted(names, (name) => negotiated(port, ["-tls1_2", "-cipher", `${name}:@SECLEVEL=0`]));

  afterEach(() => sandbox?.cleanup());

  it("accepts on TLS 1.2 by default only forward-secret AEAD ciphers, for RSA and ECDSA", async () => {
    await serve();
    const names = await tls12(TLS12_CIPHERS.map((cipher) => cipher.name));
    const weak = TLS12_CIPHERS.filter((c) => names.includes(c.name) && !isStrong(c));
    expect(weak.map((cipher) => cipher.name)).toEqual([]);
    expect(names.sort()).toEqual(
      [
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-RSA-CHACHA20-POLY1305",
      ].sort(),
    );
  }, 120_000);

  it("speaks TLS 1.3 with its GCM and ChaCha20 suites and refuses TLS 1.1 and below", async () => {
    await serve();
    const suites = await accepted(TLS13_SUITES, (suite) =>
      negotiated(port, ["-tls1_3", "-ciphersuites", suite]),
    );
    expect(suites).toEqual(TLS13_SUITES.slice(0, 3));
    // Refused for the version, not for want of a shared cipher (the client
    // offers every cipher): that is what haproxy answers below its floor.
    for (const version of ["-tls1", "-tls1_1"]) {
      expect(await handshake(port, SERVER_NAME, [version, "-cipher", "ALL:@SECLEVEL=0"])).toEqual({
        alert: "protocol version",
      });
    }
    expect(await handshake(port, SERVER_NAME, ["-tls1_2"])).toMatchObject({
      protocol: "TLSv1.2",
      cipher: expect.stringMatching(/^ECDHE-/),
    });
    expect(await handshake(port, SERVER_NAME, ["-tls1_3"])).toMatchObject({
      protocol: "TLSv1.3",
    });
  }, 60_000);

  it("issues no TLS 1.2 session ticket (no-tls-tickets), which it does without the option", async () => {
    // s_client prints the session it got; a ticket shows as its lifetime hint and bytes.
    const ticket = async () => {
      const result = await execa(
        "openssl",
        ["s_client", "-tls1_2", "-connect", `127.0.0.1:${port}`, "-servername", SERVER_NAME],
        { input: "", reject: false, timeout: 15_000 },
      );
      expect(result.stdout).toMatch(/^SSL-Session:$/m);
      return /^\s*TLS session ticket:$/m.test(result.stdout);
    };
    await serve();
    expect(await ticket()).toBe(false);
    await sandbox.cleanup();
    await serve({ global_default_bind_options: "ssl-min-ver TLSv1.2" });
    expect(await ticket()).toBe(true);
  }, 60_000);

  it("honours an operator's own cipher list exactly", async () => {
    await serve({ global_default_bind_ciphers: "AES128-SHA" });
    const names = await tls12(TLS12_CIPHERS.map((cipher) => cipher.name));
    expect(names).toEqual(["AES128-SHA"]);
  }, 120_000);

  it("lets an operator's own options raise the floor to TLS 1.3", async () => {
    await serve({ global_default_bind_options: "ssl-min-ver TLSv1.3" });
    expect(await negotiated(port, ["-tls1_2"])).toBeUndefined();
    expect(await negotiated(port, ["-tls1_3"])).toMatch(/^TLS_/);
  }, 60_000);
});

describe("the global TLS lines", () => {
  const tlsLines = (config: Record<string, unknown>) => {
    const { bindCiphers, bindCiphersuites, bindOptions } = buildGlobalSection(
      parseCharmConfig(config),
      "/run/haproxy",
    );
    return { bindCiphers, bindCiphersuites, bindOptions };
  };

  it("are Mozilla's intermediate profile when the options are left empty", () => {
    expect(tlsLines({ global_default_bind_ciphers: "", global_default_bind_options: "" })).toEqual({
      bindCiphers:
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:" +
        "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305",
      bindCiphersuites:
        "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256",
      bindOptions: "prefer-client-ciphers ssl-min-ver TLSv1.2 no-tls-tickets",
    });
  });

  it("keep an operator's values as written, and the server's order for their own list", () => {
    expect(tlsLines({ global_default_bind_ciphers: "AES128-SHA" })).toMatchObject({
      bindCiphers: "AES128-SHA",
      bindOptions: "ssl-min-ver TLSv1.2 no-tls-tickets",
    });
    expect(tlsLines({ global_default_bind_options: "no-sslv3" }).bindOptions).toBe("no-sslv3");
  });
});
