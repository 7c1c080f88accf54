// A real TLS client, `openssl s_client`, reporting what a handshake agreed
// on or, when the server refused it, the alert it sent: a refusal for the
// protocol version and one for the ciphers look alike otherwise.
import { execa } from "execa";

export interface Handshake {
  /** "TLSv1.2", "TLSv1.3": set when the handshake succeeded. */
  readonly protocol?: string;
  readonly cipher?: string;
  /** The server's alert, "protocol version" or "handshake failure": set when it refused. */
  readonly alert?: string;
}

/** One handshake with 127.0.0.1:`port`, with extra s_client options ("-tls1_2", "-cipher", ...). */
export async function handshake(
  port: number,
  serverName: string,
  options: readonly string[],
): Promise<Handshake> {
  // -brief prints the agreed protocol and cipher on stderr, with any error.
  const result = await execa(
    "openssl",
    ["s_client", "-brief", "-connect", `127.0.0.1:${port}`, "-servername", serverName, ...options],
    { input: "", reject: false, timeout: 15_000 },
  );
  const protocol = /^Protocol version: (\S+)$/m.exec(result.stderr)?.[1];
  const cipher = /^Ciphersuite: (\S+)$/m.exec(result.stderr)?.[1];
  if (result.exitCode === 0 && protocol !== undefined && cipher !== undefined) {
    return { protocol, cipher };
  }
  const alert = /(?:sslv3|tlsv1) alert ([a-z ]+?)(?::|$)/m.exec(result.stderr)?.[1];
  return alert === undefined ? {} : { alert };
}
