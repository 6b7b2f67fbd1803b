/**
 * `GET /limits?queue=`: the dashboard's view of a queue's flow-control limits. For each group with
 * due or running jobs: how many run (a live lease) against the group's concurrency limit, how many
 * are due, and how many of those wait on a limit (their group, or the queue, is at its limit).
 * Read from the due lane of the index alone (status, lease and group are projected), capped like
 * the queue counts, so it costs the same on any table size; no limit item is read.
 */
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { QueueLimits } from '../model/limits.ts';
import { ATTR, LANE, TABLE, decodeRunOrder, statusShardKey } from '../schema.ts';
import type { StoreContext } from '../store/context.ts';

/** One due-lane entry as the overview needs it. */
export interface DueEntry {
  readonly group: string | null;
  readonly running: boolean;
  /** Pending and due now. */
  readonly due: boolean;
}

/** One group's line. */
export interface GroupLimitView {
  readonly group: string;
  readonly running: number;
  /** The group's concurrency limit, or null. */
  readonly limit: number | null;
  readonly due: number;
  /** Due jobs that wait because the group (or the queue) is at its concurrency limit. */
  readonly waitingOnLimit: number;
}

/** What `GET /limits` returns. */
export interface LimitOverview {
  readonly queue: string;
  /** The queue's limits as this stack enforces them, or null if it has none. */
  readonly limits: QueueLimits | null;
  readonly running: number;
  /** The queue-wide concurrency limit, or null. */
  readonly limit: number | null;
  readonly groups: readonly GroupLimitView[];
  /** Due jobs waiting on a concurrency limit, in all. */
  readonly waitingOnLimit: number;
  /** True if a shard had more entries than were read: the numbers are lower bounds. */
  readonly capped: boolean;
}

/** Sums due-lane entries into the overview (pure). */
export function summarizeLimits(queue: string, limits: QueueLimits | null, entries: readonly DueEntry[], capped: boolean): LimitOverview {
  const byGroup = new Map<string, { running: number; due: number }>();
  let running = 0;
  for (const e of entries) {
    if (e.running) running++;
    if (e.group === null) continue;
    const g = byGroup.get(e.group) ?? { running: 0, due: 0 };
    if (e.running) g.running++;
    if (e.due) g.due++;
    byGroup.set(e.group, g);
  }
  const queueFull = limits?.concurrency !== undefined && running >= limits.concurrency;
  const groupLimit = limits?.group?.concurrency ?? null;
  const groups = [...byGroup]
    .map(([group, g]) => ({ group, running: g.running, limit: groupLimit, due: g.due, waitingOnLimit: queueFull || (groupLimit !== null && g.running >= groupLimit) ? g.due : 0 }))
    .sort((a, b) => b.running - a.running || b.due - a.due || (a.group < b.group ? -1 : 1));
  const ungroupedDue = entries.filter((e) => e.group === null && e.due).length;
  const waitingOnLimit = groups.reduce((s, g) => s + g.waitingOnLimit, 0) + (queueFull ? ungroupedDue : 0);
  return { queue, limits, running, limit: limits?.concurrency ?? null, groups, waitingOnLimit, capped };
}

/** Reads the due lane of `queue` (at most `capPerShard` entries per shard) and summarizes it. */
export async function limitOverview(ctx: StoreContext, queue: string, limits: QueueLimits | null, capPerShard = 200): Promise<LimitOverview> {
  const now = ctx.clock.now();
  const shards = await Promise.all(Array.from({ length: ctx.shardCount }, (_, shard) => readShard(ctx, queue, shard, capPerShard)));
  const entries = shards.flatMap((s) => s.items.map((it) => toEntry(it, now)));
  return summarizeLimits(queue, limits, entries, shards.some((s) => s.capped));
}

async function readShard(ctx: StoreContext, queue: string, shard: number, cap: number): Promise<{ items: Record<string, AttributeValue>[]; capped: boolean }> {
  const res = await ctx.client.send(
    new QueryCommand({
      TableName: ctx.tableName,
      IndexName: TABLE.indexName,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': ATTR.statusShard },
      ExpressionAttributeValues: { ':pk': { S: statusShardKey(queue, LANE.due, shard) } },
      Limit: cap,
    }),
  );
  return { items: res.Items ?? [], capped: res.LastEvaluatedKey !== undefined };
}

function toEntry(item: Record<string, AttributeValue>, now: number): DueEntry {
  const lease = item[ATTR.leaseUntil]?.S;
  const running = item[ATTR.status]?.S === 'processing' && lease !== undefined && Date.parse(lease) > now;
  const runAt = decodeRunOrder(item[ATTR.runOrder]?.S ?? '')?.runAtMs ?? Infinity;
  return { group: item[ATTR.group]?.S ?? null, running, due: !running && runAt <= now };
}
