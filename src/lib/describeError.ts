// A caught value as a message for a log line or a status: JavaScript may
// throw anything, not only an Error.
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
