/**
 * `enqueue --wait` / `watch <id>` on one job: the bar follows the job's own reported progress
 * (step 5 of 8 draws 5/8), not "0/1 finished" until the end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForJobs } from '../../lib/cli/wait.ts';
import { freshQueue, waitFor } from '../helpers/ddb.ts';

let q: Awaited<ReturnType<typeof freshQueue>>;
beforeAll(async () => {
  q = await freshQueue({ shardCount: 2 });
});
afterAll(async () => q?.cleanup());

describe('waiting for one job', () => {
  it('draws the job reported progress on the bar', async () => {
    const id = await q.queue.enqueue('steps', {});
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const drain = q.queue.processJobs({
      steps: async (_p, ctx) => {
        await ctx.progress(5, 8, 'step 5 of 8');
        await held;
        await ctx.progress(8, 8, 'done');
        return { ok: true };
      },
    });
    await waitFor(async () => (await q.queue.getJob(id))?.progress?.current === 5);
    const writes: string[] = [];
    const tty = { isTTY: true, write: (s: string) => writes.push(s) };
    const io = { stdout: tty as any, stderr: tty as any };
    const seen = await waitForJobs(q.queue, [id], io, { signal: new AbortController().signal, timeoutMs: 0 });
    expect(seen.allFinished).toBe(false);
    expect(writes.join('')).toMatch(/\[#+\.+\] 5\/8\s+63%/);
    expect(writes.join('')).not.toContain('0/1');
    release();
    await drain;
    const done: string[] = [];
    const out = { isTTY: false, write: (s: string) => done.push(s) };
    await waitForJobs(q.queue, [id], { stdout: out as any, stderr: out as any }, { signal: new AbortController().signal });
    expect(done.join('')).toMatch(/8\/8 100%.*completed/);
  });
});
