// Applies a server delta to the running haproxy through its admin socket,
// then reads the result back. Any answer other than the expected one stops
// the run: the caller reloads, and the file decides.
import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

import {
  type BackendDelta,
  type ConfiguredServer,
  cliSyntaxProblem,
  isAddressLiteral,
  isDisabled,
  weightOf,
} from "../model/serverDelta.js";

/** One command in, haproxy's whole answer out. */
export type AskHaproxy = (command: string) => Promise<string>;

export class RuntimeChangeError extends Error {
  constructor(command: string, answer: string) {
    super(`\`${command}\` answered ${JSON.stringify(answer.trim() || "nothing")}`);
    this.name = "RuntimeChangeError";
  }
}

export type AcceptsConnections = (address: string, port: number) => Promise<boolean>;

export interface RuntimeOptions {
  /** How long a removed server may take to finish its requests before the caller reloads. */
  readonly drainMs?: number;
  /** Whether a new server is up now; by default a TCP connection from this machine. */
  readonly accepts?: AcceptsConnections;
}

// A departing unit's last requests usually end within a second; longer ones
// (downloads, websockets) are better left to an old worker after a reload.
const DEFAULT_DRAIN_MS = 3000;
const DRAIN_POLL_MS = 50;
const PROBE_TIMEOUT_MS = 1000;

export async function applyServerDeltas(
  ask: AskHaproxy,
  deltas: readonly BackendDelta[],
  options: RuntimeOptions = {},
): Promise<void> {
  // A last guard: planServerDelta already reloads for these, before anything is sent.
  for (const delta of deltas) {
    const problem = cliSyntaxProblem(delta);
    if (problem !== undefined) throw new Error(`${delta.backend}: ${problem}`);
  }
  // Additions first: the one a haproxy refuses (2.6 takes no `cookie` on them)
  // fails before anything else changed.
  for (const delta of deltas) {
    for (const server of delta.add) {
      await addServer(ask, delta.backend, server, options.accepts ?? acceptsConnections);
    }
  }
  for (const delta of deltas) {
    for (const update of delta.update) {
      const target = `${delta.backend}/${update.name}`;
      if (update.address !== undefined) {
        const command = `set server ${target} addr ${update.address} port ${update.port}`;
        const answer = await ask(command);
        if (!/changed|no need to change/.test(answer))
          throw new RuntimeChangeError(command, answer);
      }
      if (update.weight !== undefined) {
        await expectSilence(ask, `set server ${target} weight ${update.weight}`);
      }
      if (update.disabled !== undefined) {
        await expectSilence(
          ask,
          `set server ${target} state ${update.disabled ? "maint" : "ready"}`,
        );
      }
    }
  }
  // The drain bound counts from here: additions (a probe each) may have taken seconds.
  const deadline = Date.now() + (options.drainMs ?? DEFAULT_DRAIN_MS);
  for (const delta of deltas) {
    for (const { name } of delta.remove) {
      await expectSilence(ask, `set server ${delta.backend}/${name} state maint`);
    }
  }
  for (const delta of deltas) {
    for (const server of delta.remove) {
      await deleteWhenDrained(ask, delta.backend, server, deadline);
    }
  }
  for (const delta of deltas) await confirm(ask, delta);
}

async function addServer(
  ask: AskHaproxy,
  backend: string,
  server: ConfiguredServer,
  accepts: AcceptsConnections,
): Promise<void> {
  const target = `${backend}/${server.name}`;
  const address = server.address.includes(":") ? `[${server.address}]` : server.address;
  const command = `add server ${target} ${address}:${server.port} ${server.options.join(" ")}`;
  const answer = await ask(command.trim());
  if (!answer.includes("New server registered")) throw new RuntimeChangeError(command, answer);
  const checked = server.options.includes("check");
  if (checked) await expectSilence(ask, `enable health ${target}`);
  if (server.options.includes("agent-check")) await expectSilence(ask, `enable agent ${target}`);
  if (isDisabled(server.options)) return;
  // A server that accepts connections takes traffic at once, as after a
  // reload, and its checks then judge it. One that does not must earn UP by
  // passing them (`rise`): leaving maintenance counts a server as UP, so it
  // leaves through drain (no new traffic), where `health down` holds.
  if (checked && !(await accepts(server.address, server.port))) {
    await expectSilence(ask, `set server ${target} state drain`);
    await expectSilence(ask, `set server ${target} health down`);
  }
  await expectSilence(ask, `set server ${target} state ready`);
}

