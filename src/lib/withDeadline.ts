// A promise with a time limit: what `work` settles with, or what `onExpiry`
// returns (or throws) once `ms` have passed without an answer. The timer is
// cleared either way, so a finished process does not wait for it.
export async function withDeadline<T>(work: Promise<T>, ms: number, onExpiry: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  }).then(onExpiry);
  try {
    return await Promise.race([work, expiry]);
  } finally {
    clearTimeout(timer);
  }
}
