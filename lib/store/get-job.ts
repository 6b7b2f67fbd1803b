/** Reads one job. */
import { BatchGetItemCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { BatchGetItemCommandOutput } from '@aws-sdk/client-dynamodb';
import type { AttributeValue, KeysAndAttributes } from '@aws-sdk/client-dynamodb';
import { isExpired, jobFromItem } from '../model/codec.ts';
import { ATTR, BATCH_GET_LIMIT } from '../schema.ts';
import type { Job } from '../types.ts';
import type { StoreContext } from './context.ts';

/**
 * Gets a job by id (strongly consistent). Returns null if there is none, or if its TTL has
 * passed: DynamoDB deletes expired items days late, and until then they must read as gone.
 */
export async function getJob(ctx: StoreContext, id: string): Promise<Job | null> {
  const res = await ctx.client.send(new GetItemCommand({ TableName: ctx.tableName, Key: { [ATTR.id]: { S: id } }, ConsistentRead: true }));
  if (!res.Item || isExpired(res.Item, ctx.clock.now())) return null;
  return jobFromItem(res.Item);
}

/** Rounds of retrying UnprocessedKeys before giving up. */
const MAX_BATCH_GET_ROUNDS = 8;

/**
 * Reads many items by id with BatchGetItem (100 keys a request), retrying unprocessed keys.
 * Returns the items found, by id; expired items are included (callers decide). Eventually
 * consistent unless `consistent` (which costs twice the read units).
 */
export async function getItems(ctx: StoreContext, ids: readonly string[], consistent = false): Promise<Map<string, Record<string, AttributeValue>>> {
  const found = new Map<string, Record<string, AttributeValue>>();
  for (let i = 0; i < ids.length; i += BATCH_GET_LIMIT) {
    let request: KeysAndAttributes | undefined = { Keys: ids.slice(i, i + BATCH_GET_LIMIT).map((id) => ({ [ATTR.id]: { S: id } })), ...(consistent ? { ConsistentRead: true } : {}) };
    for (let round = 0; request?.Keys?.length; round++) {
      if (round > MAX_BATCH_GET_ROUNDS) throw new Error(`BatchGetItem left ${request.Keys.length} keys unprocessed after ${MAX_BATCH_GET_ROUNDS} retries`);
      if (round > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** round)));
      const res: BatchGetItemCommandOutput = await ctx.client.send(new BatchGetItemCommand({ RequestItems: { [ctx.tableName]: request } }));
      for (const item of res.Responses?.[ctx.tableName] ?? []) found.set(item[ATTR.id]!.S!, item);
      request = res.UnprocessedKeys?.[ctx.tableName];
    }
  }
  return found;
}

/**
 * Gets many jobs by id with BatchGetItem (eventually consistent, half the read cost), in the
 * order of `ids`, leaving out missing and expired ones. Retries unprocessed keys.
 */
export async function getJobs(ctx: StoreContext, ids: readonly string[]): Promise<Job[]> {
  const found = await getItems(ctx, ids);
  const now = ctx.clock.now();
  return ids.flatMap((id) => {
    const item = found.get(id);
    return item && !isExpired(item, now) ? [jobFromItem(item)] : [];
  });
}
