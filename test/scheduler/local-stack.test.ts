/**
 * The local scheduler wired into the local stack (`npm start`'s extras): prompt pickup, a delayed
 * job, a recurring schedule and the minute tick, through `startLocalStack` on DynamoDB Local.
 * Workers poll only every 60 s, so sooner starts come from the scheduler.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localScheduling } from '../../lib/local/index.ts';
import { defaultLocalExtras } from '../../lib/local/services.ts';
import { startTestStack } from '../e2e/stack.ts';
import type { TestStack } from '../e2e/stack.ts';
import { waitFor } from '../helpers/ddb.ts';

describe('local stack with the local scheduler', () => {
  let t: TestStack;
  beforeAll(async () => {
    const { scheduler, service } = localScheduling({ allowSecondRates: true, tickMs: 0 });
    t = await startTestStack({ pollIntervalMs: 60_000, scheduler, services: [service] });
  });
  afterAll(async () => t.cleanup());

  const done = (id: string) => waitFor(async () => (await t.stack.queue.getJob(id))?.status === 'completed', 20_000);

  it('npm start gets the scheduler and its service by default', () => {
    const extras = defaultLocalExtras();
    expect(extras.scheduler?.allowSecondRates).toBe(false);
    expect(extras.services?.map((s) => s.name)).toEqual([expect.stringContaining('scheduler')]);
  });

  it('picks up a due job and a delayed job long before the 60 s poll, never early', async () => {
    const now = await t.stack.queue.enqueue('noop', {});
    const later = await t.stack.queue.enqueue('noop', {}, { delayMs: 2_000 });
    await done(now);
    await done(later);
    const job = await t.stack.queue.getJob(later);
    expect(job!.startedAt!.getTime()).toBeGreaterThanOrEqual(job!.runAt.getTime());
    expect(job!.startedAt!.getTime() - job!.runAt.getTime()).toBeLessThan(5_000);
  });

  it('runs a recurring schedule through the stack queue, then stops it', async () => {
    await t.stack.queue.schedule('stack-tick', 'rate(1 second)', 'noop', { from: 'schedule' });
    const page = () => t.stack.queue.listJobs({ status: 'completed', limit: 100 });
    const keyed = async () => (await page()).jobs.filter((j) => j.idempotencyKey?.startsWith('schedule:stack-tick@'));
    await waitFor(async () => (await keyed()).length >= 2, 20_000);
    expect(await t.stack.queue.unschedule('stack-tick')).toBe(true);
    expect((await keyed())[0]!.payload).toEqual({ from: 'schedule' });
  });
});
