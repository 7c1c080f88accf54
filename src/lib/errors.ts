// The handful of failures the charm tells apart. Only the CLI's top level
// turns them into a workload status and an exit code.

/** An operator's `juju config` value cannot be used: unit goes blocked. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(`config option ${option}: ${message}`);
  }
}

/** haproxy rejected the candidate configuration: unit goes blocked, live config stays. */
export class ValidationError extends Error {
  override readonly name = "ValidationError";
  constructor(
    /** haproxy's first error line, for the status message. */
    readonly firstError: string,
    readonly output: string,
  ) {
    super(`haproxy rejected the new configuration: ${firstError}`);
  }
}

/** A hook tool failed: the hook fails so Juju retries it. */
export class HookToolError extends Error {
  override readonly name = "HookToolError";
  constructor(
    readonly command: string,
    readonly exitCode: number | undefined,
    readonly stderr: string,
  ) {
    super(`${command} failed (exit ${exitCode ?? "?"}): ${stderr.trim()}`);
  }
}

/** Writing files or driving the haproxy service failed: the hook fails. */
export class ApplyError extends Error {
  override readonly name = "ApplyError";
}

/**
 * haproxy was reloaded but did not load its new file (a `bind` on an address
 * the unit does not hold passes `haproxy -c`): unit goes blocked, the old
 * workers keep serving the previous configuration, the next hook reloads again.
 */
export class NotLoadedError extends Error {
  override readonly name = "NotLoadedError";
}

/** Two services that both have servers claim one port: unit goes blocked, live config stays. */
export class ServiceConflictError extends Error {
  override readonly name = "ServiceConflictError";
  constructor(
    readonly port: number,
    readonly services: readonly string[],
    message = `services ${services.join(" and ")} both serve port ${port}`,
  ) {
    super(message);
  }
}

/** Something the configuration needs has not arrived yet (a certificate): unit waits, live config stays. */
export class WaitingError extends Error {
  override readonly name = "WaitingError";
}
