// The files the charm keeps between hooks in its state directory
// (Paths.charmState), named in one place: what a unit remembers, and what
// each file holds.
import path from "node:path";

export const STATE_FILES = {
  /** What the hook tools last returned and set: config, addresses, opened ports, published bags. */
  hookToolCache: "hook-tool-cache.json",
  /** The remote bags of every relation as last read: a relation hook reads only its own unit. */
  relationCache: "relation-cache.json",
  /** Units whose data haproxy rejected last time: the next hook tries them last. */
  suspectUnits: "rejected-units.json",
  /** Present while haproxy could not start or reload: update-status tries again. */
  haproxyFailed: "haproxy-failed",
  /** Present from a reload until haproxy has loaded the file: the next hook reloads again. */
  reloadPending: "haproxy-reload-pending",
  /** The VIP's addresses, the status the last hook set, which this unit held, what it published. */
  vipStatus: "vip-status.json",
  /** net.ipv4.ip_nonlocal_bind before `vip` set it, put back when `vip` is emptied. */
  nonlocalBindBeforeVip: "nonlocal-bind-before-vip",
  /** The apt source and key last applied: nothing runs while `source` and `key` stay the same. */
  aptSource: "apt-source.json",
  /** Target, prefix and socket for the scheduled `metrics push`, which runs outside any hook. */
  metricsSettings: "metrics.json",
  /** The statistics password generated for monitoring_password=changeme. */
  monitoringPassword: "monitoring-password",
  /** The certificate and key generated for ssl_cert=SELFSIGNED. */
  selfSignedPem: "selfsigned.pem",
  /** The certificates relation: the unit's private key, made once, never leaving the machine. */
  certificateKey: "certificates/private-key.pem",
  /** The certificates relation: the CSR sent last for each hostname (`{version: 2, requests}`). */
  certificateRequest: "certificates/request.json",
  /** haproxy-route: each served backend's endpoints, for the get-proxied-endpoints action. */
  proxiedEndpoints: "proxied-endpoints.json",
  /** The certificates relation: the certificate served for each hostname (`{version: 2, certificates}`). */
  heldCertificate: "certificates/certificate.json",
} as const;

export type StateFile = keyof typeof STATE_FILES;

export function stateFilePath(charmState: string, file: StateFile): string {
  return path.join(charmState, STATE_FILES[file]);
}
