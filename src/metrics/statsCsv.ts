// haproxy's `show stat` answer (the statistics page's CSV) as typed rows.
// Pure: the socket is read elsewhere.

/** One line of the statistics: a frontend, a backend, or one server of a backend. */
export interface StatsRow {
  /** `pxname`: the frontend or backend name. */
  readonly proxy: string;
  /** `svname`: `FRONTEND`, `BACKEND`, or the server's name. */
  readonly server: string;
  /** Every other column by its header name, as haproxy printed it. */
  readonly fields: ReadonlyMap<string, string>;
}

export class StatsFormatError extends Error {
  constructor(problem: string) {
    super(`haproxy statistics are not in the expected CSV format: ${problem}`);
    this.name = "StatsFormatError";
  }
}

export function parseShowStat(csv: string): StatsRow[] {
  const lines = csv.split("\n").map((line) => line.replace(/\r$/, ""));
  const headerLine = lines.find((line) => line.startsWith("# "));
  if (headerLine === undefined) throw new StatsFormatError("no `# pxname,svname,...` header");
  const header = splitCsvLine(headerLine.slice(2));
  if (header[0] !== "pxname" || header[1] !== "svname") {
    throw new StatsFormatError(`the header starts with ${JSON.stringify(header.slice(0, 2))}`);
  }
  const rows: StatsRow[] = [];
  for (const line of lines) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    const values = splitCsvLine(line);
    const [proxy, server] = values;
    if (proxy === undefined || server === undefined || proxy === "") continue;
    const fields = new Map<string, string>();
    header.forEach((name, i) => {
      // haproxy 2.6 has a placeholder column named `-`.
      if (i < 2 || name === "" || name === "-") return;
      fields.set(name, values[i] ?? "");
    });
    rows.push({ proxy, server, fields });
  }
  return rows;
}

/** The numeric columns of a row, in header order; empty and textual columns are left out. */
export function numericFields(row: StatsRow): [string, number][] {
  const numbers: [string, number][] = [];
  for (const [name, value] of row.fields) {
    if (/^-?\d+(\.\d+)?$/.test(value)) numbers.push([name, Number(value)]);
  }
  return numbers;
}

/** Splits one CSV line; haproxy quotes a value holding a comma or a quote. */
export function splitCsvLine(line: string): string[] {
  const values: string[] = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < line.length; i += 1) {
    const char = line[i];
    if (quoted) {
      if (char === '"' && line[i + 1] === '"') {
        current += '"';
        i += 1;
      } else if (char === '"') {
        quoted = false;
      } else {
        current += char;
      }
    } else if (char === '"') {
      quoted = true;
    } else if (char === ",") {
      values.push(current);
      current = "";
    } else {
      current += char;
    }
  }
  // haproxy ends every line with a comma: that last empty value is not a column.
  if (current !== "") values.push(current);
  return values;
}
