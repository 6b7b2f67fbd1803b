/**
 * The dashboard's activity from a table's DynamoDB stream (`NEW_IMAGE`, which the CDK construct
 * turns on): every write that completes a job, fails it for good or schedules its retry shows up
 * as a stream record with the job's new image, type and times. Reading a stream costs no read
 * units of the table; `GetRecords` calls are billed as stream read requests ($0.02 per 100,000,
 * the first 2.5 million a month free). A tail polls each open shard every `pollMs`.
 */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-dynamodb-streams';
import type { _Record, AttributeValue as StreamValue } from '@aws-sdk/client-dynamodb-streams';
import { ATTR, SCHEDULED_PREFIX } from '../schema.ts';
import { ActivityLog } from './activity.ts';
import type { ActivityEntry, ActivitySnapshot, ActivitySource } from './activity.ts';

/** A shard being read: its iterator and the last sequence number seen (to resume after expiry). */
interface ShardTail {
  iterator: string | undefined;
  lastSequence: string | undefined;
  done: boolean;
}

/** Options of {@link StreamActivity}. */
export interface StreamActivityOptions {
  readonly streams: DynamoDBStreamsClient;
  readonly streamArn: string;
  /** @default 2000 */
  readonly pollMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** GetRecords calls per shard and round while a shard has a backlog (DynamoDB allows 5 a second per shard). */
const READS_PER_ROUND = 8;

const str = (v: StreamValue | undefined) => v?.S;
const ms = (v: StreamValue | undefined) => (v?.S ? Date.parse(v.S) : NaN);

/**
 * What a stream record says happened, from the job's new image: completed or failed for good (at
 * `finished_at`, run time from `started_at`), or an attempt failed and a retry was scheduled
 * (pending, attempts ≥ 1, sort key in the scheduled range: only `retryLater` writes that). Any
 * other write (enqueue, claim, progress, release, cancel, redrive, TTL deletion) is not an outcome.
 */
export function outcomeOfRecord(record: _Record): ActivityEntry | null {
  const image = record.dynamodb?.NewImage;
  if (!image || record.eventName === 'REMOVE') return null;
  const status = str(image[ATTR.status]);
  const queue = str(image[ATTR.queue]) ?? 'default';
  const type = str(image[ATTR.type]) ?? 'unknown';
  const started = ms(image[ATTR.startedAt]);
  if (status === 'completed' || status === 'failed') {
    const at = ms(image[ATTR.finishedAt]);
    return { queue, type, kind: status, atMs: at, ...(Number.isFinite(started) ? { durationMs: Math.max(0, at - started) } : {}) };
  }
  const attempts = Number(image[ATTR.attempts]?.N ?? 0);
  if (status === 'pending' && attempts >= 1 && str(image[ATTR.runOrder])?.startsWith(SCHEDULED_PREFIX)) {
    const at = ms(image[ATTR.updatedAt]);
    return { queue, type, kind: 'retried', atMs: at, ...(Number.isFinite(started) ? { durationMs: Math.max(0, at - started) } : {}) };
  }
  return null;
}

/** The stream of a table, or null if it has none (a table made without `StreamSpecification`). */
export async function tableStreamArn(client: DynamoDBClient, tableName: string): Promise<string | null> {
  const res = await client.send(new DescribeTableCommand({ TableName: tableName }));
  const spec = res.Table?.StreamSpecification;
  return spec?.StreamEnabled && res.Table?.LatestStreamArn ? res.Table.LatestStreamArn : null;
}

/**
 * Tails a table's stream into an {@link ActivityLog}. Shards are listed every minute (they split
 * and close over time) and read from their oldest record (`TRIM_HORIZON`, 24 hours back), so the
 * last hour is complete once the tail has caught up; records older than the window are skipped.
 */
export class StreamActivity implements ActivitySource {
  private readonly log: ActivityLog;
  private readonly shards = new Map<string, ShardTail>();
  private readonly pollMs: number;
  private readonly now: () => number;
  private listedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private caughtUp = false;
  private lastError: string | undefined;
  private readonly startedAt: number;
  private streamCreatedAt: number | undefined;

  constructor(private readonly options: StreamActivityOptions) {
    this.pollMs = options.pollMs ?? 2_000;
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    this.log = new ActivityLog({ source: 'the table stream', now: this.now });
  }

