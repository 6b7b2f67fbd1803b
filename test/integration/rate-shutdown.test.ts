/**
 * A job whose worker shuts down while it waits for its rate-limit start (the shutdown grace ended
 * first): the drain's gate hands it to `runJob` with the shutdown signal already aborted, and the
 * attempt must release the job without calling its handler (a call would be a start before the
 * job's reserved slot, outside the key's rate, and the job would run again after its release).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobQueue } from '../../lib/index.ts';
import { tryClaim } from '../../lib/store/claim-job.ts';
import { queryDue } from '../../lib/store/query-due.ts';
import type { Candidate } from '../../lib/store/query-due.ts';
import { runJob } from '../../lib/worker/run-job.ts';
import { freshQueue } from '../helpers/ddb.ts';

let queue: JobQueue;
let cleanup: () => Promise<void>;

beforeAll(async () => ({ queue, cleanup } = await freshQueue()));
afterAll(async () => cleanup());

async function dueCandidate(q: string): Promise<Candidate> {
  for (let shard = 0; shard < queue.store.shardCount; shard++) {
    const read = await queryDue(queue.store, q, shard, 10);
    if (read.candidates[0]) return read.candidates[0];
  }
  throw new Error('no due job');
}

describe('a claimed job run after the shutdown signal aborted', () => {
  it('is released without its handler being called', async () => {
    const id = await queue.enqueue('work', {}, { queue: 'rate-shutdown' });
    const attempt = await tryClaim(queue.store, await dueCandidate('rate-shutdown'), 'w1', 0);
    if (!attempt.claim) throw new Error('expected a claim');
    let calls = 0;
    const outcome = await runJob(queue.store, attempt.claim, { handler: async () => void calls++ }, ['work'], { leaseGraceMs: 0, shutdownSignal: AbortSignal.abort(), emit: () => {} });
    expect(calls).toBe(0);
    expect(outcome).toBe('released');
    expect((await queue.getJob(id))?.status).toBe('pending');
  });
});
