// Juju unit names (`app/7`) and relation ids (`reverseproxy:3`), ordered as
// an operator reads them: my-app/2 before my-app/10.

export function appOfUnit(unit: string): string {
  const slash = unit.lastIndexOf("/");
  return slash === -1 ? unit : unit.slice(0, slash);
}

/** `haproxy/0` -> `haproxy-0`, the form the old charm used in haproxy names. */
export function unitSlug(unit: string): string {
  return unit.replace("/", "-");
}

// One collator for all comparisons: localeCompare with options builds a new one per call.
const naturalOrder = new Intl.Collator("en", { numeric: true });

export function compareNatural(a: string, b: string): number {
  return naturalOrder.compare(a, b);
}

export function compareUnitsOnRelations(
  a: { readonly relationId: string; readonly unit: string },
  b: { readonly relationId: string; readonly unit: string },
): number {
  return compareNatural(a.relationId, b.relationId) || compareNatural(a.unit, b.unit);
}
