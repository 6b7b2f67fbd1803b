/** Small statistics helpers for the benchmarks. Pure. */

/** The p-th percentile (0-100) of `values`, nearest-rank; NaN for an empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

/** p50, p99 and max of latencies, in ms, rounded to 0.1 ms. */
export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** Summarises latencies. */
export function latencySummary(values: readonly number[]): LatencySummary {
  const r = (n: number) => Math.round(n * 10) / 10;
  return { count: values.length, p50: r(percentile(values, 50)), p99: r(percentile(values, 99)), max: r(values.length ? Math.max(...values) : Number.NaN) };
}

/** Rounds to `digits` decimals. */
export const round = (n: number, digits = 2): number => {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};

/**
 * Runs `fn(i)` for i in [0, n) with at most `concurrency` calls at once; returns the
 * per-call latencies in ms and the wall time.
 */
export async function runConcurrent(n: number, concurrency: number, fn: (i: number) => Promise<unknown>): Promise<{ latencies: number[]; wallMs: number }> {
  const latencies: number[] = new Array(n);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) {
        const i = next++;
        const t0 = performance.now();
        await fn(i);
        latencies[i] = performance.now() - t0;
      }
    }),
  );
  return { latencies, wallMs: performance.now() - started };
}
