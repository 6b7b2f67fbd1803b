/** Reads about FIFO groups: a group's counters and head, and the jobs parked behind heads. */
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { fifoJobId } from '../model/fifo.ts';
import { ATTR, LANE, TABLE, statusShardKey } from '../schema.ts';
import type { StoreContext } from './context.ts';
import { readGroup } from './fifo-enqueue.ts';

/** A FIFO group as its item shows it. */
export interface FifoGroupState {
  readonly queue: string;
  readonly group: string;
  /** Positions handed out so far (the last job's position). */
  readonly last: number;
  /** The position allowed to run, or null when every job of the group has finished (idle). */
  readonly head: number | null;
  /** The id of the head job (pending or running), or null when idle. */
  readonly headJobId: string | null;
  /** Jobs behind the head (some may have been cancelled: their turns are skipped). */
  readonly behind: number;
}

/** A group's state: one consistent read of its item (1 read unit). */
export async function fifoGroupState(ctx: StoreContext, queue: string, group: string): Promise<FifoGroupState> {
  const g = await readGroup(ctx, queue, group);
  const idle = g.head > g.enq;
  return { queue, group, last: g.enq, head: idle ? null : g.head, headJobId: idle ? null : fifoJobId(queue, group, g.head), behind: idle ? 0 : g.enq - g.head };
}

/**
 * Pending FIFO jobs parked behind their group's head in `queue` (the `fifo` lane of every shard,
 * index keys only: one query per shard, about 1 read unit per ~50 jobs).
 */
export async function countParked(ctx: StoreContext, queue: string): Promise<number> {
  const counts = await Promise.all(
    Array.from({ length: ctx.shardCount }, async (_, shard) => {
      let n = 0;
      let startKey: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
      do {
        const res = await ctx.client.send(
          new QueryCommand({
            TableName: ctx.tableName,
            IndexName: TABLE.indexName,
            KeyConditionExpression: '#pk = :pk',
            ProjectionExpression: '#ro',
            ExpressionAttributeNames: { '#pk': ATTR.statusShard, '#ro': ATTR.runOrder },
            ExpressionAttributeValues: { ':pk': { S: statusShardKey(queue, LANE.fifo, shard) } },
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
        );
        n += res.Items?.length ?? 0;
        startKey = res.LastEvaluatedKey;
      } while (startKey);
      return n;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}
