// Every file system location the charm touches, in one object so tests and
// the local model can point a unit somewhere else.

export interface Paths {
  /** The live configuration haproxy loads. */
  readonly haproxyConfig: string;
  /** Certificates, error pages and haproxy's chroot. */
  readonly haproxyLib: string;
  /**
   * The admin socket and the server state file: a directory only root may
   * write, so haproxy's workers (another user) cannot plant a link there that
   * the charm, as root, would write through.
   */
  readonly haproxyRun: string;
  /** What the charm remembers between hooks (generated secrets, cached relation data). */
  readonly charmState: string;
  /**
   * Files the charm manages outside haproxy's own (schedules, nrpe checks,
   * sysctl, logrotate, apt). Absent, the charm leaves the machine alone: tests
   * of the haproxy layer never touch the host's /etc.
   */
  readonly system?: SystemPaths;
}

export interface SystemPaths {
  /** The cron file that runs `metrics push` every metrics_sample_interval minutes. */
  readonly metricsSchedule: string;
  /** Holds nrpe.d/ (the nrpe server's check commands) and the checks' credentials. */
  readonly nagiosConfig: string;
  /** Where the nrpe-external-master subordinate collects service definitions. */
  readonly nagiosExport: string;
  /** Where the check scripts are installed. */
  readonly nagiosPlugins: string;
  readonly sysctlConfig: string;
  readonly logrotateConfig: string;
  /** apt's sources.list.d/ and keyrings/ parent, for `source` and `key`. */
  readonly apt: string;
  /** keepalived's directory: its keepalived.conf and the charm's check script, for `vip`. */
  readonly keepalived: string;
  /** The sysctl.d file that lets haproxy bind a VIP the unit does not hold. */
  readonly vipSysctlConfig: string;
  /** The tmpfiles.d entry that makes `haproxyRun` at boot, before haproxy starts. */
  readonly runtimeDirectoryConfig: string;
}

export const productionPaths: Paths = {
  haproxyConfig: "/etc/haproxy/haproxy.cfg",
  haproxyLib: "/var/lib/haproxy",
  // Not Debian's /run/haproxy, which the haproxy user may write.
  haproxyRun: "/run/haproxy-charm",
  charmState: "/var/lib/haproxy-charm",
  system: {
    metricsSchedule: "/etc/cron.d/haproxy-charm-metrics",
    nagiosConfig: "/etc/nagios",
    nagiosExport: "/var/lib/nagios/export",
    nagiosPlugins: "/usr/local/lib/nagios/plugins",
    sysctlConfig: "/etc/sysctl.d/50-haproxy.conf",
    logrotateConfig: "/etc/logrotate.d/haproxy",
    apt: "/etc/apt",
    keepalived: "/etc/keepalived",
    vipSysctlConfig: "/etc/sysctl.d/50-haproxy-vip.conf",
    runtimeDirectoryConfig: "/etc/tmpfiles.d/haproxy-charm.conf",
  },
};
