/**
 * The drain against DynamoDB Local: claims in parallel up to the free slots, never races itself
 * when the index lags (simulated, 300 ms), and ends a job that no run of the worker could ever
 * finish instead of deferring it forever.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IndexLag } from '../../bench/lib/index-lag.ts';
import { JobQueue, Priority } from '../../lib/index.ts';
import { ddbEndpoint, freshTable, dropTable, sleep } from '../helpers/ddb.ts';
import { localClient } from '../../lib/local/dynamodb-local.ts';
import { shardRanks } from '../../lib/worker/drain/shard-order.ts';

let client: DynamoDBClient;
let tableName: string;
beforeAll(async () => {
  client = localClient(ddbEndpoint());
  tableName = await freshTable(client);
});
afterAll(async () => {
  await dropTable(client, tableName);
  client.destroy();
});

/** Counts claim writes (conditional on the index sort key seen) in flight at once. */
function watchClaims(c: DynamoDBClient): { max: number; total: number } {
  const seen = { max: 0, total: 0 };
  let inFlight = 0;
  c.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { ConditionExpression?: string };
      const isClaim = context.commandName === 'UpdateItemCommand' && (input.ConditionExpression ?? '').startsWith('#ro = :ro');
      if (!isClaim) return next(args);
      seen.total++;
      seen.max = Math.max(seen.max, ++inFlight);
      try {
        return await next(args);
      } finally {
        inFlight--;
      }
    },
    { step: 'initialize', name: 'watchClaims' },
  );
  return seen;
}

describe('parallel claims', () => {
  it('a worker with free slots claims several jobs at once, each once', async () => {
    const q = 'parallel';
    const c = localClient(ddbEndpoint());
    const claims = watchClaims(c);
    const producer = new JobQueue({ tableName, client, shardCount: 4 });
    const ids = await producer.enqueueMany(Array.from({ length: 120 }, (_, i) => ({ type: 'work', payload: { i }, options: { queue: q } })));
    const runs = new Map<string, number>();
    const worker = new JobQueue({ tableName, client: c, shardCount: 4 });
    const report = await worker.processJobs({ work: async (_p, ctx) => void runs.set(ctx.job.id, (runs.get(ctx.job.id) ?? 0) + 1) }, { queue: q, concurrency: 8 });
    c.destroy();
    expect(report).toMatchObject({ claimed: 120, completed: 120, lostRaces: 0 });
    expect(claims.total).toBe(120);
    // One claim per round trip would never have two in flight.
    expect(claims.max).toBeGreaterThanOrEqual(4);
    expect(claims.max).toBeLessThanOrEqual(8);
    expect([...runs.keys()].sort()).toEqual([...ids].sort());
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
  });
});

describe('jobs made due while it drains', () => {
  it('runs the jobs its handlers enqueue: a sweep after a job ended reads every shard again, even one just found empty', async () => {
    const q = 'chain';
    const c = localClient(ddbEndpoint());
    const queue = new JobQueue({ tableName, client: c, shardCount: 4 });
    await queue.enqueue('step', { n: 0 }, { queue: q });
    const ran: number[] = [];
    const report = await queue.processJobs(
      {
        step: async (p: { n: number }) => {
          ran.push(p.n);
          if (p.n < 3) await queue.enqueue('step', { n: p.n + 1 }, { queue: q });
        },
      },
      { queue: q, concurrency: 4 },
    );
    c.destroy();
    expect(ran).toEqual([0, 1, 2, 3]);
    expect(report).toMatchObject({ completed: 4, stoppedBecause: 'drained' });
  });

  it('claims a higher-priority job written mid-drain into a shard it found empty, long before its backlog ends', async () => {
    const q = 'mid-drain-priority';
    const workerId = 'refresh-reader';
    const ranks = shardRanks(workerId, 4);
    const inShard = (shard: number) => () => (shard + 0.5) / 4;
    const busy = ranks.indexOf(0); // the worker's first shard holds the whole backlog
    const empty = ranks.indexOf(3); // its last shard is empty at the sweep
    const c = localClient(ddbEndpoint());
    const backlog = new JobQueue({ tableName, client: c, shardCount: 4, random: inShard(busy) });
    const late = new JobQueue({ tableName, client: c, shardCount: 4, random: inShard(empty) });
    await backlog.enqueueMany(Array.from({ length: 200 }, (_, n) => ({ type: 'low', payload: { n }, options: { queue: q } })));
    const started: string[] = [];
    const report = await backlog.processJobs(
      {
        low: async (p: { n: number }) => {
          started.push(`low${p.n}`);
          if (started.length === 20) await late.enqueue('high', {}, { queue: q, priority: Priority.HIGH });
          await sleep(25); // at most 160 jobs/s: 16 claims per 100 ms
        },
        high: () => void started.push('high'),
      },
      { queue: q, concurrency: 4, workerId },
    );
    c.destroy();
    expect(report).toMatchObject({ completed: 201, stoppedBecause: 'drained' });
    // Only a background re-read of the empty shard's head finds it while the backlog lasts (one
    // shard in turn every 16 claims, at most every 100 ms: all 4 within about 64 claims here);
    // without one it would run after all 200.
    expect(started.indexOf('high')).toBeGreaterThan(20);
    expect(started.indexOf('high')).toBeLessThan(150);
  });
});

