/** The age of the oldest due, unclaimed job of a queue: the backlog signal the worker publishes. */
import type { StoreContext } from '../store/context.ts';
import { queryDue } from '../store/query-due.ts';

/**
 * How long the oldest job that is due and claimable now has been waiting, in ms (0 if none).
 *
 * Reads each shard's due lane through the index (two queries of at most `perShard` entries per
 * shard; index reads only, so a worker's Query permission suffices). The ready range is ordered
 * by priority first, so a low-priority job behind more than `perShard` higher-priority ones is not
 * seen: the result is then a lower bound, which still grows while a backlog grows.
 * @param perShard entries read per range and shard. @default 25
 */
export async function oldestDueJobAgeMs(ctx: StoreContext, queue: string, perShard = 25): Promise<number> {
  const now = ctx.clock.now();
  const reads = await Promise.all(Array.from({ length: ctx.shardCount }, (_, shard) => queryDue(ctx, queue, shard, perShard)));
  let oldest = now;
  for (const read of reads) for (const c of read.candidates) oldest = Math.min(oldest, c.runAtMs);
  return Math.max(0, now - oldest);
}
