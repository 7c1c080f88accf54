// The certificates relation at the hook's edge: the unit's key and state
// files, a CSR for each hostname when one is due, and the certificates to serve.
import { createPrivateKey } from "node:crypto";

import type { ConfigReading } from "../../config/charmConfig.js";
import { ConfigError } from "../../lib/errors.js";
import { externalHostname } from "../../config/externalHostname.js";
import type { HookInputs, RemoteApp } from "../../juju/hookInputs.js";
import type { Paths } from "../../paths.js";
import { type SentRequest, renewalPending } from "./certificateLifecycle.js";
import {
  certificateRequestsValue,
  decideHostnameCertificates,
  requestedHostnames,
} from "./hostnameRequests.js";
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

/** A held certificate is past its renewal time and no CSR was sent for it since: update-status reconciles. */
export async function renewalDue(paths: Paths, now: number): Promise<boolean> {
  const store = certificateStore(paths);
  const [held, sent] = await Promise.all([store.heldCertificates(), store.sentRequests()]);
  const sentBy = new Map(sent.map((request) => [request.hostname, request]));
  return held.some((certificate) =>
    renewalPending(certificate, sentBy.get(certificate.hostname), now),
  );
}

/**
 * Asks for a certificate for external_hostname and for each of
 * `routeHostnames` (haproxy-route's, `*.x` wildcards included), and returns
 * the inputs with what has arrived: external_hostname's as
 * relationCertificatePem (awaitingCertificate until then), the routes' in
 * hostnameCertificates (awaitingHostnames until then).
 */
export async function withRelationCertificate(
  paths: Paths,
  config: ConfigReading,
  inputs: HookInputs,
  providers: readonly RemoteApp[],
  now: number,
  routeHostnames: readonly string[],
): Promise<RelationCertificate> {
  const store = certificateStore(paths);
  const [provider] = providers;
  if (provider === undefined) {
    // The relation is gone: its certificates are no longer ours to serve.
    await store.saveCertificates([]);
    await store.saveRequests([]);
    return { inputs, warnings: [] };
  }
  // An invalid option: the planner blocks the unit with its error.
  if (config instanceof ConfigError) return { inputs, warnings: [] };
  let external: string;
  try {
    external = externalHostname(config);
  } catch {
    return { inputs, warnings: [] }; // the planner blocks with the option's error
  }
  const requested = requestedHostnames(external, routeHostnames);

  const key = await store.key();
  const [sent, held] = key.created
    ? [[], []]
    : await Promise.all([store.sentRequests(), store.heldCertificates()]);
  const offered = readProviderCertificates(provider.settings);
  const decisions = decideHostnameCertificates({
    hostnames: requested.hostnames,
    sent: new Map(sent.map((request) => [request.hostname, request])),
    held: new Map(held.map((certificate) => [certificate.hostname, certificate])),
    offered: offered.entries,
    key: createPrivateKey(key.pem),
    now,
  });

  const requests: SentRequest[] = [];
  for (const decision of decisions) {
    requests.push(
      decision.sent ?? {
        hostname: decision.hostname,
        csr: await store.makeRequest(key, decision.hostname),
        createdAt: now,
      },
    );
  }
  const served = decisions.flatMap((decision) => (decision.held ? [decision.held] : []));
  await store.saveRequests(requests);
  await store.saveCertificates(served);

  const servedBy = new Map(served.map((certificate) => [certificate.hostname, certificate]));
  const externalHeld = external === "" ? undefined : servedBy.get(external);
  const value = certificateRequestsValue(requests.map((request) => request.csr));
  const where = `${provider.app} (${provider.relationId})`;
  return {
    inputs: {
      ...inputs,
      ...(externalHeld
        ? { relationCertificatePem: externalHeld.pem + key.pem }
        : external !== "" && { awaitingCertificate: true }),
      ...(requested.routeHostnames.length > 0 && {
        hostnameCertificates: Object.fromEntries(
          requested.routeHostnames.flatMap((hostname) => {
            const certificate = servedBy.get(hostname);
            return certificate ? [[hostname, certificate.pem + key.pem]] : [];
          }),
        ),
        awaitingHostnames: requested.routeHostnames.filter((hostname) => !servedBy.has(hostname)),
      }),
    },
    request: {
      relationId: provider.relationId,
      value,
      changed: value !== certificateRequestsValue(sent.map((request) => request.csr)),
    },
    warnings: [
      ...requested.warnings.map((warning) => `${where}: ${warning}`),
      ...offered.problems.map((problem) => `${where}: ${problem}`),
      ...decisions.flatMap((decision) =>
        decision.warnings.map((warning) =>
          // external_hostname's read as they always have; a route's name their hostname.
          decision.hostname === external
            ? `${where}: ${warning}`
            : `${where}: ${decision.hostname}: ${warning}`,
        ),
      ),
    ],
  };
}
