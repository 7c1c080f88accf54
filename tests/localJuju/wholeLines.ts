// A service's output as a journal keeps it: whole lines only, since a pipe
// may split one of the program's lines between reads.
import type { Readable } from "node:stream";

/** Calls `record` with each run of complete lines `stream` yields, and the last partial one at its end. */
export function onWholeLines(stream: Readable | null, record: (text: string) => void): void {
  let partial = "";
  stream?.setEncoding("utf8");
  stream?.on("data", (chunk: string) => {
    const text = partial + chunk;
    const end = text.lastIndexOf("\n") + 1;
    partial = text.slice(end);
    if (end > 0) record(text.slice(0, end));
  });
  stream?.on("end", () => {
    if (partial !== "") record(`${partial}\n`);
    partial = "";
  });
}
