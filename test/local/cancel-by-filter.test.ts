/**
 * Cancel by filter over the HTTP API (`POST /jobs/bulk` with `{ action: "cancel", queue, type? }`,
 * what the dashboard's "Cancel all" posts), against DynamoDB Local: 2,100 pending jobs of a type
 * are cancelled in steps of 1,000, each step answering its progress and a cursor to post back
 * (the cap of 1,000 jobs per request no longer ends the cancel); jobs of another type and jobs
 * enqueued after the cancel began are left alone; a replayed cursor resumes without harm; dry
 * runs count without writing; bad cursors are refused, naming the field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobQueue } from '../../lib/index.ts';
import { serveApi } from '../helpers/api-server.ts';
import type { ServedApi } from '../helpers/api-server.ts';
import { freshQueue } from '../helpers/ddb.ts';

let queue: JobQueue;
let cleanup: () => Promise<void>;
let api: ServedApi;

beforeAll(async () => {
  ({ queue, cleanup } = await freshQueue({ shardCount: 4 }));
  api = await serveApi({ queue, jobTypes: ['sync', 'other'] });
});
afterAll(async () => {
  await api.close();
  await cleanup();
});

interface Step {
  readonly status: number;
  readonly body: Record<string, any>;
}

async function bulk(body: Record<string, unknown>): Promise<Step> {
  const res = await fetch(`${api.base}/jobs/bulk`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** Enqueues `n` pending jobs of `type` in `queueName` (delayed, so nothing could claim them). */
async function enqueueAll(n: number, type: string, queueName: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 500) {
    const batch = Array.from({ length: Math.min(500, n - i) }, (_, k) => ({ type, payload: { n: i + k }, options: { queue: queueName, delayMs: 3_600_000 } }));
    ids.push(...(await queue.enqueueMany(batch)));
  }
  return ids;
}

async function statuses(ids: readonly string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let i = 0; i < ids.length; i += 100) {
    const jobs = await Promise.all(ids.slice(i, i + 100).map((id) => queue.getJob(id)));
    for (const j of jobs) out[j!.status] = (out[j!.status] ?? 0) + 1;
  }
  return out;
}

describe('cancel by filter pages through every match', () => {
  it('cancels 2,100 pending jobs of a type in steps of 1,000, with progress, leaving others and later jobs alone', async () => {
    const targets = await enqueueAll(2_100, 'sync', 'many');
    const others = await enqueueAll(30, 'other', 'many');
    const filter = { action: 'cancel', queue: 'many', type: 'sync' };

    const dry = await bulk({ ...filter, dryRun: true });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ action: 'cancel', status: 'pending', dryRun: true, matched: 1_000, cancelled: 0, complete: false, more: true });
    expect(await statuses(targets.slice(0, 50))).toEqual({ pending: 50 });

    const steps: Step[] = [await bulk(filter)];
    expect(steps[0]!.body).toMatchObject({ examined: 1_000, matched: 1_000, cancelled: 1_000, skipped: 0, complete: false });
    // Enqueued after the cancel began: examined, not cancelled.
    const later = await enqueueAll(5, 'sync', 'many');
    // The first step's answer is posted back twice (as after a lost answer): the replay finds the
    // jobs the first resume cancelled no longer pending and goes on.
    const replay = await bulk({ ...filter, cursor: steps[0]!.body.cursor });
    expect(replay.body.cancelled).toBeGreaterThan(1_000);
    steps.push(await bulk({ ...filter, cursor: steps[0]!.body.cursor }));
    while (!steps.at(-1)!.body.complete) steps.push(await bulk({ ...filter, cursor: steps.at(-1)!.body.cursor }));

    const last = steps.at(-1)!.body;
    expect(steps.length).toBeGreaterThanOrEqual(2);
    expect(steps.every((s) => s.status === 200)).toBe(true);
    expect(last).toMatchObject({ complete: true, more: false, skipped: 0 });
    expect(last.cursor).toBeUndefined();
    expect(last.examined - last.matched).toBe(5); // the later jobs
    expect(await statuses(targets)).toEqual({ cancelled: 2_100 });
    expect(await statuses(others)).toEqual({ pending: 30 });
    expect(await statuses(later)).toEqual({ pending: 5 });
  }, 300_000);

  it('counts every match in a dry run stepped to the end, and writes nothing', async () => {
    await enqueueAll(40, 'sync', 'dry');
    let step = await bulk({ action: 'cancel', queue: 'dry', dryRun: true });
    expect(step.body).toMatchObject({ matched: 40, examined: 40, complete: true, dryRun: true, count: 40 });
    expect((await queue.listJobs({ status: 'pending', queue: 'dry', limit: 100 })).jobs).toHaveLength(40);
    step = await bulk({ action: 'cancel', queue: 'dry' });
    expect(step.body).toMatchObject({ cancelled: 40, complete: true, done: 40 });
  });

  it('refuses bad cursors naming the field, and a cursor with ids', async () => {
    await enqueueAll(3, 'sync', 'cursors');
    const run = await bulk({ action: 'cancel', queue: 'cursors', dryRun: true });
    const other = await bulk({ action: 'cancel', queue: 'cursors', type: 'sync', cursor: Buffer.from(JSON.stringify({ v: 1, c: 'cancel', f: 'x', t: 1, l: null, n: [0, 0, 0, 0] })).toString('base64url') });
    expect(other.status).toBe(400);
    expect(other.body).toMatchObject({ name: 'InvalidCursorError', field: 'cursor' });
    const garbage = await bulk({ action: 'cancel', queue: 'cursors', cursor: 'not-a-cursor' });
    expect(garbage.status).toBe(400);
    expect(garbage.body.field).toBe('cursor');
    const withIds = await bulk({ action: 'cancel', ids: ['a'], cursor: 'x' });
    expect(withIds.status).toBe(400);
    expect(withIds.body.field).toBe('cursor');
    expect(run.body.matched).toBe(3);
    expect((await queue.listJobs({ status: 'pending', queue: 'cursors', limit: 10 })).jobs).toHaveLength(3);
  });
});
