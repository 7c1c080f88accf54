// Every file system location the charm touches, in one object so tests and
// the local model can point a unit somewhere else.

export interface Paths {
  /** The live configuration haproxy loads. */
  readonly haproxyConfig: string;
  /** Certificates, error pages and haproxy's chroot. */
  readonly haproxyLib: string;
  /** Runtime sockets. */
  readonly haproxyRun: string;
  /** What the charm remembers between hooks (generated secrets, cached relation data). */
  readonly charmState: string;
}

export const productionPaths: Paths = {
  haproxyConfig: "/etc/haproxy/haproxy.cfg",
  haproxyLib: "/var/lib/haproxy",
  haproxyRun: "/run/haproxy",
  charmState: "/var/lib/haproxy-charm",
};
