/** Nearest-rank percentiles of a list of milliseconds; zeros for an empty list. */
export function percentiles(values: readonly number[]): { p50: number; p90: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
  return { p50: rank(50), p90: rank(90), p99: rank(99), max: sorted.at(-1) ?? 0 };
}
