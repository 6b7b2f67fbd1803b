/**
 * Several workers at once against DynamoDB Local: exactly-once handling under contention, a
 * worker process killed mid-job, and a stale worker whose late result must not win.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue } from '../../lib/index.ts';
import type { ProcessReport, WorkerEvent } from '../../lib/index.ts';
import { localClient } from '../../lib/local/dynamodb-local.ts';
import { ddbEndpoint, freshQueue } from '../helpers/ddb.ts';

let queue: JobQueue;
let tableName: string;
let cleanup: () => Promise<void>;

beforeAll(async () => ({ queue, tableName, cleanup } = await freshQueue()));
afterAll(async () => cleanup());

describe('processJobs with several workers', () => {
  it('4 workers drain 400 jobs, every handler runs exactly once', async () => {
    const q = 'contention';
    const ids = await queue.enqueueMany(Array.from({ length: 400 }, (_, i) => ({ type: 'work', payload: { i }, options: { queue: q } })));
    const runs = new Map<string, number>();
    const byWorker = new Map<string, number>();
    const workers = Array.from({ length: 4 }, (_, w) => {
      const c = localClient(ddbEndpoint());
      const wq = new JobQueue({ tableName, client: c });
      return wq
        .processJobs(
          {
            work: async (_p, ctx) => {
              runs.set(ctx.job.id, (runs.get(ctx.job.id) ?? 0) + 1);
              byWorker.set(`w${w}`, (byWorker.get(`w${w}`) ?? 0) + 1);
              await new Promise((r) => setTimeout(r, 2));
              return w;
            },
          },
          { queue: q, concurrency: 4, workerId: `w${w}` },
        )
        .finally(() => c.destroy());
    });
    const reports: ProcessReport[] = await Promise.all(workers);
    expect(runs.size).toBe(400);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    expect(new Set(ids)).toEqual(new Set(runs.keys()));
    expect(reports.reduce((s, r) => s + r.completed, 0)).toBe(400);
    expect(reports.reduce((s, r) => s + r.claimed, 0)).toBe(400);
    // Work was shared, not done by one worker.
    expect(byWorker.size).toBeGreaterThanOrEqual(3);
    const lost = reports.reduce((s, r) => s + r.lostRaces, 0);
    expect(lost).toBeLessThan(400); // recorded, and far below one per job
    expect((await queue.listJobs({ status: 'pending', queue: q })).jobs).toEqual([]);
    expect((await queue.listJobs({ status: 'processing', queue: q })).jobs).toEqual([]);
  });
});

describe('a worker process killed mid-job', () => {
  it('its job is claimed again once the lease runs out, and completed by another worker', async () => {
    const q = 'crash';
    const id = await queue.enqueue('hang', { note: 'first worker dies' }, { queue: q, timeoutMs: 1_000 });
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/hanging-worker.ts', ddbEndpoint(), tableName, q], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env },
    });
    const started = await new Promise<{ started: string; attempt: number }>((resolve, reject) => {
      let buf = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        buf += chunk.toString();
        const line = buf.split('\n').find((l) => l.startsWith('{'));
        if (line) resolve(JSON.parse(line) as { started: string; attempt: number });
      });
      child.once('exit', (code) => reject(new Error(`worker exited early (${code})`)));
    });
    expect(started).toEqual({ started: id, attempt: 1 });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const orphan = await queue.getJob(id);
    expect(orphan).toMatchObject({ status: 'processing', attempts: 1 });
    const leaseEnd = orphan!.leaseUntil!.getTime();
    expect(leaseEnd - orphan!.startedAt!.getTime()).toBe(1_000 + 2_000); // timeout + 2 s grace

    // Nothing may take it before the lease ends...
    const early = await queue.processJobs({ hang: () => 'too early' }, { queue: q });
    expect(early.claimed).toBe(0);
    // ...and a worker that waits picks it up right after.
    let pickedAt = 0;
    const report = await queue.processJobs(
      { hang: (_p, ctx) => ((pickedAt = Date.now()), { rescuedOnAttempt: ctx.attempt }) },
      { queue: q, waitForDueWithinMs: 10_000 },
    );
    expect(report.completed).toBe(1);
    expect(pickedAt).toBeGreaterThanOrEqual(leaseEnd);
    expect(pickedAt - leaseEnd).toBeLessThan(1_500);
    expect(await queue.getJob(id)).toMatchObject({ status: 'completed', attempts: 2, result: { rescuedOnAttempt: 2 } });
  });
});

describe('a stale worker', () => {
  it('cannot overwrite the outcome of the worker that re-claimed its job', async () => {
    const q = 'stale';
    const id = await queue.enqueue('race', {}, { queue: q, timeoutMs: 300 });
    // Worker A's completion write is held up in the network for 1.5 s (past its 0.4 s lease).
    const slowClient = localClient(ddbEndpoint());
    slowClient.middlewareStack.add(
      (next) => async (args) => {
        const input = (args as { input: { ExpressionAttributeValues?: Record<string, unknown> } }).input;
        if (input.ExpressionAttributeValues && ':completed' in input.ExpressionAttributeValues) await new Promise((r) => setTimeout(r, 1_500));
        return next(args);
      },
      { step: 'initialize', name: 'slowCompletion' },
    );
    const a = new JobQueue({ tableName, client: slowClient });
    const eventsA: WorkerEvent[] = [];
    let claimedByA!: () => void;
    const aHasIt = new Promise<void>((r) => (claimedByA = r));
    // maxJobs 1: A must not race B for the job it still holds once its own lease runs out (a drain
    // re-claiming its own in-flight job is issue 10 item 7a, fixed in the drain, not tested here).
    const runA = a.processJobs(
      { race: () => ({ by: 'A' }) },
      { queue: q, leaseGraceMs: 100, maxJobs: 1, onEvent: (e) => (eventsA.push(e), e.kind === 'claimed' && claimedByA()) },
    );
    // Worker B starts once A holds the job, waits for A's lease to run out, and takes over.
    await aHasIt;
    const reportB = await queue.processJobs({ race: () => ({ by: 'B' }) }, { queue: q, leaseGraceMs: 100, waitForDueWithinMs: 3_000 });
    const reportA = await runA;
    slowClient.destroy();
    expect(reportB.completed).toBe(1);
    expect(reportA).toMatchObject({ claimed: 1, completed: 0, stale: 1 });
    expect(eventsA.some((e) => e.kind === 'stale' && e.outcome === 'completed')).toBe(true);
    expect(await queue.getJob(id)).toMatchObject({ status: 'completed', attempts: 2, result: { by: 'B' } });
  });
});
