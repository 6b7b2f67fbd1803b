/**
 * Exactly-once effects under forced re-runs: N jobs each add 1 to one counter item in an
 * application table while the harness makes handlers run more than once. Through
 * `ctx.completeWith` the counter ends at exactly N; with a plain UpdateItem in the handler the
 * same run over-counts (so the test can fail).
 *
 * Forced re-runs: every 7th job's first attempt stalls past its lease (0.3 s timeout, 0.1 s grace)
 * ignoring its signal, so the attempt times out and the job runs again; a tenth of the jobs have
 * their first transaction held in the network past the lease, so another worker may take the job
 * over while it is in flight (the late transaction must then apply nothing); and a tenth of the
 * application writes (transactions, or the plain updates) lose their answer after DynamoDB applied
 * them, so the SDK sends them again.
 */
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue } from '../../lib/index.ts';
import type { JobContext, WorkerEvent } from '../../lib/index.ts';
import { localClient } from '../../lib/local/dynamodb-local.ts';
import { ATTR } from '../../lib/schema.ts';
import { ddbEndpoint, dropTable, freshTable, sleep, testClient } from '../helpers/ddb.ts';
import { addOne, counter, createAppTable } from '../helpers/app-table.ts';

const JOBS = Number(process.env.JOBTABLE_EFFECTS_JOBS ?? 300);
const WORKERS = 3;
const TIMEOUT_MS = 300;
const GRACE_MS = 100;

type Mode = 'completeWith' | 'plain';

/** What the harness did, so a run that forced nothing cannot pass unnoticed. */
interface Forced {
  runs: number;
  stalls: number;
  held: number;
  lostAnswers: number;
  stale: number;
}

let clean: DynamoDBClient;
let tableName: string;
let appTable: string;

beforeAll(async () => {
  clean = testClient();
  tableName = await freshTable(clean, 'effects-chaos');
  appTable = `app-chaos-${randomUUID().slice(0, 8)}`;
  await createAppTable(clean, appTable);
});

afterAll(async () => {
  await dropTable(clean, tableName);
  await dropTable(clean, appTable);
  clean.destroy();
});

/** The job id a TransactWriteItems completes (its last action is the job's own update), if any. */
function transactionJob(input: unknown): string | undefined {
  const items = (input as { TransactItems?: { Update?: { Key?: Record<string, { S?: string }> } }[] }).TransactItems;
  return items?.at(-1)?.Update?.Key?.[ATTR.id]?.S;
}

/** A worker's client: holds a tenth of the jobs' first transaction past the lease, loses a tenth of the app writes' answers. */
function chaoticClient(forced: Forced, heldJobs: Set<string>): DynamoDBClient {
  const c = localClient(ddbEndpoint());
  c.middlewareStack.add(
    (next, context) => async (args) => {
      const job = context.commandName === 'TransactWriteItemsCommand' ? transactionJob(args.input) : undefined;
      if (job && !heldJobs.has(job) && Math.random() < 0.1) {
        heldJobs.add(job);
        forced.held++;
        await sleep(TIMEOUT_MS + GRACE_MS + 300);
      }
      return next(args);
    },
    { step: 'initialize', name: 'holdTransaction' },
  );
  c.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const appWrite = context.commandName === 'TransactWriteItemsCommand' || (args.input as { TableName?: string }).TableName === appTable;
      if (appWrite && Math.random() < 0.1) {
        forced.lostAnswers++;
        // Applied, but the caller sees a 500: the SDK sends the same request again.
        throw Object.assign(new Error('injected: answer lost'), { name: 'InternalServerError', $fault: 'server', $metadata: { httpStatusCode: 500 } });
      }
      return result;
    },
    { step: 'deserialize', name: 'loseAnswer', priority: 'low' },
  );
  return c;
}

/** The handler: adds 1 to the mode's counter, through `completeWith` or a plain update. */
function countingHandler(mode: Mode, client: DynamoDBClient, forced: Forced) {
  return async (p: { i: number }, ctx: JobContext) => {
    forced.runs++;
    const stall = ctx.attempt === 1 && p.i % 7 === 0;
    if (stall) forced.stalls++;
    if (mode === 'plain') {
      await client.send(new UpdateItemCommand(addOne(appTable, mode).Update!));
      if (stall) await sleep(TIMEOUT_MS + GRACE_MS + 200);
      return;
    }
    if (stall) await sleep(TIMEOUT_MS + GRACE_MS + 200);
    await ctx.completeWith([addOne(appTable, mode)]);
  };
}

/** One worker: drains until it finds nothing twice in a row (a supervisor restarts a drain that threw). */
async function work(queue: JobQueue, handler: ReturnType<typeof countingHandler>, q: string, onEvent: (e: WorkerEvent) => void): Promise<void> {
  for (let idle = 0; idle < 2; ) {
    try {
      const r = await queue.processJobs({ count: handler }, { queue: q, concurrency: 8, leaseGraceMs: GRACE_MS, waitForDueWithinMs: 1_500, onEvent });
      idle = r.claimed === 0 ? idle + 1 : 0;
    } catch {
      idle = 0;
    }
  }
}

/** Enqueues the jobs, runs the workers to the end, and returns the counter and what was forced. */
async function run(mode: Mode): Promise<{ count: number; forced: Forced; completed: number }> {
  const q = `effects-${mode}`;
  const producer = new JobQueue({ tableName, client: clean });
  const jobs = Array.from({ length: JOBS }, (_, i) => ({ type: 'count', payload: { i }, options: { queue: q, timeoutMs: TIMEOUT_MS, maxAttempts: 10, backoff: { baseMs: 20 } } }));
  await producer.enqueueMany(jobs);
  const forced: Forced = { runs: 0, stalls: 0, held: 0, lostAnswers: 0, stale: 0 };
  const heldJobs = new Set<string>();
  const clients = Array.from({ length: WORKERS }, () => chaoticClient(forced, heldJobs));
  const onEvent = (e: WorkerEvent) => e.kind === 'stale' && forced.stale++;
  await Promise.all(clients.map((c) => work(new JobQueue({ tableName, client: c }), countingHandler(mode, c, forced), q, onEvent)));
  for (const c of clients) c.destroy();
  const stats = await producer.stats({ queue: q });
  return { count: await counter(clean, appTable, mode), forced, completed: stats.counts.completed };
}

describe(`exactly-once effects: ${JOBS} jobs add 1 to a counter while handlers are forced to run again`, () => {
  it('through ctx.completeWith the counter ends at exactly the number of jobs', async () => {
    const { count, forced, completed } = await run('completeWith');
    console.log(`completeWith: counter ${count}, ${JSON.stringify(forced)}`);
    expect(forced.stalls).toBeGreaterThan(0);
    expect(forced.held).toBeGreaterThan(0);
    expect(forced.lostAnswers).toBeGreaterThan(0);
    expect(forced.runs).toBeGreaterThan(JOBS);
    expect(completed).toBe(JOBS);
    expect(count).toBe(JOBS);
  });

  it('with a plain UpdateItem in the handler the same run over-counts', async () => {
    const { count, forced, completed } = await run('plain');
    console.log(`plain: counter ${count}, ${JSON.stringify(forced)}`);
    expect(forced.runs).toBeGreaterThan(JOBS);
    expect(completed).toBe(JOBS);
    expect(count).toBeGreaterThan(JOBS);
  });
});
