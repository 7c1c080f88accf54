// Everything a hook reads from the outside world, gathered once at the edge.
// A JSON file of this shape is also what `render --from` takes.
import type { RelationSettings } from "./hookTools.js";

/** One remote unit's settings on one relation. */
export interface RemoteUnit {
  readonly relationId: string;
  readonly unit: string;
  readonly settings: RelationSettings;
}

/** A remote application's bag on one relation. */
export interface RemoteApp {
  readonly relationId: string;
  readonly app: string;
  readonly settings: RelationSettings;
}

export interface HookInputs {
  /** This unit, e.g. `haproxy/0`. */
  readonly unitName: string;
  readonly privateAddress: string;
  readonly publicAddress: string;
  /**
   * `config-get --format=json` as Juju returned it (a snapshot's options as
   * written); the hook parses it once, at its edge (config/charmConfig.ts).
   */
  readonly config: Readonly<Record<string, unknown>>;
  /** Remote units on `reverseproxy`, in relation id then unit order. */
  readonly reverseproxy: readonly RemoteUnit[];
  /** Other haproxy units on `peer`. */
  readonly peers: readonly RemoteUnit[];
  /** Front ends (apache2, squid) on `website`: their `is-proxy` and `service_name`. */
  readonly website?: readonly RemoteUnit[];
  /** JUJU_MODEL_NAME and JUJU_MODEL_UUID. */
  readonly modelName?: string;
  readonly modelUuid?: string;
  /** Applications related on `ingress`, with their bags. */
  readonly ingressApps?: readonly RemoteApp[];
  /** Their units' bags (`host`, `ip`). */
  readonly ingressUnits?: readonly RemoteUnit[];
  /** Units related on `ingress-per-unit`, each with its own request (`model`, `name`, `host`, `port`). */
  readonly ingressPerUnitUnits?: readonly RemoteUnit[];
  /** Applications related on `haproxy-route`, with their bags. */
  readonly haproxyRouteApps?: readonly RemoteApp[];
  /** Their units' bags (`address`). */
  readonly haproxyRouteUnits?: readonly RemoteUnit[];
  /** Applications related on `haproxy-route-tcp`, with their bags. */
  readonly haproxyRouteTcpApps?: readonly RemoteApp[];
  /** Their units' bags (`address`). */
  readonly haproxyRouteTcpUnits?: readonly RemoteUnit[];
  /** The installed haproxy's version (`2.6.12`), read when a route needs a newer feature. */
  readonly haproxyVersion?: string;
  /** Applications related on `receive-ca-certs`, with their bags (v1: `certificates`). */
  readonly receivedCaApps?: readonly RemoteApp[];
  /** Their units' bags (v0: `ca`, `certificate`, `chain`). */
  readonly receivedCaUnits?: readonly RemoteUnit[];
  /** The certificates relation's certificate, chain and our key as one PEM. */
  readonly relationCertificatePem?: string;
  /** A cos-agent subordinate is related: haproxy serves its exporter on loopback. */
  readonly cosAgent?: boolean;
  /** A certificate for external_hostname was asked for and has not arrived yet. */
  readonly awaitingCertificate?: boolean;
  /**
   * The certificates relation's certificate for each route hostname that has
   * one (`*.x` wildcards included), as relationCertificatePem is built: leaf,
   * chain, our key. Set whenever route hostnames were asked for.
   */
  readonly hostnameCertificates?: Readonly<Record<string, string>>;
  /** Route hostnames asked for whose certificate has not arrived yet, sorted. */
  readonly awaitingHostnames?: readonly string[];
  /** The monitoring password to use when config says `changeme`. */
  readonly generatedMonitoringPassword?: string;
  /**
   * The addresses backend names from relation data resolved to, looked up by
   * the hook: a name that resolves to this machine's loopback is refused.
   */
  readonly resolvedHosts?: Readonly<Record<string, readonly string[]>>;
  /** Certificate and key PEM generated for `ssl_cert=SELFSIGNED`. */
  readonly selfSignedPem?: string;
}
