/**
 * Cancelling a job others may wait for (it counts as failed in them), and a parent with its
 * pending children.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { isExpired } from '../model/codec.ts';
import { childJobId } from '../model/dependencies.ts';
import { ATTR } from '../schema.ts';
import { cancelInput, cancelSeen, isCancellable } from '../store/cancel-job.ts';
import type { StoreContext } from '../store/context.ts';
import { isOwnWrite, newWriteId } from '../store/fenced-update.ts';
import { finishNotifying } from '../store/finish-notifying.ts';
import type { SelfAction } from '../store/finish-notifying.ts';
import { dependentsOf } from '../store/outcome-with-dependents.ts';
import { mapLimit } from '../util/map-limit.ts';

/** Children cancelled at once. */
const CHILD_CANCEL_CONCURRENCY = 16;

async function readItem(ctx: StoreContext, id: string): Promise<Record<string, AttributeValue> | undefined> {
  const item = (await ctx.client.send(new GetItemCommand({ TableName: ctx.tableName, Key: { [ATTR.id]: { S: id } }, ConsistentRead: true }))).Item;
  return item && !isExpired(item, ctx.clock.now()) ? item : undefined;
}

/**
 * Cancels job `id` if it is pending or waiting (true only then), counting it as failed in every job
 * waiting for it. If it is a parent, then cancels its children that are still pending or waiting.
 *
 * Resumable: the parent is cancelled first, its children after, one page of 16 at a time; if that
 * is interrupted, calling it again on the (now cancelled) parent cancels the children left (and
 * returns false, as the parent itself was cancelled before; the same for a parent that failed). A child that a worker claimed
 * meanwhile runs to its end; its outcome counts in the cancelled parent and changes nothing.
 */
export async function cancelWithDependents(ctx: StoreContext, id: string): Promise<boolean> {
  const item = await readItem(ctx, id);
  if (!item) return false;
  const cancelled = isCancellable(item) ? await cancelItem(ctx, item) : false;
  const childCount = Number(item[ATTR.childCount]?.N ?? 0);
  const finished = item[ATTR.status]?.S === 'cancelled' || item[ATTR.status]?.S === 'failed';
  if (childCount > 0 && (cancelled || finished)) await cancelChildren(ctx, id, childCount);
  return cancelled;
}

/**
 * Cancels the pending and waiting children of parent `parentId` (ids `childJobId(parentId, 0..n-1)`),
 * 16 at a time. The parent is not counted (it is cancelled or failed already); other jobs waiting
 * for a child are. Cost per child: 1 read unit, and 1 write unit (+2 index) if it was pending.
 */
export async function cancelChildren(ctx: StoreContext, parentId: string, childCount: number): Promise<number> {
  const ids = Array.from({ length: childCount }, (_, i) => childJobId(parentId, i));
  const done = await mapLimit(ids, CHILD_CANCEL_CONCURRENCY, async (childId) => {
    const item = await readItem(ctx, childId);
    return item && isCancellable(item) ? cancelItem(ctx, item, parentId) : false;
  });
  return done.filter(Boolean).length;
}

/**
 * Cancels a job read as `item`. Without jobs waiting for it (or once they were counted, or when the
 * only one is `skip`), the plain conditional cancel, also conditional on no job having registered
 * since the read; with some, one transaction: the cancel and a failure counted in each
 * (`finishNotifying`), except in `skip`.
 */
async function cancelItem(ctx: StoreContext, item: Record<string, AttributeValue>, skip?: string): Promise<boolean> {
  // A FIFO job never has dependents (refused at enqueue); its cancel hands its group on (fifo-cancel.ts).
  if (item[ATTR.fifoSeq]) return cancelSeen(ctx, item);
  const notified = item[ATTR.dependentsNotified]?.BOOL === true;
  const dependents = notified ? [] : dependentsOf(item);
  const targets = dependents.filter((d) => d !== skip);
  if (targets.length === 0) {
    // No job to count it in (or only the skipped parent): the plain cancel, conditional on the
    // dependents seen, so that a job registering meanwhile is not missed.
    const guard = notified ? undefined : dependents.length === 0
      ? { expression: 'attribute_not_exists(#dependents)', names: { '#dependents': ATTR.dependents } }
      : { expression: 'size(#dependents) = :dependent_count', names: { '#dependents': ATTR.dependents }, values: { ':dependent_count': { N: String(dependents.length) } } };
    if (await cancelSeen(ctx, item, guard)) return true;
    const now = await readItem(ctx, item[ATTR.id]!.S!);
    // Refused: if only because a job registered meanwhile, cancel again with it.
    if (!now || notified || now[ATTR.status]?.S !== item[ATTR.status]?.S || now[ATTR.runOrder]?.S !== item[ATTR.runOrder]?.S) return false;
    return cancelItem(ctx, now, skip);
  }
  return finishNotifying(ctx, cancelSelf(ctx, item, targets.length !== dependents.length ? skip : undefined), item[ATTR.id]!.S!, targets, 'failed');
}

/** The cancel as the transaction's own action: conditional on the seen status, sort key and dependents. */
function cancelSelf(ctx: StoreContext, item: Record<string, AttributeValue>, skipped: string | undefined): SelfAction {
  const writeId = newWriteId();
  return {
    build: (count) => {
      const input = cancelInput(ctx, item, writeId);
      return {
        ...input,
        UpdateExpression: input.UpdateExpression.replace(/^SET /, 'SET #dn = :dn_true, '),
        ConditionExpression: `${input.ConditionExpression} AND size(#dependents) = :dependent_count`,
        ExpressionAttributeNames: { ...input.ExpressionAttributeNames, '#dn': ATTR.dependentsNotified, '#dependents': ATTR.dependents },
        ExpressionAttributeValues: { ...input.ExpressionAttributeValues, ':dn_true': { BOOL: true }, ':dependent_count': { N: String(count + (skipped ? 1 : 0)) } },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      };
    },
    verdict: (now) => {
      if (isOwnWrite(now, writeId)) return 'landed';
      const same = now?.[ATTR.status]?.S === item[ATTR.status]?.S && now?.[ATTR.runOrder]?.S === item[ATTR.runOrder]?.S;
      return same ? { dependents: dependentsOf(now).filter((d) => d !== skipped) } : 'lost';
    },
  };
}
