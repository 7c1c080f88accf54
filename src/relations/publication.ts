// What an endpoint's publisher is given (types only: importing this module
// loads nothing).
import type { CharmConfig } from "../config/charmConfig.js";
import type { HookInputs } from "../juju/hookInputs.js";
import type { HookTools } from "../juju/hookTools.js";
import type { RelationData } from "../juju/relationData.js";
import type { Plan } from "../plan/planConfiguration.js";
import type { CertificateRequestPublication } from "./certificates/relationCertificate.js";
import type { TlsListener } from "./monitors/nrpeChecks.js";

/** After a reconcile: what haproxy serves, for the relations that tell others about it. */
export interface ReconcilePublication {
  readonly tools: HookTools;
  readonly relations: RelationData;
  readonly inputs: HookInputs;
  /** The plan haproxy serves; absent when the configuration is not live. */
  readonly plan?: Plan;
  /** The CSR of this hook's certificate, if there is one to publish. */
  readonly certificateRequest?: CertificateRequestPublication;
  /**
   * A hook of a classic relation (reverseproxy, peer, website): it cannot
   * change what the certificates and cos-agent relations say, and leaves them
   * alone, so that a reverseproxy join makes no more hook-tool calls than it
   * did before they existed.
   */
  readonly classicHook: boolean;
}

/** After the upkeep: the monitoring relations, which need the checked configuration. */
export interface UpkeepPublication {
  readonly tools: HookTools;
  readonly config: CharmConfig;
  /** The statistics page's password, or undefined when there is no page. */
  readonly password: string | undefined;
  readonly tlsListeners: readonly TlsListener[];
  /** The relation of this hook, when the hook is the endpoint's own. */
  readonly ownRelationId?: string;
}
