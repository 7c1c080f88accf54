// The hooks waiting to run, in the order the model's operations queued them.
// Juju runs one hook at a time per unit; the local model runs one at a time
// overall, which is one of the orders Juju may choose. A unit in error holds
// its queue until it is resolved.

import type { HookEvent } from "./state.js";

export type QueuedEvent = Omit<HookEvent, "seq">;

export class HookQueue {
  private seq = 0;
  private readonly events: HookEvent[] = [];

  push(event: QueuedEvent): void {
    this.seq += 1;
    this.events.push({ ...event, seq: this.seq });
  }

  /** Puts a failed hook back at the head of its unit's queue, for `resolve`. */
  retry(event: HookEvent): void {
    const first = this.events[0]?.seq ?? event.seq;
    this.events.unshift({ ...event, seq: Math.min(first, event.seq) - 1 });
  }

  /** Takes the oldest event of a unit that `ready` accepts. */
  next(ready: (unit: string) => boolean): HookEvent | undefined {
    const index = this.events.findIndex((event) => ready(event.unit));
    if (index === -1) return undefined;
    return this.events.splice(index, 1)[0];
  }

  has(match: (event: HookEvent) => boolean): boolean {
    return this.events.some(match);
  }

  pendingFor(unit: string): readonly HookEvent[] {
    return this.events.filter((event) => event.unit === unit);
  }

  dropUnit(unit: string): void {
    for (let index = this.events.length - 1; index >= 0; index -= 1) {
      if (this.events[index]?.unit === unit) this.events.splice(index, 1);
    }
  }

  get size(): number {
    return this.events.length;
  }
}

/** The hook's name as Juju gives it: `website-relation-changed`, `install`, an action's name. */
export function hookName(event: HookEvent, endpoint: string | undefined): string {
  if (event.kind === "action") return event.action?.name ?? "action";
  if (event.kind.startsWith("relation-")) return `${endpoint ?? "unknown"}-${event.kind}`;
  return event.kind;
}
