/** Lists jobs by status, a page at a time. */
import { QueryCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { InvalidCursorError } from '../errors.ts';
import { encodeCursor, parseCursor } from '../model/cursor.ts';
import { isExpired, jobFromItem, toItem } from '../model/codec.ts';
import { ATTR, LANE, TABLE, statusShardKey } from '../schema.ts';
import type { Lane } from '../schema.ts';
import type { Job, JobPage, JobStatus } from '../types.ts';
import type { StoreContext } from './context.ts';
import { getJobs } from './get-job.ts';

/** Per-shard position: the last (run_order, id) consumed, `null` for the start, or `1` when done. */
type ShardPos = [string, string] | null | 1;

interface Cursor {
  readonly v: 1;
  readonly st: JobStatus;
  readonly q: string;
  /** Index listings: one position per shard. */
  readonly p?: ShardPos[];
  /** Scan listing: the last key. */
  readonly k?: string;
}

function decodeCursor(raw: string, status: JobStatus, queue: string, partitions: number): Cursor {
  const c = parseCursor(raw) as unknown as Cursor;
  if (c.v !== 1 || c.st !== status || c.q !== queue) throw new InvalidCursorError();
  const validPos = (p: unknown) => p === null || p === 1 || (Array.isArray(p) && p.length === 2 && p.every((x) => typeof x === 'string' && x.length > 0 && x.length <= 1024));
  if (c.p !== undefined && (!Array.isArray(c.p) || c.p.length !== partitions || !c.p.every(validPos))) throw new InvalidCursorError();
  if (c.k !== undefined && (typeof c.k !== 'string' || c.k.length === 0 || c.k.length > 64)) throw new InvalidCursorError();
  if ((c.p === undefined) === (c.k === undefined)) throw new InvalidCursorError();
  return c;
}

/**
 * The index partitions a listing reads, one cursor position each: the lane's shards, and for
 * pending jobs also the `fifo` lane's (FIFO jobs parked behind their group's head), whose sort keys
 * are encoded as the due lane's, so both merge into one order.
 */
function partitionsOf(ctx: StoreContext, queue: string, status: JobStatus, lane: Lane): string[] {
  const shards = Array.from({ length: ctx.shardCount }, (_, s) => s);
  const keys = shards.map((s) => statusShardKey(queue, lane, s));
  return status === 'pending' ? [...keys, ...shards.map((s) => statusShardKey(queue, LANE.fifo, s))] : keys;
}

/** Which lane holds a status, and in which order it lists. */
function laneOf(status: JobStatus): { lane: Lane; newestFirst: boolean } | null {
  switch (status) {
    case 'pending':
    case 'processing':
      return { lane: LANE.due, newestFirst: false };
    case 'failed':
      return { lane: LANE.failed, newestFirst: true };
    case 'cancelled':
      return { lane: LANE.cancelled, newestFirst: true };
    case 'completed':
      return null;
    case 'waiting':
      return { lane: LANE.waiting, newestFirst: false };
  }
}

/**
 * Lists jobs with `status` in `queue`.
 *
 * Pending and processing jobs (in run order: priority, then due time) and failed and cancelled
 * jobs (newest first) come from the index: one query per shard (pending jobs: per shard of the
 * `due` and the `fifo` lanes), merged into one ordered page; the cursor keeps a position per shard. Only items up to the smallest "last key read" of shards
 * that have more are returned, so pages never skip or repeat a job.
 *
 * Completed jobs leave the index (that keeps the happy path at 6 write units), so listing them
 * scans the table, unordered, reading at most `maxScanPages` pages of 1 MB per call: fine for
 * local use and modest tables; at high volume look completed jobs up by id.
 */
export async function listJobs(
  ctx: StoreContext,
  opts: { status: JobStatus; queue: string; limit: number; cursor?: string; maxScanPages?: number; type?: string; group?: string },
): Promise<JobPage> {
  const lane = laneOf(opts.status);
  const parts = lane ? partitionsOf(ctx, opts.queue, opts.status, lane.lane) : [];
  const cursor = opts.cursor ? decodeCursor(opts.cursor, opts.status, opts.queue, lane ? parts.length : 0) : undefined;
  if (!lane) return scanCompleted(ctx, opts, cursor);

  const positions: ShardPos[] = cursor?.p ? [...cursor.p] : parts.map(() => null);
  type Row = { shard: number; ro: string; id: string };
  const perShard = await Promise.all(
    positions.map(async (pos, shard) => {
      if (pos === 1) return { shard, rows: [] as Row[], more: false };
      const pk = parts[shard]!;
      const filter = indexFilter(lane.lane === LANE.due ? opts.status : undefined, opts.group); // the fifo lane holds pending jobs only
      const res = await ctx.client.send(
        new QueryCommand({
          TableName: ctx.tableName,
          IndexName: TABLE.indexName,
          KeyConditionExpression: '#pk = :pk',
          ...(filter.expression ? { FilterExpression: filter.expression } : {}),
          ExpressionAttributeNames: { '#pk': ATTR.statusShard, ...filter.names },
          ExpressionAttributeValues: { ':pk': { S: pk }, ...filter.values },
          ScanIndexForward: !lane.newestFirst,
          Limit: opts.limit,
          ...(pos ? { ExclusiveStartKey: { [ATTR.statusShard]: { S: pk }, [ATTR.runOrder]: { S: pos[0] }, [ATTR.id]: { S: pos[1] } } } : {}),
        }),
      );
      const rows = (res.Items ?? []).map((it) => ({ shard, ro: it[ATTR.runOrder]!.S!, id: it[ATTR.id]!.S! }));
      const lek = res.LastEvaluatedKey;
      return { shard, rows, more: !!lek, lek: lek ? ([lek[ATTR.runOrder]!.S!, lek[ATTR.id]!.S!] as [string, string]) : undefined };
    }),
  );

  // Merge the shards' pages by run_order (ascending, or descending for newest first). Items with
  // equal run_order keep each shard's own order, so what is taken from a shard is always a
  // prefix of what DynamoDB returned, and its last item is a valid ExclusiveStartKey.
  const before = (a: string, b: string) => (lane.newestFirst ? a > b : a < b);
  // A shard with more to read bounds the page: its unread items come at or after its last key.
  let bound: string | null = null;
  for (const s of perShard) if (s.more && s.lek && (bound === null || before(s.lek[0], bound))) bound = s.lek[0];
  const heads = perShard.map(() => 0);
  const merged: Row[] = [];
  while (merged.length < opts.limit) {
    let pick = -1;
    for (let i = 0; i < perShard.length; i++) {
      const row = perShard[i]!.rows[heads[i]!];
      if (!row || (bound !== null && before(bound, row.ro))) continue;
      const best = pick >= 0 ? perShard[pick]!.rows[heads[pick]!]! : undefined;
      if (!best || before(row.ro, best.ro)) pick = i;
    }
    if (pick < 0) break;
    merged.push(perShard[pick]!.rows[heads[pick]!++]!);
  }
  const next: ShardPos[] = perShard.map((s, i) => {
    if (positions[s.shard] === 1) return 1;
    const taken = heads[i]!;
    if (taken === s.rows.length) return s.more ? (s.lek ?? positions[s.shard]!) : 1;
    const last = s.rows[taken - 1];
    return last ? [last.ro, last.id] : positions[s.shard]!;
  });

  const jobs = await getJobs(
    ctx,
    merged.map((r) => r.id),
  );
  // The index is eventually consistent: drop jobs whose status moved on since it was read. The
  // index does not hold the type, so a type filter applies here, to the items read (a page may
  // then hold fewer than `limit` jobs while the cursor still leads on).
  const fresh = jobs.filter((j) => j.status === opts.status && (opts.type === undefined || j.type === opts.type) && (opts.group === undefined || j.group === opts.group));
  const done = next.every((p) => p === 1);
  return done ? { jobs: fresh } : { jobs: fresh, cursor: encodeCursor({ v: 1, st: opts.status, q: opts.queue, p: next }) };
}

/**
 * The filter of an index query: the status (the due lane holds two) and the group (projected into
 * the index, so the filter costs no read of the items; a page may hold fewer jobs than `limit`).
 */
function indexFilter(status: JobStatus | undefined, group: string | undefined) {
  const parts: string[] = [];
  const names: Record<string, string> = {};
  const values: Record<string, AttributeValue> = {};
  if (status !== undefined) {
    parts.push('#status = :status');
    names['#status'] = ATTR.status;
    values[':status'] = { S: status };
  }
  if (group !== undefined) {
    parts.push('#group = :group');
    names['#group'] = ATTR.group;
    values[':group'] = { S: group };
  }
  return { expression: parts.join(' AND '), names, values };
}

async function scanCompleted(
  ctx: StoreContext,
  opts: { status: JobStatus; queue: string; limit: number; maxScanPages?: number; type?: string; group?: string },
  cursor: Cursor | undefined,
): Promise<JobPage> {
  const now = ctx.clock.now();
  const jobs: Job[] = [];
  let startKey: Record<string, AttributeValue> | undefined = cursor?.k ? { [ATTR.id]: { S: cursor.k } } : undefined;
  const maxPages = opts.maxScanPages ?? 10;
  for (let page = 0; page < maxPages; page++) {
    const res = await ctx.client.send(
      new ScanCommand({
        TableName: ctx.tableName,
        FilterExpression: `#status = :status AND #queue = :queue AND (attribute_not_exists(#ttl) OR #ttl > :now)${opts.type !== undefined ? ' AND #type = :type' : ''}${opts.group !== undefined ? ' AND #group = :group' : ''}`,
        ExpressionAttributeNames: { '#status': ATTR.status, '#queue': ATTR.queue, '#ttl': ATTR.ttl, ...(opts.type !== undefined ? { '#type': ATTR.type } : {}), ...(opts.group !== undefined ? { '#group': ATTR.group } : {}) },
        ExpressionAttributeValues: toItem({ ':status': opts.status, ':queue': opts.queue, ':now': Math.floor(now / 1000), ...(opts.type !== undefined ? { ':type': opts.type } : {}), ...(opts.group !== undefined ? { ':group': opts.group } : {}) }),
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    const items = res.Items ?? [];
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (isExpired(item, now)) continue;
      jobs.push(jobFromItem(item));
      if (jobs.length === opts.limit) {
        const more = i < items.length - 1 || !!res.LastEvaluatedKey;
        return more ? { jobs, cursor: encodeCursor({ v: 1, st: opts.status, q: opts.queue, k: item[ATTR.id]!.S! }) } : { jobs };
      }
    }
    startKey = res.LastEvaluatedKey;
    if (!startKey) return { jobs };
  }
  return { jobs, cursor: encodeCursor({ v: 1, st: opts.status, q: opts.queue, k: startKey![ATTR.id]!.S! }) };
}
