// Where the haproxy-route hostnames' certificates live, and the crt-list that
// names them on the 443 bind: one certificate file a line, so that a new
// hostname changes this file and adds one certificate, never haproxy.cfg
// (its certificate can then be added at run time, see certificateUpdate.ts).

/** Where the hostnames' certificates live: the charm owns every file in it. */
export function hostnameCertificateDir(libDir: string): string {
  return `${libDir}/certs`;
}

/** The crt-list of the hostnames' certificates (no `.pem`: never a hostname's file). */
export function hostnameCrtListPath(libDir: string): string {
  return `${hostnameCertificateDir(libDir)}/hostnames.crtlist`;
}

/**
 * The crt-list's text: each file on a line of its own, in the order given.
 * haproxy refuses an empty crt-list, so there is none without a certificate.
 */
export function crtListText(certificateFiles: readonly string[]): string {
  return certificateFiles.map((file) => `${file}\n`).join("");
}

/** The certificate file of each line of a crt-list, in order (blank and `#` lines skipped). */
export function crtListCertificates(text: string): string[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => line.split(/\s+/)[0] as string);
}
