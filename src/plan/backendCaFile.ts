// The CA bundle HTTPS backends are verified against (`ca-file`): the union of
// the CAs applications send on receive-ca-certs. Public certificates, so
// world-readable like the system's own CA store; written only while there is
// at least one, and removed by the hook once the last one goes.
import type { HookInputs } from "../juju/hookInputs.js";
import type { ManagedFile } from "../model/types.js";
import { readReceivedCas } from "../relations/receiveCaCerts/receivedCas.js";

export function backendCaPath(libDir: string): string {
  return `${libDir}/receive-ca-certs.pem`;
}

export interface BackendCaBundle {
  /** The bundle to write; absent while no application has sent a CA. */
  readonly file?: ManagedFile;
  /** Values left out, for the log. */
  readonly warnings: readonly string[];
}

export function backendCaBundle(inputs: HookInputs, libDir: string): BackendCaBundle {
  const received = readReceivedCas(inputs.receivedCaApps ?? [], inputs.receivedCaUnits ?? []);
  if (received.bundle === "") return { warnings: received.warnings };
  return {
    file: { path: backendCaPath(libDir), content: received.bundle, mode: 0o644, secret: false },
    warnings: received.warnings,
  };
}
