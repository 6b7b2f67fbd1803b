/**
 * A debounced enqueue: merges into the key's pending job, or creates a new one and points the
 * key's pointer item at it. See docs/design.md, "Debounce".
 */
import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { JobTableError } from '../errors.ts';
import { iso } from '../model/codec.ts';
import { debouncePointerId } from '../model/debounce.ts';
import { ATTR } from '../schema.ts';
import { isConditionFailed } from './context.ts';
import type { StoreContext } from './context.ts';
import { isOutcomeUnknown, resendUntil, watchAttempts } from './resend.ts';
import { transactWrite } from './transact.ts';

/** A debounced enqueue, as built by the queue. */
export interface DebounceInput {
  readonly queue: string;
  readonly key: string;
  readonly windowMs: number;
  /** The job item this enqueue would create, carrying its `debounce_key` and `debounce_order` stamp. */
  readonly item: Record<string, AttributeValue>;
}

/**
 * Where the enqueue's payload went: a new job (`created`), the key's pending job (`merged`: it
 * now carries this payload and is due one window from now), or nowhere because a newer enqueue
 * of the key already holds (or ran) the job (`superseded`). `id` is the job that runs the key's
 * latest payload.
 */
export interface DebounceOutcome {
  readonly id: string;
  readonly outcome: 'created' | 'merged' | 'superseded';
}

/** Rounds of read-then-write before giving up under contention on one key. */
const MAX_ROUNDS = 10;
/** How long a pointer outlives its window: a job pending longer than this may get a twin. */
export const POINTER_RETENTION_MS = 30 * 86_400_000;
/** How long an update whose outcome is unknown is resent. */
const MERGE_RESEND_WINDOW_MS = 5_000;

/** The attributes a merge copies from the newer enqueue: everything the last enqueue decides. */
const MERGED = [ATTR.type, ATTR.payload, ATTR.priority, ATTR.maxAttempts, ATTR.timeoutMs, ATTR.backoffBaseMs, ATTR.backoffMaxMs, ATTR.runAt, ATTR.runOrder, ATTR.updatedAt, ATTR.debounceOrder];
/** Attributes the newer enqueue may lack: removed from the job when it does. */
const MERGED_OPTIONAL = [ATTR.traceParent, ATTR.traceState];

/**
 * Enqueues `input.item` debounced on `(queue, key)`:
 *
 * 1. Reads the key's pointer item `debounce#<queue>#<key>` (consistent): the id of the key's latest job.
 * 2. If there is one, merges into it (see {@link mergeInto}): one conditional UpdateItem.
 * 3. Otherwise, or if that job has started or is gone, creates the new job and points the pointer
 *    at it in one transaction, conditional on the pointer still being what step 1 read
 *    (`attribute_not_exists(id)` or `points_to = :seen`): two enqueues racing to create a job
 *    for one key create one; the loser reads again and merges into the winner's job.
 *
 * @throws JobTableError `DEBOUNCE_CONTENTION` after {@link MAX_ROUNDS} rounds lost to other enqueues of the key
 */
export async function debounceEnqueue(ctx: StoreContext, input: DebounceInput): Promise<DebounceOutcome> {
  const pointerId = debouncePointerId(input.queue, input.key);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const current = await readPointer(ctx, pointerId);
    if (current !== null) {
      const merged = await mergeInto(ctx, current, input.item);
      if (merged !== 'start-new') return { id: current, outcome: merged };
    }
    if (await createWithPointer(ctx, pointerId, current, input)) return { id: input.item[ATTR.id]!.S!, outcome: 'created' };
  }
  throw new JobTableError(`Debounce key "${input.key}" of queue "${input.queue}" is too contended: ${MAX_ROUNDS} rounds lost to other enqueues`, 'DEBOUNCE_CONTENTION', { queue: input.queue, key: input.key });
}

/** The job id the key's pointer names, or null if there is no pointer. */
async function readPointer(ctx: StoreContext, pointerId: string): Promise<string | null> {
  const got = await ctx.client.send(
    new GetItemCommand({ TableName: ctx.tableName, Key: { [ATTR.id]: { S: pointerId } }, ConsistentRead: true, ProjectionExpression: '#job', ExpressionAttributeNames: { '#job': ATTR.pointsTo } }),
  );
  return got.Item?.[ATTR.pointsTo]?.S ?? null;
}

