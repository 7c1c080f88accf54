// statsd names exactly as the old charm's cron job built them, so existing
// dashboards keep working: `<prefix>.<proxy>.<server>.<field>.<interval>min`.
import { type StatsRow, numericFields } from "./statsCsv.js";

export interface Gauge {
  readonly name: string;
  readonly value: number;
}

/** `$UNIT` becomes the unit's name with `/` and `.` turned into `-`. */
export function expandMetricsPrefix(prefix: string, unitName: string): string {
  const unit = unitName.replaceAll("/", "-").replaceAll(".", "-");
  return prefix.trim().replaceAll("$UNIT", unit);
}

/**
 * A name part may hold characters the statsd line format reserves (`:` ends
 * the name, `|` and `@` separate fields) or whitespace: each becomes `_`.
 * Dots stay, as they did: they are statsd's hierarchy.
 */
export function metricNamePart(text: string): string {
  return text.replace(/[\s:|@#]/g, "_");
}

export function metricName(
  prefix: string,
  row: Pick<StatsRow, "proxy" | "server">,
  field: string,
  intervalMinutes: number,
): string {
  return [
    ...(prefix === "" ? [] : [metricNamePart(prefix)]),
    metricNamePart(row.proxy),
    metricNamePart(row.server),
    metricNamePart(field),
    `${intervalMinutes}min`,
  ].join(".");
}

/** One gauge per numeric field of every row. */
export function statsGauges(
  rows: readonly StatsRow[],
  prefix: string,
  intervalMinutes: number,
): Gauge[] {
  return rows.flatMap((row) =>
    numericFields(row).map(([field, value]) => ({
      name: metricName(prefix, row, field, intervalMinutes),
      value,
    })),
  );
}
