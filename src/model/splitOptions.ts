// haproxy splits a proxy into a frontend and backends; a service's options
// are sorted onto the side where haproxy accepts them, as the old charm did.

const FRONTEND_ONLY_PREFIXES = [
  "acl",
  "backlog",
  "bind",
  "capture cookie",
  "capture request header",
  "capture response header",
  "clitimeout",
  "default_backend",
  "http-request",
  "maxconn",
  "monitor fail",
  "monitor-net",
  "monitor-uri",
  "no option idle-close-on-response",
  "option accept-invalid-http-request",
  "option clitcpka",
  "option contstats",
  "option dontlog-normal",
  "option dontlognull",
  "option http-use-proxy-header",
  "option idle-close-on-response",
  "option log-separate-errors",
  "option logasap",
  "option socket-stats",
  "option tcp-smart-accept",
  "rate-limit sessions",
  "redirect",
  "tcp-request content accept",
  "tcp-request content reject",
  "tcp-request inspect-delay",
  "timeout client",
  "timeout clitimeout",
  "use_backend",
];

// The proxy mode and the log format must agree on both sides.
const BOTH_SIDES = ["mode tcp", "mode http", "option tcplog", "option httplog"];

/** The proxy's mode: its last `mode` line, else the defaults section's. */
export function proxyMode(options: readonly string[], defaultMode: string): string {
  const modes = options.filter((option) => /^mode\s/.test(option));
  return modes.length > 0 ? ((modes.at(-1) as string).split(/\s+/)[1] ?? defaultMode) : defaultMode;
}

export interface SplitOptions {
  readonly frontend: readonly string[];
  readonly backend: readonly string[];
}

export function splitOptions(options: readonly string[]): SplitOptions {
  const frontend: string[] = [];
  const backend: string[] = [];
  const addOnce = (side: string[], option: string) => {
    if (!side.includes(option)) side.push(option);
  };
  const bothSides = (option: string) =>
    BOTH_SIDES.some((shared) => option === shared || option.startsWith(`${shared} `));
  for (const option of options.filter(bothSides)) {
    addOnce(frontend, option);
    addOnce(backend, option);
  }
  for (const option of options.filter((o) => !bothSides(o))) {
    const frontendOnly = FRONTEND_ONLY_PREFIXES.some((prefix) => option.startsWith(prefix));
    addOnce(frontendOnly ? frontend : backend, option);
  }
  return { frontend, backend };
}
