/**
 * The example handlers of functions/jobs show good habits: generate_report removes its abort
 * listener after every step (no MaxListenersExceededWarning on long reports), and send_email
 * fails a hopeless job at once with PermanentJobError instead of retrying it.
 */
import { getEventListeners } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentJobError } from '../../lib/index.ts';
import type { Handlers, Job, JobContext } from '../../lib/index.ts';
import { handlers } from '../../functions/jobs/index.ts';
import { generateReport } from '../../functions/jobs/generate-report.ts';
import { sendEmail } from '../../functions/jobs/send-email.ts';
import { freshQueue } from '../helpers/ddb.ts';

/** A handler context with a real AbortSignal and no store behind it. */
function context(signal: AbortSignal): JobContext<any> {
  return { job: { id: 'job-1' } as Job, attempt: 1, signal, progress: async () => true, heartbeat: async () => true, completeWith: async () => {}, dependencies: async () => [] };
}

describe('generate_report', () => {
  it('leaves no abort listener behind after a long report, and warns about none', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    const controller = new AbortController();
    try {
      const result = await generateReport({ reportType: 'long', steps: 25, stepMs: 1 }, context(controller.signal));
      expect(result.steps).toBe(25);
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
      await new Promise((r) => setImmediate(r));
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('stops at the abort with the signal reason', async () => {
    const controller = new AbortController();
    const run = generateReport({ reportType: 'x', steps: 50, stepMs: 20 }, context(controller.signal));
    setTimeout(() => controller.abort(new Error('stop now')), 30);
    await expect(run).rejects.toThrow('stop now');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});

describe('send_email', () => {
  it('throws PermanentJobError for an address without @', async () => {
    await expect(sendEmail({ to: 'not-an-email', subject: 'x' }, context(new AbortController().signal))).rejects.toBeInstanceOf(PermanentJobError);
  });

  let q: Awaited<ReturnType<typeof freshQueue>>;
  beforeAll(async () => {
    q = await freshQueue({ shardCount: 2 });
  });
  afterAll(async () => q?.cleanup());

  it('fails a job with a bad address after one attempt, though it had three', async () => {
    const id = await q.queue.enqueue('send_email', { to: 'nobody', subject: 'x' }, { maxAttempts: 3 });
    const report = await q.queue.processJobs(handlers as Handlers, { waitForDueWithinMs: 0 });
    expect(report).toMatchObject({ claimed: 1, failed: 1, retried: 0 });
    const job = await q.queue.getJob(id);
    expect(job).toMatchObject({ status: 'failed', attempts: 1 });
    expect(job!.error).toContain('payload.to is not an email address');
  });
});