/**
 * Puts the newer enqueue's type, payload, options and due time (now + window, in the scheduled
 * range of the index) on job `id`.
 *
 * Condition: `status = pending AND attribute_not_exists(started_at) AND debounce_order < :stamp`.
 * It closes three races: a worker claiming the job at the same moment (the claim sets `started_at`
 * and status `processing`; after it, the merge fails and a new job follows, so a payload is never
 * merged into a run that already began, and a claim that read the old sort key from the index fails
 * on `run_order`, which the merge changed); an older enqueue arriving after a newer one (its stamp
 * is smaller: it changes nothing and reports `superseded`); and an SDK resend of a merge that had
 * landed (the job then carries this very stamp: `merged`). A job cancelled, finished, retried or
 * deleted since the pointer was read also fails the condition: a new job follows.
 */
async function mergeInto(ctx: StoreContext, id: string, item: Record<string, AttributeValue>): Promise<'merged' | 'superseded' | 'start-new'> {
  const stamp = item[ATTR.debounceOrder]!.S!;
  const names: Record<string, string> = { '#status': ATTR.status, '#started': ATTR.startedAt, '#dorder': ATTR.debounceOrder };
  const values: Record<string, AttributeValue> = { ':pending': { S: 'pending' } };
  const sets: string[] = [];
  const removes: string[] = [];
  [...MERGED, ...MERGED_OPTIONAL].forEach((attr, i) => {
    names[`#m${i}`] = attr;
    if (item[attr] === undefined) removes.push(`#m${i}`);
    else {
      sets.push(`#m${i} = :m${i}`);
      values[`:m${i}`] = item[attr]!;
    }
  });
  const command = () =>
    watchAttempts(
      new UpdateItemCommand({
        TableName: ctx.tableName,
        Key: { [ATTR.id]: { S: id } },
        ConditionExpression: '#status = :pending AND attribute_not_exists(#started) AND #dorder < :m' + MERGED.indexOf(ATTR.debounceOrder),
        UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
  try {
    await resendUntil(ctx, ctx.clock.now() + MERGE_RESEND_WINDOW_MS, () => ctx.client.send(command()), { resendIf: isOutcomeUnknown });
    return 'merged';
  } catch (err) {
    if (!isConditionFailed(err)) throw err;
    const seen = err.Item?.[ATTR.debounceOrder]?.S;
    if (seen === stamp) return 'merged'; // an earlier send of this very merge landed
    if (seen !== undefined && seen > stamp) return 'superseded';
    return 'start-new';
  }
}

/**
 * Creates the job and points the key at it, in one transaction, if the pointer is still what was
 * read (`seen`; null: no pointer). False if another enqueue moved the pointer first (nothing written).
 */
async function createWithPointer(ctx: StoreContext, pointerId: string, seen: string | null, input: DebounceInput): Promise<boolean> {
  const now = ctx.clock.now();
  const ttl = Math.floor((now + input.windowMs + POINTER_RETENTION_MS) / 1000);
  const pointer: Record<string, AttributeValue> = {
    [ATTR.id]: { S: pointerId },
    [ATTR.queue]: { S: input.queue },
    [ATTR.debounceKey]: { S: input.key },
    [ATTR.pointsTo]: input.item[ATTR.id]!,
    [ATTR.updatedAt]: { S: iso(now) },
    [ATTR.ttl]: { N: String(ttl) },
    [ATTR.expiresAt]: { S: iso(ttl * 1000) },
  };
  const outcome = await transactWrite(ctx, [
    { Put: { TableName: ctx.tableName, Item: input.item, ConditionExpression: 'attribute_not_exists(#id)', ExpressionAttributeNames: { '#id': ATTR.id } } },
    {
      Put: {
        TableName: ctx.tableName,
        Item: pointer,
        ...(seen === null
          ? { ConditionExpression: 'attribute_not_exists(#id)', ExpressionAttributeNames: { '#id': ATTR.id } }
          : { ConditionExpression: '#job = :seen', ExpressionAttributeNames: { '#job': ATTR.pointsTo }, ExpressionAttributeValues: { ':seen': { S: seen } } }),
      },
    },
  ]);
  return outcome.applied;
}
