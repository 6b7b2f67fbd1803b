/**
 * Finds the queues that have jobs needing attention (pending, processing, failed or cancelled) by
 * scanning the sparse index, not the table: completed jobs are not in it, so on a busy table the
 * index is a small fraction of the items. Used by the dashboard when it starts and on request,
 * never on every refresh.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { ATTR, TABLE } from '../schema.ts';
import type { StoreContext } from './context.ts';

/** Pages of 1 MB read at most, unless told otherwise (about 128 read units each, eventually consistent). */
export const DEFAULT_DISCOVERY_PAGES = 4;

/** What a discovery found. */
export interface DiscoveredQueues {
  /** Queue names, sorted. */
  readonly queues: string[];
  /** False if it stopped at its page limit: more queues may exist. */
  readonly complete: boolean;
  /** Read units the scan consumed. */
  readonly readUnits: number;
}

/** The queue of an index partition key `<queue>#<lane>#<shard>` (queue names have no `#`). */
export const queueOfStatusShard = (statusShard: string): string => statusShard.slice(0, statusShard.indexOf('#'));

/**
 * Scans the index for the distinct queues in it, reading at most `maxPages` pages.
 * Cost: the size of the index entries read (~100-150 bytes each) at 0.5 read unit per 4 KB.
 */
export async function discoverQueues(ctx: StoreContext, maxPages = DEFAULT_DISCOVERY_PAGES): Promise<DiscoveredQueues> {
  const names = new Set<string>();
  let readUnits = 0;
  let startKey: Record<string, AttributeValue> | undefined;
  let pages = 0;
  do {
    const res = await ctx.client.send(
      new ScanCommand({
        TableName: ctx.tableName,
        IndexName: TABLE.indexName,
        ProjectionExpression: '#pk',
        ExpressionAttributeNames: { '#pk': ATTR.statusShard },
        ReturnConsumedCapacity: 'TOTAL',
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    for (const item of res.Items ?? []) {
      const key = item[ATTR.statusShard]?.S;
      if (key) names.add(queueOfStatusShard(key));
    }
    readUnits += res.ConsumedCapacity?.CapacityUnits ?? 0;
    startKey = res.LastEvaluatedKey;
    pages++;
  } while (startKey && pages < maxPages);
  return { queues: [...names].sort(), complete: !startKey, readUnits };
}
