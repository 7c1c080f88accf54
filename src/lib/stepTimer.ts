// Where a hook's time goes, when HAPROXY_CHARM_PROFILE=1 asks for it (the
// CLI turns it on): one line per step, giving when the step began, counted
// from the start of the process (so node's own start-up and the bundle's
// loading show), and how long it took. Off, a timed step is the bare call:
// no clock read, no output.

/** Where profile lines go: stderr, which Juju puts in the unit's log. */
export type ProfileSink = (line: string) => void;

/** What every profile line starts with, so a log can be searched for them. */
export const profilePrefix = "haproxy-charm profile:";

let sink: ProfileSink | undefined;

/** From now on each step writes one line to `write`; `undefined` turns profiling off. */
export function setProfileSink(write: ProfileSink | undefined): void {
  sink = write;
}

/** Notes a moment, e.g. the end of start-up, with no duration of its own. */
export function markStep(step: string): void {
  if (sink === undefined) return;
  sink(`${profilePrefix} at ${milliseconds(performance.now())} ${step}`);
}

/** Runs `work`; profiling, writes when it began and how long it took, failed or not. */
export async function timeStep<T>(step: string, work: () => Promise<T>): Promise<T> {
  if (sink === undefined) return work();
  const started = performance.now();
  try {
    return await work();
  } finally {
    writeStep(step, started);
  }
}

/** timeStep for synchronous work (planning, rendering). */
export function timeStepSync<T>(step: string, work: () => T): T {
  if (sink === undefined) return work();
  const started = performance.now();
  try {
    return work();
  } finally {
    writeStep(step, started);
  }
}

function writeStep(step: string, started: number): void {
  const took = performance.now() - started;
  sink?.(`${profilePrefix} at ${milliseconds(started)} took ${milliseconds(took)} ${step}`);
}

function milliseconds(value: number): string {
  return `${value.toFixed(1)} ms`;
}
