/** Writes many new jobs with BatchWriteItem, retrying unprocessed items. */
import { BatchWriteItemCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue, WriteRequest } from '@aws-sdk/client-dynamodb';
import { EnqueueError } from '../errors.ts';
import { ATTR, BATCH_WRITE_LIMIT } from '../schema.ts';
import type { StoreContext } from './context.ts';

/** Options of {@link putJobs}. */
export interface PutJobsOptions {
  /** Rounds of retrying UnprocessedItems before giving up. @default 8 */
  readonly maxRounds?: number;
  /** First backoff between rounds; doubles each round, with jitter. @default 50 */
  readonly baseDelayMs?: number;
  /** @default setTimeout-based sleep */
  readonly sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Puts items (ids must be fresh and unique: BatchWriteItem has no conditions) in batches of 25,
 * resending UnprocessedItems with exponential backoff. Throws {@link EnqueueError} listing what
 * was and was not written if items remain unprocessed after `maxRounds`.
 */
export async function putJobs(ctx: StoreContext, items: readonly Record<string, AttributeValue>[], options: PutJobsOptions = {}): Promise<void> {
  const maxRounds = options.maxRounds ?? 8;
  const baseDelayMs = options.baseDelayMs ?? 50;
  const sleep = options.sleep ?? defaultSleep;
  const written: string[] = [];
  const chunks: WriteRequest[][] = [];
  for (let i = 0; i < items.length; i += BATCH_WRITE_LIMIT) {
    chunks.push(items.slice(i, i + BATCH_WRITE_LIMIT).map((Item) => ({ PutRequest: { Item } })));
  }
  const idOf = (r: WriteRequest) => r.PutRequest!.Item![ATTR.id]!.S!;
  for (let c = 0; c < chunks.length; c++) {
    let pending = chunks[c]!;
    for (let round = 0; pending.length > 0; round++) {
      if (round > 0) {
        if (round > maxRounds) {
          const notWritten = chunks.slice(c + 1).flat().map(idOf).concat(pending.map(idOf));
          throw new EnqueueError(`${notWritten.length} jobs were not written after ${maxRounds} retries of unprocessed items`, written, notWritten);
        }
        const cap = baseDelayMs * 2 ** (round - 1);
        await sleep(cap / 2 + ctx.random() * (cap / 2));
      }
      let unprocessed: WriteRequest[];
      try {
        const res = await ctx.client.send(new BatchWriteItemCommand({ RequestItems: { [ctx.tableName]: pending } }));
        unprocessed = res.UnprocessedItems?.[ctx.tableName] ?? [];
      } catch (err) {
        const notWritten = chunks.slice(c + 1).flat().map(idOf).concat(pending.map(idOf));
        throw new EnqueueError(`Batch write failed: ${(err as Error).message}`, written, notWritten, { cause: err });
      }
      const left = new Set(unprocessed.map(idOf));
      for (const r of pending) if (!left.has(idOf(r))) written.push(idOf(r));
      pending = unprocessed;
    }
  }
}
