/** Issue 12's worker metrics: FIFO claims, FIFO groups held by a retry, debounced runs. */
import { describe, expect, it, vi } from 'vitest';
import { createObservability } from '../../lib/observability/powertools.ts';
import { METRIC } from '../../lib/observability/names.ts';
import { workerEventSink } from '../../lib/observability/worker-events.ts';
import type { Job } from '../../lib/types.ts';

const job = (over: Partial<Job>): Job => ({ id: 'j', type: 't', queue: 'q', attempts: 1, maxAttempts: 3, fifoSeq: null, debounceKey: null, group: null, ...over }) as Job;

describe('feature metrics', () => {
  it('counts FIFO claims, FIFO retries holding a group and debounced runs, and nothing for plain jobs', () => {
    const { logger, metrics } = createObservability({ serviceName: 'jobtable-test', queue: 'q' });
    const sink = workerEventSink({ logger, metrics });
    const o = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const e = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const w = vi.spyOn(console, 'warn').mockImplementation(() => {});
    let emf: Record<string, unknown>;
    try {
      sink({ kind: 'claimed', job: job({ fifoSeq: 3, group: 'g' }), pickupDelayMs: 0 });
      sink({ kind: 'claimed', job: job({ debounceKey: 'k' }), pickupDelayMs: 0 });
      sink({ kind: 'claimed', job: job({}), pickupDelayMs: 0 });
      sink({ kind: 'retrying', job: job({ fifoSeq: 3, group: 'g' }), error: new Error('x'), retryAt: new Date(), durationMs: 1 });
      sink({ kind: 'retrying', job: job({}), error: new Error('x'), retryAt: new Date(), durationMs: 1 });
      emf = metrics.serializeMetrics() as unknown as Record<string, unknown>;
    } finally {
      o.mockRestore();
      e.mockRestore();
      w.mockRestore();
    }
    expect(emf[METRIC.jobsClaimed]).toEqual([1, 1, 1]);
    expect(emf[METRIC.fifoJobsClaimed]).toBe(1);
    expect(emf[METRIC.debouncedJobsRun]).toBe(1);
    expect(emf[METRIC.fifoGroupsHeldByRetry]).toBe(1);
  });
});
