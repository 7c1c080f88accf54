// show-config prints the live haproxy.cfg without its passwords: action
// output lands in Juju's database and in terminals; show-password is the
// one action that reveals the monitoring password.

const REDACTED = "<redacted: juju run <unit> show-password>";

export function redactPasswords(haproxyCfg: string): string {
  return haproxyCfg
    .replace(/^(\s*stats auth\s+[^\s:]+:)\S+/gm, `$1${REDACTED}`)
    .replace(/^(\s*user\s+\S+\s+(?:insecure-)?password\s+)\S+/gm, `$1${REDACTED}`);
}