describe('index lag (simulated: queries see the index as it was 300 ms ago)', () => {
  it('a worker never tries again the jobs it holds or has just claimed', async () => {
    const q = 'lagging';
    const lag = new IndexLag(300);
    const producerClient = localClient(ddbEndpoint());
    const workerClient = localClient(ddbEndpoint());
    lag.attach(producerClient).attach(workerClient);
    const producer = new JobQueue({ tableName, client: producerClient, shardCount: 2 });
    await producer.enqueueMany(Array.from({ length: 150 }, (_, i) => ({ type: 'work', payload: { i }, options: { queue: q } })));
    await sleep(400); // the lagging index now shows them
    const runs = new Map<string, number>();
    const worker = new JobQueue({ tableName, client: workerClient, shardCount: 2 });
    const report = await worker.processJobs(
      { work: async (_p, ctx) => void runs.set(ctx.job.id, (runs.get(ctx.job.id) ?? 0) + 1) },
      { queue: q, concurrency: 8, waitForDueWithinMs: 0 },
    );
    producerClient.destroy();
    workerClient.destroy();
    expect(lag.stats.answered).toBeGreaterThan(0);
    expect(report.completed).toBe(150);
    expect(runs.size).toBe(150);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    // Alone on the queue, every failed claim would have been a race against itself.
    expect(report.lostRaces).toBe(0);
  });
});

describe('a job that no run of the worker could finish (issue 10, 5a)', () => {
  it('fails for good with an error naming timeoutMs and the worker budget, instead of staying pending', async () => {
    const q = 'too-long';
    const producer = new JobQueue({ tableName, client });
    const long = await producer.enqueue('long', {}, { queue: q, timeoutMs: 60_000 });
    const short = await producer.enqueue('short', {}, { queue: q, timeoutMs: 1_000 });
    const failedWith: Error[] = [];
    const ran: string[] = [];
    const report = await producer.processJobs(
      { long: { handler: () => void ran.push('long'), onFailed: (error) => void failedWith.push(error) }, short: () => void ran.push('short') },
      { queue: q, finishBy: Date.now() + 10_000, timeBudgetMs: 10_000, workerBudgetMs: 10_000 },
    );
    expect(report).toMatchObject({ claimed: 2, completed: 1, failed: 1, deferred: 0 });
    expect(ran).toEqual(['short']);
    const job = (await producer.getJob(long))!;
    expect(job.status).toBe('failed');
    expect(job.error).toContain('timeoutMs 60000');
    expect(job.error).toContain('10000 ms (workerBudgetMs)');
    expect(failedWith).toHaveLength(1);
    expect(failedWith[0]).toMatchObject({ name: 'JobTimeoutExceedsBudgetError', code: 'TIMEOUT_EXCEEDS_BUDGET', timeoutMs: 60_000, workerBudgetMs: 10_000 });
    expect((await producer.getJob(short))!.status).toBe('completed');
  });

  it('is only deferred when it would fit the whole budget but not the time this drain has left', async () => {
    const q = 'late-drain';
    const producer = new JobQueue({ tableName, client });
    const id = await producer.enqueue('long', {}, { queue: q, timeoutMs: 60_000 });
    const report = await producer.processJobs({ long: () => 'ran' }, { queue: q, finishBy: Date.now() + 10_000, timeBudgetMs: 10_000, workerBudgetMs: 120_000 });
    expect(report).toMatchObject({ claimed: 0, failed: 0, deferred: 1 });
    expect((await producer.getJob(id))!.status).toBe('pending');
  });

  it('rejects a workerBudgetMs that is not a whole number of ms', async () => {
    const producer = new JobQueue({ tableName, client });
    await expect(producer.processJobs({}, { workerBudgetMs: -1 })).rejects.toMatchObject({ name: 'ValidationError', field: 'workerBudgetMs' });
  });
});
