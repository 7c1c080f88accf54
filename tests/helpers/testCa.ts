// A certificate authority made with a real openssl, answering CSRs the way
// a tls-certificates provider (self-signed-certificates, vault) does: it
// signs what the CSR asks for and lists the result in its app bag.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export interface Validity {
  /** Seconds from now (negative: in the past). */
  readonly startsIn?: number;
  readonly endsIn: number;
}

export interface CertificateEntry {
  readonly certificate: string;
  readonly certificate_signing_request: string;
  readonly ca: string;
  readonly chain: string[];
  readonly revoked?: boolean;
}

export class TestCa {
  readonly certificate: string;
  private serial = 1;

  private constructor(private readonly dir: string) {
    this.certificate = readFileSync(path.join(dir, "ca.pem"), "utf8");
  }

  static create(name = "Test CA"): TestCa {
    const dir = mkdtempSync(path.join(tmpdir(), "test-ca-"));
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "30",
        "-subj",
        `/CN=${name}`,
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-keyout",
        path.join(dir, "ca.key"),
        "-out",
        path.join(dir, "ca.pem"),
      ],
      { stdio: "ignore" },
    );
    writeFileSync(path.join(dir, "index.txt"), "");
    writeFileSync(
      path.join(dir, "ca.cnf"),
      [
        "[ca]",
        "default_ca = test",
        "[test]",
        `dir = ${dir}`,
        "database = $dir/index.txt",
        "serial = $dir/serial",
        "new_certs_dir = $dir",
        "certificate = $dir/ca.pem",
        "private_key = $dir/ca.key",
        "default_md = sha256",
        "policy = anything",
        // The CSR's subjectAltName is what the requirer asked for: keep it.
        "copy_extensions = copy",
        "unique_subject = no",
        "[anything]",
        "commonName = supplied",
        "x500UniqueIdentifier = optional",
      ].join("\n"),
    );
    return new TestCa(dir);
  }

  /** Signs `csr` for the given validity (default: from now for 30 days). */
  sign(csr: string, validity: Validity = { endsIn: 30 * 86_400 }): string {
    const csrFile = path.join(this.dir, "request.csr");
    const out = path.join(this.dir, `issued-${this.serial}.pem`);
    writeFileSync(csrFile, csr.endsWith("\n") ? csr : `${csr}\n`);
    const serial = (this.serial++).toString(16).padStart(4, "0");
    writeFileSync(path.join(this.dir, "serial"), `${serial}\n`);
    execFileSync(
      "openssl",
      [
        "ca",
        "-batch",
        "-config",
        path.join(this.dir, "ca.cnf"),
        "-notext",
        "-startdate",
        asn1Time(validity.startsIn ?? 0),
        "-enddate",
        asn1Time(validity.endsIn),
        "-in",
        csrFile,
        "-out",
        out,
      ],
      { stdio: "ignore" },
    );
    return readFileSync(out, "utf8");
  }

  /** The provider's bag entry for `csr`, chain leaf first. */
  entry(csr: string, validity?: Validity): CertificateEntry {
    const certificate = this.sign(csr, validity);
    return {
      certificate,
      certificate_signing_request: csr,
      ca: this.certificate,
      chain: [certificate, this.certificate],
    };
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The CSRs a requirer lists in `certificate_signing_requests`. */
export function requestedCsrs(bagValue: string | undefined): string[] {
  if (bagValue === undefined || bagValue === "") return [];
  const list = JSON.parse(bagValue) as { certificate_signing_request: string }[];
  return list.map((entry) => entry.certificate_signing_request);
}

function asn1Time(secondsFromNow: number): string {
  const date = new Date(Date.now() + secondsFromNow * 1000);
  const pad = (n: number) => String(n).padStart(2, "0");
  return (
    String(date.getUTCFullYear()) +
    pad(date.getUTCMonth() + 1) +
    pad(date.getUTCDate()) +
    pad(date.getUTCHours()) +
    pad(date.getUTCMinutes()) +
    pad(date.getUTCSeconds()) +
    "Z"
  );
}

/** A key and a CSR for `hostname`, as a requirer would make them (EC P-256: fast). */
export function makeCsrWithKey(hostname: string): { csr: string; key: string } {
  const dir = mkdtempSync(path.join(tmpdir(), "test-csr-"));
  try {
    const keyFile = path.join(dir, "key.pem");
    const csr = execFileSync(
      "openssl",
      [
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        keyFile,
        "-subj",
        `/CN=${hostname}`,
        "-addext",
        `subjectAltName=DNS:${hostname}`,
      ],
      { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
    );
    return { csr, key: readFileSync(keyFile, "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
