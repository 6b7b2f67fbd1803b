import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshQueue } from '../helpers/ddb.ts';
import type { JobQueue } from '../../lib/index.ts';

describe('smoke', () => {
  let queue: JobQueue;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ queue, cleanup } = await freshQueue()));
  afterAll(async () => cleanup());

  it('enqueues, drains, completes', async () => {
    const id = await queue.enqueue('echo', { hello: 'world' });
    const report = await queue.processJobs({ echo: async (p: unknown) => ({ got: p }) });
    expect(report.completed).toBe(1);
    const job = await queue.getJob(id);
    expect(job?.status).toBe('completed');
    expect(job?.result).toEqual({ got: { hello: 'world' } });
  });
});