  /** Starts polling; the first read happens at once. Resolves after the first round. */
  start(): Promise<void> {
    this.running = this.tick();
    return this.running;
  }

  /** Stops polling and waits for a round in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** The last hour as far as read, with a note while catching up or after an error. */
  snapshot(queue: string | undefined): ActivitySnapshot {
    const retained = this.startedAt - 24 * 3_600_000;
    const snap = this.log.snapshot(queue, { observedSince: Math.max(retained, this.streamCreatedAt ?? retained) });
    const note = this.lastError ? `Reading the stream failed: ${this.lastError}` : this.caughtUp ? undefined : 'Still reading the stream from its oldest record: the last hour may be incomplete.';
    return note ? { ...snap, note } : snap;
  }

  /** Queues that had outcomes in the window. */
  queues(): string[] {
    return this.log.queues();
  }

  /** One round: refresh the shard list if due, read every open shard, schedule the next round. */
  private async tick(): Promise<void> {
    try {
      if (this.now() - this.listedAt > 60_000) await this.listShards();
      let behind = false;
      for (const [id, tail] of this.shards) behind = (await this.catchUp(id, tail)) || behind;
      this.caughtUp ||= !behind;
      this.lastError = undefined;
    } catch (err) {
      this.lastError = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    }
    if (!this.stopped) this.timer = setTimeout(() => (this.running = this.tick()), this.pollMs);
  }

  /** Adds shards not seen yet (paged DescribeStream). */
  private async listShards(): Promise<void> {
    let start: string | undefined;
    do {
      const res = await this.options.streams.send(new DescribeStreamCommand({ StreamArn: this.options.streamArn, ...(start ? { ExclusiveStartShardId: start } : {}) }));
      const created = res.StreamDescription?.CreationRequestDateTime;
      if (created) this.streamCreatedAt = new Date(created).getTime();
      for (const shard of res.StreamDescription?.Shards ?? []) {
        if (shard.ShardId && !this.shards.has(shard.ShardId)) this.shards.set(shard.ShardId, { iterator: undefined, lastSequence: undefined, done: false });
      }
      start = res.StreamDescription?.LastEvaluatedShardId;
    } while (start);
    this.listedAt = this.now();
  }

  /** Reads a shard until it has nothing more now, at most {@link READS_PER_ROUND} times; true if more is waiting. */
  private async catchUp(shardId: string, tail: ShardTail): Promise<boolean> {
    for (let i = 0; i < READS_PER_ROUND && !tail.done && !this.stopped; i++) if (!(await this.readShard(shardId, tail))) return false;
    return !tail.done;
  }

  /** Reads what one shard has now; true if a read came back full (more is waiting). */
  private async readShard(shardId: string, tail: ShardTail): Promise<boolean> {
    tail.iterator ??= await this.iterator(shardId, tail.lastSequence);
    let res;
    try {
      res = await this.options.streams.send(new GetRecordsCommand({ ShardIterator: tail.iterator, Limit: 1_000 }));
    } catch (err) {
      if (err instanceof Error && (err.name === 'ExpiredIteratorException' || err.name === 'TrimmedDataAccessException')) {
        tail.iterator = undefined;
        if (err.name === 'TrimmedDataAccessException') tail.lastSequence = undefined;
        return true;
      }
      throw err;
    }
    for (const record of res.Records ?? []) {
      tail.lastSequence = record.dynamodb?.SequenceNumber ?? tail.lastSequence;
      const outcome = outcomeOfRecord(record);
      if (outcome && Number.isFinite(outcome.atMs)) this.log.record(outcome);
    }
    tail.iterator = res.NextShardIterator;
    if (!tail.iterator) tail.done = true;
    return (res.Records?.length ?? 0) >= 1_000;
  }

  private async iterator(shardId: string, after: string | undefined): Promise<string | undefined> {
    const res = await this.options.streams.send(
      new GetShardIteratorCommand({
        StreamArn: this.options.streamArn,
        ShardId: shardId,
        ...(after ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after } : { ShardIteratorType: 'TRIM_HORIZON' }),
      }),
    );
    return res.ShardIterator;
  }
}
