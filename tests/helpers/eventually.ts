// Retrying an assertion until it holds: for what a real haproxy or keepalived
// reaches a moment later (a health check, a failover).

/** Retries `probe` every `everyMs` until it passes, or throws its last failure after `ms`. */
export async function eventually(
  probe: () => Promise<void> | void,
  ms = 20_000,
  everyMs = 500,
): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      await probe();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  }
}
