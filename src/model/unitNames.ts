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
// Built only for names the quick order below cannot compare: building it costs
// a hook about 25 ms of CPU, and names of one application never need it.
let naturalOrder: Intl.Collator | undefined;

export function compareNatural(a: string, b: string): number {
  if (a === b) return 0;
  return (
    trailingNumberOrder(a, b) ??
    (naturalOrder ??= new Intl.Collator("en", { numeric: true })).compare(a, b)
  );
}

/**
 * The collator's order of two names that differ only in a number at their
 * end (`app/9`, `app/10`; `reverseproxy:2`, `reverseproxy:12`): the
 * numbers' order. Undefined for any other pair.
 */
function trailingNumberOrder(a: string, b: string): number | undefined {
  let common = 0;
  while (common < a.length && a[common] === b[common]) common += 1;
  // Back to the start of the number the names differ in.
  while (common > 0 && isDigit(a.charCodeAt(common - 1))) common -= 1;
  const x = a.slice(common);
  const y = b.slice(common);
  if (!plainNumber.test(x) || !plainNumber.test(y) || !printable.test(a.slice(0, common))) {
    return undefined;
  }
  // Without leading zeros, the longer number is the larger.
  return x.length - y.length || (x < y ? -1 : 1);
}

const plainNumber = /^(0|[1-9][0-9]*)$/;
const printable = /^[\x20-\x7e]*$/;

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

export function compareUnitsOnRelations(
  a: { readonly relationId: string; readonly unit: string },
  b: { readonly relationId: string; readonly unit: string },
): number {
  return compareNatural(a.relationId, b.relationId) || compareNatural(a.unit, b.unit);
}
