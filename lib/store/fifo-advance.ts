/**
 * The end of a FIFO group's head (completed, dead-lettered or cancelled) and the start of the next
 * job's turn, in one transaction. See docs/design.md, "FIFO per group".
 */
import type { AttributeValue, CancellationReason, TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { JobTableError } from '../errors.ts';
import { iso } from '../model/codec.ts';
import { fifoGroupId, fifoJobId, fifoShard } from '../model/fifo.ts';
import { ATTR, LANE, statusShardKey } from '../schema.ts';
import type { StoreContext } from './context.ts';
import { readGroup } from './fifo-enqueue.ts';
import type { GroupState } from './fifo-enqueue.ts';
import { transactWrite } from './transact.ts';

/** Where a FIFO job stands: its queue, group and position. */
export interface GroupPosition {
  readonly queue: string;
  readonly group: string;
  readonly seq: number;
}

/**
 * How {@link finishHead} ended: applied, or a condition of `own` failed: `item` is the job as it is
 * (its own write is the last of `own`), `reasons` the cancellation reasons of `own`'s items.
 */
export type FinishOutcome =
  | { readonly applied: true }
  | { readonly applied: false; readonly item: Record<string, AttributeValue> | undefined; readonly reasons: readonly CancellationReason[] };

/** Transactions tried before giving up (each failed one skips a finished job or re-reads the group). */
const MAX_ROUNDS = 50;

/**
 * Applies `own` (the job's finishing write: an `Update` of its item with its own condition, asking
 * for `ReturnValuesOnConditionCheckFailure: 'ALL_OLD'`; or several items, the job's write last, as
 * `ctx.completeWith` sends) and hands the group to its next job, in one transaction:
 *
 * 1. `own`: its condition (the claim token, or `status = pending` for a cancel) fences it as always;
 * 2. the group's item: `head_seq` from `seq` to the next position, conditional on `head_seq = seq`
 *    (and, when no job follows, on `enq_seq` unchanged: an enqueue landing meanwhile parked its job
 *    in the `fifo` lane because the group was busy, so the head must not move past it unseen);
 * 3. the next job, if any: moved from the `fifo` lane to the `due` lane of its shard, conditional on
 *    `status = pending` and it being in the `fifo` lane.
 *
 * All or nothing, so a crash can neither finish the head without freeing the group nor free it twice.
 * If item 3's condition fails (the next job was cancelled, or deleted by TTL after its
 * cancellation), that position is skipped and the next one tried; if item 2's fails, the group is
 * read again. If the group does not wait on this job (already moved on: an earlier send of this very
 * transaction landed), `own` is applied alone, and its condition recognises its own earlier write.
 */
export async function finishHead(ctx: StoreContext, pos: GroupPosition, own: TransactWriteItem | readonly TransactWriteItem[]): Promise<FinishOutcome> {
  const ownItems = Array.isArray(own) ? (own as readonly TransactWriteItem[]) : [own as TransactWriteItem];
  let g = await readGroup(ctx, pos.queue, pos.group);
  let next = pos.seq + 1;
  let nextShard = fifoShard(pos.group, ctx.shardCount);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    if (!g.exists || g.head !== pos.seq) return ownAlone(ctx, ownItems);
    const items = [...ownItems, moveHead(ctx, pos, g, next)];
    if (next <= g.enq) items.push(promote(ctx, pos, next, nextShard));
    const out = await transactWrite(ctx, items);
    if (out.applied) return out;
    const ownReasons = out.reasons.slice(0, ownItems.length);
    const [groupReason, nextReason] = out.reasons.slice(ownItems.length);
    if (ownReasons.some((r) => r.Code === 'ConditionalCheckFailed')) return { applied: false, item: ownReasons[ownItems.length - 1]?.Item, reasons: ownReasons };
    if (groupReason?.Code === 'ConditionalCheckFailed') g = await readGroup(ctx, pos.queue, pos.group);
    else if (nextReason?.Code === 'ConditionalCheckFailed') {
      const parkedElsewhere = waitingShard(nextReason.Item, pos.queue);
      if (parkedElsewhere !== null && parkedElsewhere !== nextShard) nextShard = parkedElsewhere; // a producer with another shard count
      else {
        next++; // cancelled or gone: its turn is skipped
        nextShard = fifoShard(pos.group, ctx.shardCount);
      }
    }
  }
  throw new JobTableError(`Could not hand FIFO group "${pos.group}" on after position ${pos.seq}: ${MAX_ROUNDS} transactions refused`, 'FIFO_CONTENTION', { ...pos });
}

/** `own` alone (the group does not wait on this job). */
async function ownAlone(ctx: StoreContext, own: readonly TransactWriteItem[]): Promise<FinishOutcome> {
  const out = await transactWrite(ctx, own);
  return out.applied ? out : { applied: false, item: out.reasons[own.length - 1]?.Item, reasons: out.reasons };
}

/** The group's head moves from `pos.seq` to `next` (see {@link finishHead}, item 2). */
function moveHead(ctx: StoreContext, pos: GroupPosition, g: GroupState, next: number): TransactWriteItem {
  const last = next > g.enq;
  return {
    Update: {
      TableName: ctx.tableName,
      Key: { [ATTR.id]: { S: fifoGroupId(pos.queue, pos.group) } },
      UpdateExpression: 'SET #head = :next, #updated = :now',
      ConditionExpression: last ? '#head = :seq AND #enq = :enq' : '#head = :seq',
      ExpressionAttributeNames: { '#head': ATTR.headSeq, '#updated': ATTR.updatedAt, ...(last ? { '#enq': ATTR.enqSeq } : {}) },
      ExpressionAttributeValues: {
        ':next': { N: String(last ? g.enq + 1 : next) },
        ':seq': { N: String(pos.seq) },
        ':now': { S: iso(ctx.clock.now()) },
        ...(last ? { ':enq': { N: String(g.enq) } } : {}),
      },
    },
  };
}

/** The job at `seq` moves from the `fifo` lane to the `due` lane of `shard` (see {@link finishHead}, item 3). */
function promote(ctx: StoreContext, pos: GroupPosition, seq: number, shard: number): TransactWriteItem {
  return {
    Update: {
      TableName: ctx.tableName,
      Key: { [ATTR.id]: { S: fifoJobId(pos.queue, pos.group, seq) } },
      UpdateExpression: 'SET #shard = :due, #updated = :now',
      ConditionExpression: '#status = :pending AND #shard = :parked',
      ExpressionAttributeNames: { '#shard': ATTR.statusShard, '#status': ATTR.status, '#updated': ATTR.updatedAt },
      ExpressionAttributeValues: {
        ':due': { S: statusShardKey(pos.queue, LANE.due, shard) },
        ':parked': { S: statusShardKey(pos.queue, LANE.fifo, shard) },
        ':pending': { S: 'pending' },
        ':now': { S: iso(ctx.clock.now()) },
      },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  };
}

/** The shard of a job still parked in the `fifo` lane (pending), or null if it is not waiting there. */
function waitingShard(item: Record<string, AttributeValue> | undefined, queue: string): number | null {
  const key = item?.[ATTR.statusShard]?.S;
  const prefix = `${queue}#${LANE.fifo}#`;
  if (item?.[ATTR.status]?.S !== 'pending' || !key?.startsWith(prefix)) return null;
  const n = Number(key.slice(prefix.length));
  return Number.isInteger(n) ? n : null;
}
