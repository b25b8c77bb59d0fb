// How figures and times read in the console: UTC times written out, rates as percentages,
// sizes in KB/MB. Missing values read as an em dash, never as 0.

export const MISSING = "\u2014";

// A time from the API (ISO 8601 text, or milliseconds / seconds since the epoch) as
// "2026-11-26 07:12 UTC".
export function formatTime(value: unknown): string {
  if (value === null || value === undefined || value === "") return MISSING;
  let date: Date;
  if (typeof value === "number") {
    date = new Date(value < 1e11 ? value * 1000 : value);
  } else if (typeof value === "string") {
    date = new Date(value);
  } else {
    return MISSING;
  }
  if (Number.isNaN(date.getTime())) return String(value);
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

// A fraction in [0, 1] as "63%" (one decimal below 10%).
export function formatRate(rate: number | null | undefined): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return MISSING;
  const percent = rate * 100;
  return `${percent > 0 && percent < 10 ? percent.toFixed(1) : Math.round(percent)}%`;
}

export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return MISSING;
  return n.toLocaleString("en-US");
}

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return MISSING;
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / (1024 * 1024)).toFixed(2)} MB`;
}

// Example queries arrive as strings (or objects with a text/query field from newer servers).
export function exampleText(example: unknown): string {
  if (typeof example === "string") return example;
  if (example && typeof example === "object") {
    const e = example as Record<string, unknown>;
    for (const key of ["text", "query"]) if (typeof e[key] === "string") return e[key] as string;
  }
  return String(example);
}
