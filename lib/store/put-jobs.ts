/**
 * Writes many new jobs with BatchWriteItem, resending unprocessed items, and never resending a
 * batch whose outcome is unknown.
 */
import { BatchWriteItemCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue, WriteRequest } from '@aws-sdk/client-dynamodb';
import { ATTR, BATCH_WRITE_LIMIT } from '../schema.ts';
import { mapLimit } from '../util/map-limit.ts';
import type { StoreContext } from './context.ts';
import { settlePut } from './put-job.ts';
import { isOutcomeUnknown } from './resend.ts';

/** Options of {@link putJobs}. */
export interface PutJobsOptions {
  /** Rounds of retrying UnprocessedItems before giving up. @default 8 */
  readonly maxRounds?: number;
  /** First backoff between rounds; doubles each round, with jitter. @default 50 */
  readonly baseDelayMs?: number;
  /** @default setTimeout-based sleep */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Where the items of a {@link putJobs} call ended up, by id: every id is in exactly one list. */
export interface PutJobsOutcome {
  /** In the table: this call created them (their ids are fresh, so nobody else could). */
  readonly written: string[];
  /** Certainly not in the table: refused by DynamoDB, left unprocessed, or never sent. */
  readonly notWritten: string[];
  /** Maybe in the table: no answer even after resolving them one by one. */
  readonly unknown: string[];
  /** The first error met, if any. */
  error?: unknown;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const idOf = (r: WriteRequest) => r.PutRequest!.Item![ATTR.id]!.S!;

/** Puts in flight at once when resolving a batch whose outcome is unknown. */
const RESOLVE_CONCURRENCY = 16;

/**
 * The SDK's retry strategy resends a request after a 5xx or a lost connection. For a batch that
 * is wrong: BatchWriteItem takes no condition, so a resend of a batch that had landed would
 * overwrite jobs a worker may have claimed meanwhile. This error replaces such failures inside
 * the retry loop; the SDK does not retry it (no status, no retryable trait, no `cause` chain).
 */
class BatchOutcomeUnknown extends Error {
  override name = 'BatchOutcomeUnknown';
  constructor(readonly original: unknown) {
    super(`BatchWriteItem outcome unknown: ${original instanceof Error ? original.message : String(original)}`);
  }
}

/** A BatchWriteItem command that the SDK resends only after a certain refusal (throttling). */
function batchCommand(tableName: string, requests: WriteRequest[]): BatchWriteItemCommand {
  const command = new BatchWriteItemCommand({ RequestItems: { [tableName]: requests } });
  command.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (err) {
        throw isOutcomeUnknown(err) ? new BatchOutcomeUnknown(err) : err;
      }
    },
    // finalizeRequest after the retry middleware (priority high): inside the SDK's retry loop.
    { step: 'finalizeRequest', priority: 'low', name: 'jobtableNoBlindBatchResend' },
  );
  return command;
}

/**
 * Puts items (ids must be fresh and unique: BatchWriteItem has no conditions) in batches of 25,
 * resending `UnprocessedItems` (which DynamoDB did not write) with exponential backoff. A batch
 * whose outcome is unknown (a 5xx or no answer) is never resent whole: each of its items is put
 * on its own with `attribute_not_exists(id)`, which writes the ones that are missing and finds the
 * ones that landed. Stops at the first batch that is not wholly written; later items are
 * `notWritten`.
 */
export async function putJobs(ctx: StoreContext, items: readonly Record<string, AttributeValue>[], options: PutJobsOptions = {}): Promise<PutJobsOutcome> {
  const out: PutJobsOutcome = { written: [], notWritten: [], unknown: [] };
  for (let i = 0; i < items.length; i += BATCH_WRITE_LIMIT) {
    const chunk = items.slice(i, i + BATCH_WRITE_LIMIT).map((Item): WriteRequest => ({ PutRequest: { Item } }));
    const done = await putChunk(ctx, chunk, options, out);
    if (!done) {
      out.notWritten.push(...items.slice(i + BATCH_WRITE_LIMIT).map((it) => it[ATTR.id]!.S!));
      break;
    }
  }
  return out;
}

/** Writes one batch of up to 25 into `out`; false if some item was not certainly written. */
async function putChunk(ctx: StoreContext, chunk: WriteRequest[], options: PutJobsOptions, out: PutJobsOutcome): Promise<boolean> {
  const maxRounds = options.maxRounds ?? 8;
  const baseDelayMs = options.baseDelayMs ?? 50;
  const sleep = options.sleep ?? defaultSleep;
  let pending = chunk;
  for (let round = 0; pending.length > 0; round++) {
    if (round > maxRounds) {
      out.notWritten.push(...pending.map(idOf));
      out.error ??= new Error(`${pending.length} jobs were left unprocessed after ${maxRounds} resends`);
      return false;
    }
    if (round > 0) {
      const cap = baseDelayMs * 2 ** (round - 1);
      await sleep(cap / 2 + ctx.random() * (cap / 2));
    }
    let unprocessed: WriteRequest[];
    try {
      const res = await ctx.client.send(batchCommand(ctx.tableName, pending));
      unprocessed = res.UnprocessedItems?.[ctx.tableName] ?? [];
    } catch (err) {
      out.error ??= err instanceof BatchOutcomeUnknown ? err.original : err;
      if (!(err instanceof BatchOutcomeUnknown)) {
        out.notWritten.push(...pending.map(idOf)); // DynamoDB answered with a refusal
        return false;
      }
      return resolveOneByOne(ctx, pending, out);
    }
    const left = new Set(unprocessed.map(idOf));
    for (const r of pending) if (!left.has(idOf(r))) out.written.push(idOf(r));
    pending = unprocessed;
  }
  return true;
}

/**
 * Settles the items of a batch whose outcome is unknown with conditional puts: created now or
 * found already there (the batch had landed) both mean written. An item whose put also fails may
 * or may not be there: unknown. Cost: 1 write unit per item, as the batch.
 */
async function resolveOneByOne(ctx: StoreContext, requests: WriteRequest[], out: PutJobsOutcome): Promise<boolean> {
  const settled = await mapLimit(requests, RESOLVE_CONCURRENCY, (r) => settlePut(ctx, r.PutRequest!.Item!, { reuseExpired: false }));
  for (const s of settled) (s.state === 'created' || s.state === 'existed' ? out.written : out.unknown).push(s.id);
  return settled.every((s) => s.state === 'created' || s.state === 'existed');
}
