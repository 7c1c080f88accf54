// The scrape job the cos_agent library writes for `metrics_endpoints=[{path, port}]`.
import { blake2bHex } from "./blake2b.js";
import { COS_AGENT_METRICS_PATH } from "./exporterListener.js";

export interface ScrapeJob {
  readonly metrics_path: string;
  readonly static_configs: readonly { readonly targets: readonly string[] }[];
  readonly job_name: string;
}

/**
 * `<application>_default_<hash>`: the library names a job without a name
 * "default" and appends the 4-byte BLAKE2b of the rest of the job, serialised
 * by Python's `json.dumps(job, sort_keys=True)`, so the name changes with the port.
 */
export function exporterScrapeJob(application: string, port: number): ScrapeJob {
  const job = {
    metrics_path: COS_AGENT_METRICS_PATH,
    static_configs: [{ targets: [`localhost:${port}`] }],
  };
  const hash = blake2bHex(Buffer.from(pythonJsonDumps(job), "utf8"), 4);
  return { ...job, job_name: `${application}_default_${hash}` };
}

type Json = string | number | boolean | null | readonly Json[] | { readonly [key: string]: Json };

/** Python's `json.dumps(value, sort_keys=True)`: ", " and ": " separators, ASCII only. */
export function pythonJsonDumps(value: Json): string {
  if (isList(value)) return `[${value.map(pythonJsonDumps).join(", ")}]`;
  if (typeof value === "object" && value !== null) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${pythonString(key)}: ${pythonJsonDumps(value[key] ?? null)}`).join(", ")}}`;
  }
  if (typeof value === "string") return pythonString(value);
  return JSON.stringify(value);
}

function isList(value: Json): value is readonly Json[] {
  return Array.isArray(value);
}

// ensure_ascii: everything outside printable ASCII becomes \uXXXX (UTF-16 units).
function pythonString(text: string): string {
  return JSON.stringify(text).replace(
    /[\u007f-\uffff]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
