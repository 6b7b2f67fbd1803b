/**
 * Worker events -> Powertools JSON logs and EMF metrics, and the oldest-due-job age read from
 * DynamoDB Local.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createObservability } from '../../lib/observability/powertools.ts';
import { METRIC, METRICS_NAMESPACE } from '../../lib/observability/names.ts';
import { oldestDueJobAgeMs } from '../../lib/observability/oldest-due.ts';
import { workerEventSink } from '../../lib/observability/worker-events.ts';
import type { Job } from '../../lib/types.ts';
import { freshQueue } from '../helpers/ddb.ts';

const job = (over: Partial<Job> = {}): Job =>
  ({ id: 'job-1', type: 'send_email', queue: 'default', attempts: 2, maxAttempts: 3, ...over }) as Job;

/** Runs `fn` with stdout and stderr captured; returns the JSON lines written. */
function captureJsonLines(fn: () => void): Record<string, any>[] {
  const out: string[] = [];
  const grab = (chunk: any) => (out.push(String(chunk)), true);
  const o = vi.spyOn(process.stdout, 'write').mockImplementation(grab);
  const e = vi.spyOn(process.stderr, 'write').mockImplementation(grab);
  try {
    fn();
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
  return out.join('').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
}

describe('workerEventSink', () => {
  it('logs every event with job id, type and attempt, and records EMF metrics with service and queue dimensions', () => {
    const { logger, metrics } = createObservability({ serviceName: 'jobtable-test', queue: 'emails' });
    expect(logger).toBeInstanceOf(Logger);
    expect(metrics).toBeInstanceOf(Metrics);
    const sink = workerEventSink({ logger, metrics });
    let emf: any;
    const lines = captureJsonLines(() => {
      sink({ kind: 'claimed', job: job({ attempts: 1 }), pickupDelayMs: 1500 });
      sink({ kind: 'completed', job: job({ attempts: 1 }), durationMs: 40 });
      sink({ kind: 'retrying', job: job({ id: 'job-2' }), error: new Error('upstream 503'), retryAt: new Date('2030-01-01T00:00:00Z'), durationMs: 70 });
      sink({ kind: 'failed', job: job({ id: 'job-3', attempts: 3 }), error: new Error('gave up'), durationMs: 90 });
      sink({ kind: 'stale', job: job({ id: 'job-4' }), outcome: 'completed' });
      sink({ kind: 'error', error: new Error('store down') });
      const limited = { kind: 'limited', jobId: 'job-5', queue: 'emails', group: 'tenant-1', limit: 'concurrency', scope: 'group', retryAt: new Date() } as const;
      sink(limited);
      sink({ ...limited, limit: 'rate' });
      emf = metrics.serializeMetrics();
    });

    expect(lines.find((l) => l.message === 'job completed')).toMatchObject({ level: 'INFO', service: 'jobtable-test', queue: 'default', jobId: 'job-1', jobType: 'send_email', attempt: 1, durationMs: 40 });
    expect(lines.find((l) => l.message === 'job claimed')).toMatchObject({ jobId: 'job-1', pickupDelayMs: 1500 });
    expect(lines.find((l) => l.message.startsWith('job attempt failed'))).toMatchObject({ level: 'WARN', jobId: 'job-2', attempt: 2, retryAt: '2030-01-01T00:00:00.000Z', error: { message: 'upstream 503' } });
    expect(lines.find((l) => l.message.startsWith('job failed for good'))).toMatchObject({ level: 'ERROR', jobId: 'job-3', attempt: 3, maxAttempts: 3, error: { message: 'gave up' } });
    expect(lines.find((l) => l.message.startsWith('outcome discarded'))).toMatchObject({ jobId: 'job-4', outcome: 'completed' });
    expect(lines.find((l) => l.message === 'worker error')).toMatchObject({ error: { message: 'store down' } });

    const directive = emf._aws.CloudWatchMetrics[0];
    expect(directive.Namespace).toBe(METRICS_NAMESPACE);
    expect(directive.Dimensions[0]).toEqual(expect.arrayContaining(['service', 'queue']));
    expect(emf).toMatchObject({ service: 'jobtable-test', queue: 'emails' });
    expect(emf[METRIC.jobsClaimed]).toBe(1);
    expect(emf[METRIC.jobsCompleted]).toBe(1);
    expect(emf[METRIC.jobsRetried]).toBe(1);
    expect(emf[METRIC.jobsFailed]).toBe(1);
    expect(emf[METRIC.jobsStale]).toBe(1);
    expect(emf[METRIC.workerErrors]).toBe(1);
    expect(emf[METRIC.jobsDelayedByLimit]).toEqual([1, 1]);
    expect(lines.some((l) => l.jobId === 'job-5')).toBe(false); // counted, not logged
    expect(emf[METRIC.pickupDelay]).toBe(1500);
    expect(emf[METRIC.jobDuration]).toEqual([40, 70, 90]);
    const units = Object.fromEntries(directive.Metrics.map((m: any) => [m.Name, m.Unit]));
    expect(units).toMatchObject({ [METRIC.jobDuration]: 'Milliseconds', [METRIC.pickupDelay]: 'Milliseconds', [METRIC.jobsFailed]: 'Count' });
  });
});

describe('oldestDueJobAgeMs', () => {
  let ctx: Awaited<ReturnType<typeof freshQueue>>;
  let now = Date.UTC(2030, 0, 1);
  beforeAll(async () => {
    ctx = await freshQueue({ clock: { now: () => now }, shardCount: 4 });
  });
  afterAll(async () => ctx.cleanup());

  it('is 0 with nothing due, then the age of the oldest due job; delayed jobs do not count until due', async () => {
    const { queue } = ctx;
    expect(await oldestDueJobAgeMs(queue.store, 'ages')).toBe(0);
    await queue.enqueue('noop', {}, { queue: 'ages', runAt: now - 5_000 });
    await queue.enqueue('noop', {}, { queue: 'ages', runAt: now - 2_000, priority: 30 });
    await queue.enqueue('noop', {}, { queue: 'ages', delayMs: 60_000 });
    expect(await oldestDueJobAgeMs(queue.store, 'ages')).toBe(5_000);
    now += 120_000; // the delayed job is now due too, but the first is still the oldest
    expect(await oldestDueJobAgeMs(queue.store, 'ages')).toBe(125_000);
    expect(await oldestDueJobAgeMs(queue.store, 'other')).toBe(0);
  });
});
