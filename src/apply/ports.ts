// Which TCP ports to open or close so the unit's opened ports match the
// frontends haproxy listens on. UDP entries and port ranges are not ours:
// the charm never opens them, so it never closes them either.

export interface PortChanges {
  readonly open: number[];
  readonly close: number[];
}

/** `opened` as `opened-ports` lists it (`80/tcp`, `8000-8010/tcp`, `53/udp`). */
export function planPortChanges(opened: readonly string[], wanted: readonly number[]): PortChanges {
  const openedSingle = new Set<number>();
  const openedRanges: [number, number][] = [];
  for (const entry of opened) {
    const match = /^(\d+)(?:-(\d+))?\/tcp$/.exec(entry.trim());
    if (match === null) continue;
    const from = Number(match[1]);
    if (match[2] === undefined) openedSingle.add(from);
    else openedRanges.push([from, Number(match[2])]);
  }
  const wantedSet = new Set(wanted);
  const isOpen = (port: number): boolean =>
    openedSingle.has(port) || openedRanges.some(([from, to]) => port >= from && port <= to);
  const ascending = (a: number, b: number): number => a - b;
  return {
    open: [...wantedSet].filter((port) => !isOpen(port)).sort(ascending),
    close: [...openedSingle].filter((port) => !wantedSet.has(port)).sort(ascending),
  };
}
