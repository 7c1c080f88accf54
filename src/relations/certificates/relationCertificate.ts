// The certificates relation at the hook's edge: the unit's key and state
// files, a CSR when one is due, and the certificate to serve.
import { createPrivateKey } from "node:crypto";

import type { ConfigReading } from "../../config/charmConfig.js";
import { ConfigError } from "../../lib/errors.js";
import { externalHostname } from "../../config/externalHostname.js";
import type { HookInputs, RemoteApp } from "../../juju/hookInputs.js";
import type { Paths } from "../../paths.js";
import {
  certificateRequestsValue,
  decideCertificate,
  renewalPending,
} from "./certificateLifecycle.js";
import { readProviderCertificates } from "./providerCertificates.js";
import { UnitCertificateStore } from "./unitCertificateStore.js";

export interface CertificateRequestPublication {
  readonly relationId: string;
  /** `certificate_signing_requests` for our unit bag ("" deletes it). */
  readonly value: string;
  /** A new CSR was made in this hook. */
  readonly changed: boolean;
}

export interface RelationCertificate {
  readonly inputs: HookInputs;
  readonly request?: CertificateRequestPublication;
  readonly warnings: readonly string[];
}

export function certificateStore(paths: Paths): UnitCertificateStore {
  return new UnitCertificateStore(paths.charmState);
}

/** The held certificate is past its renewal time and no CSR was sent since: update-status reconciles. */
export async function renewalDue(paths: Paths, now: number): Promise<boolean> {
  const store = certificateStore(paths);
  const [held, sent] = await Promise.all([store.heldCertificate(), store.sentRequest()]);
  return held !== undefined && renewalPending(held, sent, now);
}

export async function withRelationCertificate(
  paths: Paths,
  config: ConfigReading,
  inputs: HookInputs,
  providers: readonly RemoteApp[],
  now: number,
): Promise<RelationCertificate> {
  const store = certificateStore(paths);
  const [provider] = providers;
  if (provider === undefined) {
    // The relation is gone: its certificate is no longer ours to serve.
    await store.saveCertificate(undefined);
    await store.saveRequest(undefined);
    return { inputs, warnings: [] };
  }
  // An invalid option: the planner blocks the unit with its error.
  if (config instanceof ConfigError) return { inputs, warnings: [] };
  let hostname: string;
  try {
    hostname = externalHostname(config);
  } catch {
    return { inputs, warnings: [] }; // the planner blocks with the option's error
  }

  const key = await store.key();
  const [sent, held] = key.created
    ? [undefined, undefined]
    : await Promise.all([store.sentRequest(), store.heldCertificate()]);
  const offered = readProviderCertificates(provider.settings);
  const decision = decideCertificate({
    hostname,
    ...(sent && { sent }),
    ...(held && { held }),
    offered: offered.entries,
    key: createPrivateKey(key.pem),
    now,
  });

  let request = hostname === "" ? undefined : sent;
  if (decision.newRequest) {
    request = { hostname, csr: await store.makeRequest(key, hostname), createdAt: now };
  }
  await store.saveRequest(request);
  await store.saveCertificate(decision.held);

  return {
    inputs: {
      ...inputs,
      ...(decision.held
        ? { relationCertificatePem: decision.held.pem + key.pem }
        : hostname !== "" && { awaitingCertificate: true }),
    },
    request: {
      relationId: provider.relationId,
      value: certificateRequestsValue(request?.csr),
      changed: request !== sent,
    },
    warnings: [
      ...offered.problems.map((problem) => `${provider.app} (${provider.relationId}): ${problem}`),
      ...decision.warnings.map((warning) => `${provider.app} (${provider.relationId}): ${warning}`),
    ],
  };
}