/** Whether address:port accepts a TCP connection now, within a second. */
export function acceptsConnections(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port, timeout: PROBE_TIMEOUT_MS });
    const done = (accepted: boolean) => {
      socket.destroy();
      resolve(accepted);
    };
    socket.once("connect", () => done(true));
    socket.once("timeout", () => done(false));
    socket.once("error", () => done(false));
  });
}

/** In maintenance, a server gets no new requests; it can go once its last one has ended. */
async function deleteWhenDrained(
  ask: AskHaproxy,
  backend: string,
  server: ConfiguredServer,
  deadline: number,
): Promise<void> {
  const target = `${backend}/${server.name}`;
  const command = `del server ${target}`;
  for (let attempt = 0; ; attempt += 1) {
    const answer = await ask(command);
    if (answer.includes("Server deleted")) return;
    const busy = /still has connections|active sessions|queue/i.test(answer);
    if (!busy || Date.now() >= deadline) throw new RuntimeChangeError(command, answer);
    // haproxy 2.6 keeps a finished request's server connection idle and will
    // not delete a server holding one until pool-purge-delay; readdressing
    // the server closes its idle connections (never active ones).
    const port = attempt % 2 === 0 ? server.port + 1 : server.port;
    await ask(`set server ${target} addr ${server.address} port ${port}`);
    await sleep(DRAIN_POLL_MS);
  }
}

async function expectSilence(ask: AskHaproxy, command: string): Promise<void> {
  const answer = await ask(command);
  if (answer.trim() !== "") throw new RuntimeChangeError(command, answer);
}

// `show servers state` columns (format 1).
const NAME = 3;
const ADDRESS = 4;
const ADMIN_STATE = 6;
const USER_WEIGHT = 7;
const PORT = 18;
// Forced maintenance: `set server ... state maint`, or `disabled` in the file,
// which also sets 0x04 and keeps it after `state ready` puts the server back.
const MAINTENANCE = 0x01;

/** Reads the backend back: the servers, addresses, ports, weights and maintenance the file says. */
async function confirm(ask: AskHaproxy, delta: BackendDelta): Promise<void> {
  const command = `show servers state ${delta.backend}`;
  const answer = await ask(command);
  const rows = answer
    .split("\n")
    .filter((line) => /^\d+ /.test(line))
    .map((line) => line.split(" "));
  const live = new Map(rows.map((row) => [row[NAME], row]));
  const mismatch = (why: string) =>
    new RuntimeChangeError(command, `${why}; haproxy reports:\n${answer}`);
  if (live.size !== delta.servers.length) {
    throw mismatch(`${live.size} servers instead of ${delta.servers.length}`);
  }
  for (const server of delta.servers) {
    const row = live.get(server.name);
    if (row === undefined) throw mismatch(`${server.name} is missing`);
    const inMaintenance = (Number(row[ADMIN_STATE]) & MAINTENANCE) !== 0;
    // A name is resolved by haproxy: only a literal address can be compared.
    const address = isAddressLiteral(server.address) ? server.address : row[ADDRESS];
    const expected = [address, String(server.port), String(weightOf(server.options))];
    const actual = [row[ADDRESS], row[PORT], row[USER_WEIGHT]];
    if (expected.join(" ") !== actual.join(" ")) {
      throw mismatch(`${server.name} is ${actual.join(" ")}, not ${expected.join(" ")}`);
    }
    if (inMaintenance !== isDisabled(server.options)) {
      throw mismatch(`${server.name} is ${inMaintenance ? "" : "not "}in maintenance`);
    }
  }
}
