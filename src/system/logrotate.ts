// `logrotate_config`: replaces the haproxy package's logrotate file. Emptying
// the option leaves the last file in place (the old charm's contract), except
// that an empty file, left by an old charm's bug, gets the package's default.

export const LOGROTATE_HEADER =
  "# This file is managed by the haproxy charm (config item logrotate_config).\n" +
  "# Manual changes may be reverted at any time.  Use Juju to change it.\n";

export const PACKAGED_LOGROTATE = `/var/log/haproxy.log {
    daily
    rotate 7
    missingok
    notifempty
    compress
    delaycompress
    postrotate
        [ ! -x /usr/lib/rsyslog/rsyslog-rotate ] || /usr/lib/rsyslog/rsyslog-rotate
    endscript
}
`;

/** What the logrotate file should hold, or undefined to leave it alone (pure). */
export function logrotateContent(option: string, current: string | undefined): string | undefined {
  if (option.trim() !== "")
    return LOGROTATE_HEADER + (option.endsWith("\n") ? option : `${option}\n`);
  if (current !== undefined && current.length === 0) return PACKAGED_LOGROTATE;
  return undefined;
}
