/**
 * Part 1, the raw bound: plain PutItem/s and conditional UpdateItem/s on the benchmark's DynamoDB
 * Local, at the same concurrency as the enqueue part, on a jobs table (same index) with items
 * shaped like jobs. Everything else is reported as a ratio to these.
 */
import { PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { newJobId, newJobItem, toItem } from '../../lib/model/codec.ts';
import { validateEnqueue } from '../../lib/model/validate.ts';
import { ATTR } from '../../lib/schema.ts';
import { benchClient, benchTable, BENCH_SHARDS, CALLER_CONCURRENCY } from '../lib/context.ts';
import type { BenchContext } from '../lib/context.ts';
import { latencySummary, round, runConcurrent } from '../lib/stats.ts';
import type { LatencySummary } from '../lib/stats.ts';

/** Result of part 1. */
export interface RawResult {
  readonly concurrency: number;
  readonly ops: number;
  readonly putPerSec: number;
  readonly putLatencyMs: LatencySummary;
  readonly conditionalUpdatePerSec: number;
  readonly updateLatencyMs: LatencySummary;
}

/**
 * The bound's write: a conditional update that changes a projected attribute (1 table + 1 index
 * write, like a claim) of the pending job `id`.
 */
export function boundUpdate(tableName: string, id: AttributeValue, leaseIso: string): UpdateItemCommand {
  return new UpdateItemCommand({
    TableName: tableName,
    Key: { [ATTR.id]: id },
    ConditionExpression: '#status = :pending AND attribute_not_exists(#lease)',
    UpdateExpression: 'SET #status = :processing, #lease = :lease',
    ExpressionAttributeNames: { '#status': ATTR.status, '#lease': ATTR.leaseUntil },
    ExpressionAttributeValues: { ':pending': { S: 'pending' }, ':processing': { S: 'processing' }, ':lease': { S: leaseIso } },
  });
}

/** Measures the raw PutItem and conditional UpdateItem rates. */
export async function benchRaw(ctx: BenchContext): Promise<RawResult> {
  const client = benchClient(ctx);
  const { tableName, drop } = await benchTable(client, 'raw');
  try {
    const n = ctx.sizes.rawOps;
    const now = Date.now();
    const spec = validateEnqueue('noop', { n: 0 }, undefined, now);
    const items = Array.from({ length: n }, (_, i) => toItem(newJobItem(spec, newJobId(), i % BENCH_SHARDS, now)));
    // Warm up the connection pool and the JVM a little, outside the measurement.
    await runConcurrent(Math.min(50, n), CALLER_CONCURRENCY, (i) =>
      client.send(new PutItemCommand({ TableName: tableName, Item: { ...items[i]!, [ATTR.id]: { S: `warm-${i}` } } })),
    );
    const put = await runConcurrent(n, CALLER_CONCURRENCY, (i) => client.send(new PutItemCommand({ TableName: tableName, Item: items[i]! })));
    const update = await runConcurrent(n, CALLER_CONCURRENCY, (i) =>
      client.send(boundUpdate(tableName, items[i]![ATTR.id]!, new Date(now + 60_000).toISOString())),
    );
    const result: RawResult = {
      concurrency: CALLER_CONCURRENCY,
      ops: n,
      putPerSec: round((n / put.wallMs) * 1000, 1),
      putLatencyMs: latencySummary(put.latencies),
      conditionalUpdatePerSec: round((n / update.wallMs) * 1000, 1),
      updateLatencyMs: latencySummary(update.latencies),
    };
    ctx.log(`raw: ${result.putPerSec} PutItem/s, ${result.conditionalUpdatePerSec} conditional UpdateItem/s`);
    return result;
  } finally {
    await drop();
    client.destroy();
  }
}
