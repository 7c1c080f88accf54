// A client on the model's network that keeps asking the VIP, for the VIP's
// e2e test and bench/vipFailover.ts: every request and when it ended, so a
// failover's failed requests and its gap can be counted.
import type { HttpOptions } from "../localJuju/httpClient.js";
import type { LocalModel } from "../localJuju/model.js";

export interface ClientRequest {
  /** When the request started and ended, in ms since the epoch. */
  readonly start: number;
  readonly end: number;
  /** The backend unit that answered, or undefined when the request failed. */
  readonly answer?: string;
}

export interface ClientLoop {
  readonly requests: readonly ClientRequest[];
  stop(): Promise<void>;
}

/** Sends one request after another to `url` (curl, 1 s timeout, `http` beside) until stopped. */
export function clientLoop(
  model: LocalModel,
  url: string,
  pauseMs = 50,
  http: HttpOptions = {},
): ClientLoop {
  const requests: ClientRequest[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const start = Date.now();
      const answer = await model.http(url, { timeoutMs: 1000, ...http }).then(
        (response) => (response.status === 200 ? response.body.trim() : undefined),
        () => undefined,
      );
      requests.push({ start, end: Date.now(), ...(answer !== undefined && { answer }) });
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  })();
  return {
    requests,
    async stop() {
      running = false;
      await loop;
    },
  };
}

export interface Failover {
  /** Requests that failed from `since` until the first that succeeded. */
  readonly failed: number;
  /** From `since` to the end of the first successful request that started after it, in ms. */
  readonly gapMs: number;
}

/** The failover measured from `since` (haproxy stopped on the holder); undefined until served again. */
export function failoverSince(
  requests: readonly ClientRequest[],
  since: number,
): Failover | undefined {
  const after = requests.filter((request) => request.start >= since);
  const firstServed = after.findIndex((request) => request.answer !== undefined);
  if (firstServed === -1) return undefined;
  const served = after[firstServed] as ClientRequest;
  return { failed: firstServed, gapMs: served.end - since };
}

/** Which haproxy units hold `address` on one of their interfaces right now. */
export async function vipHolders(
  model: LocalModel,
  units: readonly string[],
  address: string,
): Promise<string[]> {
  const holders: string[] = [];
  for (const unit of units) {
    const result = await model.exec(unit, ["ip", "-4", "-o", "addr", "show"]);
    if (result.stdout.includes(` ${address}/`)) holders.push(unit);
  }
  return holders;
}

/** An address of the model's /16 that no machine gets (machines count up from .10 of the first /24). */
export function unusedAddress(model: LocalModel): string {
  const [first, second] = model.subnet.split(".");
  return `${first}.${second}.200.100`;
}
