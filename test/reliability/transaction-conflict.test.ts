/**
 * TransactionConflictException: on AWS, a plain write (UpdateItem) to an item that a transaction
 * is changing at that moment is refused with this 400 error; nothing was applied and the same
 * write may succeed a moment later. With `ctx.completeWith`, the job's own item is such an item:
 * a new owner's claim, heartbeat or outcome write can meet an old owner's transaction still in
 * flight. DynamoDB Local serialises requests and never answers with it, so it is injected here
 * (a client middleware inside the SDK's retry loop; the SDK itself does not retry this error).
 *
 * Each write must treat the refusal as "not applied, try again" (a claim as a race it did not win
 * yet): no drain fails, no job runs twice, no handler sees the error.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue } from '../../lib/index.ts';
import type { JobContext, WorkerEvent } from '../../lib/index.ts';
import { localClient } from '../../lib/local/dynamodb-local.ts';
import { ATTR } from '../../lib/schema.ts';
import { ddbEndpoint, dropTable, freshTable, testClient } from '../helpers/ddb.ts';

type Kind = 'claim' | 'heartbeat' | 'outcome';

let clean: DynamoDBClient;
let tableName: string;

beforeAll(async () => {
  clean = testClient();
  tableName = await freshTable(clean, 'tx-conflict');
});
afterAll(async () => {
  await dropTable(clean, tableName);
  clean.destroy();
});

/** What kind of job write an UpdateItem input is, judged by its expression values. */
function kindOf(input: { ExpressionAttributeValues?: Record<string, unknown> }): Kind | null {
  const v = input.ExpressionAttributeValues ?? {};
  if (v[':token'] && v[':processing']) return 'claim';
  if (v[':fence_write'] && v[':lease']) return 'heartbeat';
  if (v[':fence_write'] && (v[':completed'] || v[':error'])) return 'outcome';
  return null;
}

/** A client whose first `times` writes of `kind` per job are refused with TransactionConflictException (nothing applied). */
function conflictingClient(kind: Kind, times: number, log: { refused: number }): DynamoDBClient {
  const c = localClient(ddbEndpoint());
  const seen = new Map<string, number>();
  c.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Key?: Record<string, { S?: string }>; ExpressionAttributeValues?: Record<string, unknown> };
      const id = input.Key?.[ATTR.id]?.S;
      if (context.commandName !== 'UpdateItemCommand' || !id || kindOf(input) !== kind) return next(args);
      const n = seen.get(id) ?? 0;
      seen.set(id, n + 1);
      if (n >= times) return next(args);
      log.refused++;
      throw Object.assign(new Error('Transaction is ongoing for the item'), {
        name: 'TransactionConflictException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400, attempts: 1, totalRetryDelay: 0 },
      });
    },
    { step: 'deserialize', name: 'injectTransactionConflict', priority: 'high' },
  );
  return c;
}

/** Enqueues one job in `q` and drains it with a worker whose `kind` writes meet conflicts. */
async function drainWithConflicts(q: string, kind: Kind, handler: (p: unknown, ctx: JobContext) => Promise<unknown>) {
  const id = await new JobQueue({ tableName, client: clean }).enqueue('work', {}, { queue: q, timeoutMs: 1_000 });
  const log = { refused: 0 };
  const client = conflictingClient(kind, 2, log);
  const events: WorkerEvent[] = [];
  let runs = 0;
  const outcome = await new JobQueue({ tableName, client })
    .processJobs({ work: (p: unknown, ctx: JobContext) => (runs++, handler(p, ctx)) }, { queue: q, leaseGraceMs: 200, waitForDueWithinMs: 3_000, onEvent: (e) => events.push(e) })
    .then((report) => ({ report }), (error: unknown) => ({ error }));
  client.destroy();
  const job = await new JobQueue({ tableName, client: clean }).getJob(id);
  return { outcome, job, runs, refused: log.refused, errors: events.filter((e) => e.kind === 'error') };
}

describe('a write refused with TransactionConflictException is tried again', () => {
  it('a claim: the drain goes on and the job runs once', async () => {
    const r = await drainWithConflicts('tx-claim', 'claim', async () => 'ok');
    expect(r.refused).toBe(2);
    expect(r.outcome).not.toHaveProperty('error');
    expect(r.job).toMatchObject({ status: 'completed', attempts: 1 });
    expect(r.runs).toBe(1);
  });

  it("an outcome write: the job completes once, its handler not run again", async () => {
    const r = await drainWithConflicts('tx-outcome', 'outcome', async () => 'ok');
    expect(r.refused).toBe(2);
    expect(r.outcome).toMatchObject({ report: { completed: 1, retried: 0 } });
    expect(r.errors).toEqual([]);
    expect(r.job).toMatchObject({ status: 'completed', attempts: 1, result: 'ok' });
    expect(r.runs).toBe(1);
  });

  it('a heartbeat: it resolves true, the handler never sees the error', async () => {
    const beats: unknown[] = [];
    const r = await drainWithConflicts('tx-heartbeat', 'heartbeat', async (_p, ctx) => {
      beats.push(await ctx.heartbeat().catch((e: unknown) => e));
      return 'ok';
    });
    expect(r.refused).toBe(2);
    expect(beats).toEqual([true]);
    expect(r.job).toMatchObject({ status: 'completed', attempts: 1 });
  });
});
