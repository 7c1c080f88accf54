// Why the e2e project cannot run here, if it cannot: the local Juju model
// (tests/localJuju) creates network and mount namespaces, which takes root.
export function e2eSkipReason(): string | undefined {
  if (process.getuid?.() === 0) return undefined;
  return "e2e tests need root: the local Juju model creates network and mount namespaces";
}

// The e2e project's global set-up: the reason once a run, rather than a
// failure in every file (rootOnlyRunner.ts skips them).
export default function warnWithoutRoot(): void {
  const reason = e2eSkipReason();
  if (reason !== undefined) console.warn(`\nWARNING: ${reason}. Every e2e test file is skipped.\n`);
}
