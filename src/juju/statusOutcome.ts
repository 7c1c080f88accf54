// What a part of a hook says about the unit's workload status; the hook layer
// decides the one status from every part's word (hook/workloadStatus.ts).
import type { StatusName } from "./hookTools.js";

export interface WorkloadStatus {
  readonly status: StatusName;
  readonly message: string;
}

/** What one part of a hook says about the workload status. */
export interface StatusOutcome {
  /** Absent: the part has nothing to say against the others. */
  readonly status?: StatusName;
  readonly message?: string;
  /** The VIPs this unit holds, for an active status to name. */
  readonly heldVips?: readonly string[];
}
