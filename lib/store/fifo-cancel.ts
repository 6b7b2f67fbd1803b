/** Cancels a pending FIFO job without ever leaving its group blocked. See docs/design.md, "FIFO per group". */
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue, TransactWriteItem, UpdateItemCommandInput } from '@aws-sdk/client-dynamodb';
import { ATTR, LANE } from '../schema.ts';
import { isConditionFailed } from './context.ts';
import type { StoreContext } from './context.ts';
import { isOwnWrite } from './fenced-update.ts';
import { finishHead } from './fifo-advance.ts';

/**
 * Cancels the pending FIFO job `item` (as just read) with `build(item)`, the plain cancel's update
 * (`cancelInput`), made conditional on the job's index partition too (`status_shard = :seen`):
 *
 * - a job parked in the `fifo` lane (behind its group's head) is cancelled alone; the completion of
 *   the job before it will skip its position. The extra condition closes the race with that
 *   completion promoting it at the same moment (the promotion changes the lane, not `run_order`):
 *   without it the cancel would land on what had just become the head, and nobody would hand the
 *   group on. When that race is lost, the job is read from the failed condition and cancelled as a head;
 * - the head itself (pending in the `due` lane: not started yet, delayed or backing off between
 *   attempts) is cancelled in one transaction with the hand-over to the next job (`finishHead`).
 *
 * True only if this call cancelled the job (or an earlier send of it with `writeId` did).
 */
export async function cancelFifoJob(ctx: StoreContext, item: Record<string, AttributeValue>, build: (item: Record<string, AttributeValue>) => UpdateItemCommandInput, writeId: string): Promise<boolean> {
  const input = guarded(build(item), item);
  const queue = item[ATTR.queue]!.S!;
  if (item[ATTR.statusShard]?.S?.startsWith(`${queue}#${LANE.fifo}#`)) {
    try {
      await ctx.client.send(new UpdateItemCommand(input));
      return true;
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
      if (isOwnWrite(err.Item, writeId)) return true;
      const now = err.Item;
      const promoted = now?.[ATTR.status]?.S === 'pending' && now[ATTR.runOrder]?.S === item[ATTR.runOrder]?.S && now[ATTR.statusShard]?.S?.startsWith(`${queue}#${LANE.due}#`);
      return promoted ? cancelHead(ctx, now, guarded(build(now), now), writeId) : false;
    }
  }
  return cancelHead(ctx, item, input, writeId);
}

/** The cancel of a group's head, with the hand-over in the same transaction. */
async function cancelHead(ctx: StoreContext, item: Record<string, AttributeValue>, input: UpdateItemCommandInput, writeId: string): Promise<boolean> {
  const pos = { queue: item[ATTR.queue]!.S!, group: item[ATTR.group]!.S!, seq: Number(item[ATTR.fifoSeq]!.N) };
  const out = await finishHead(ctx, pos, { Update: input as NonNullable<TransactWriteItem['Update']> });
  return out.applied || isOwnWrite(out.item, writeId);
}

/** `input` with `status_shard = :seen` added to its condition. */
function guarded(input: UpdateItemCommandInput, item: Record<string, AttributeValue>): UpdateItemCommandInput {
  return {
    ...input,
    ConditionExpression: `${input.ConditionExpression} AND #shard = :seen_shard`,
    ExpressionAttributeValues: { ...input.ExpressionAttributeValues, ':seen_shard': item[ATTR.statusShard]! },
  };
}
