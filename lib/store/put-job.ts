/** Writes one new job. */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { ATTR } from '../schema.ts';
import { isConditionFailed } from './context.ts';
import type { StoreContext } from './context.ts';
import { hadUnknownAttempt, isOutcomeUnknown, resendUntil, watchAttempts } from './resend.ts';

/** Outcome of {@link putJob}. */
export interface PutJobResult {
  readonly id: string;
  /** False when a job with this id (same idempotency key) already existed. */
  readonly created: boolean;
  /**
   * An SDK attempt of this put had an unknown outcome before a retry found the job: `created`
   * false may then mean this call created it.
   */
  readonly uncertain: boolean;
}

/** Options of {@link putJob}. */
export interface PutJobOptions {
  /**
   * Let the put replace a record whose retention has expired (TTL passed, not yet deleted), so an
   * idempotency key can be reused after its job's retention. Off when resolving a write of our own
   * whose outcome is unknown: that record may be our job, finished and expired already.
   * @default true
   */
  readonly reuseExpired?: boolean;
}

/**
 * Puts a new job item.
 *
 * Condition: `attribute_not_exists(id) OR ttl <= :now`. It closes two races: two callers
 * enqueueing the same idempotency key (same id) at once, where exactly one creates the job and
 * both get its id; and an SDK retry of a put that reached the table although the caller saw an
 * error, which must not reset a job a worker may already have claimed. An expired record (TTL
 * passed but not yet deleted) counts as absent, so a key can be reused after its job's retention.
 */
export async function putJob(ctx: StoreContext, item: Record<string, AttributeValue>, options: PutJobOptions = {}): Promise<PutJobResult> {
  const id = item[ATTR.id]!.S!;
  const reuseExpired = options.reuseExpired ?? true;
  try {
    await ctx.client.send(
      watchAttempts(new PutItemCommand({
        TableName: ctx.tableName,
        Item: item,
        ConditionExpression: reuseExpired ? 'attribute_not_exists(#id) OR #ttl <= :now' : 'attribute_not_exists(#id)',
        ExpressionAttributeNames: reuseExpired ? { '#id': ATTR.id, '#ttl': ATTR.ttl } : { '#id': ATTR.id },
        ...(reuseExpired ? { ExpressionAttributeValues: { ':now': { N: String(Math.floor(ctx.clock.now() / 1000)) } } } : {}),
      })),
    );
    return { id, created: true, uncertain: false };
  } catch (err) {
    if (isConditionFailed(err)) return { id, created: false, uncertain: hadUnknownAttempt(err) };
    throw err;
  }
}

/** Where a put ended up, when its answer may have been lost. */
export interface SettledPut {
  readonly id: string;
  /**
   * `created` by this put; `existed` (the condition found the item: an earlier send of this put,
   * or a job already there under the same id); `notWritten` (DynamoDB refused every send);
   * `unknown` (no answer, even after resends: it may or may not be there).
   */
  readonly state: 'created' | 'existed' | 'notWritten' | 'unknown';
  /** Some send had an unknown outcome, so `existed` may mean this put created it. */
  readonly uncertain: boolean;
  /** The last error, for `notWritten` and `unknown`. */
  readonly error?: unknown;
}

/** How long a put whose outcome is unknown is resent (counted from its first answer) before it is reported unknown. */
const SETTLE_WINDOW_MS = 5_000;

/**
 * {@link putJob}, resent while its outcome is unknown (a 5xx or no answer after the SDK's own
 * retries). Resending is safe because the put is conditional: a resend of a put that had landed
 * fails its condition and reads as `existed`. Never throws for DynamoDB errors; see
 * {@link SettledPut}.
 */
export async function settlePut(ctx: StoreContext, item: Record<string, AttributeValue>, options: PutJobOptions = {}): Promise<SettledPut> {
  const id = item[ATTR.id]!.S!;
  let uncertain = false;
  const send = async () => {
    try {
      return await putJob(ctx, item, options);
    } catch (err) {
      if (isOutcomeUnknown(err)) uncertain = true;
      throw err;
    }
  };
  try {
    // The window counts from the first answer: the SDK's own retries (a throttled one backs off for
    // seconds) must not use it up, or a put that landed would be reported unknown without a resend.
    const res = await send().catch((err: unknown) => {
      if (!isOutcomeUnknown(err)) throw err;
      return resendUntil(ctx, ctx.clock.now() + SETTLE_WINDOW_MS, send, { resendIf: isOutcomeUnknown });
    });
    return { id, state: res.created ? 'created' : 'existed', uncertain: uncertain || res.uncertain };
  } catch (error) {
    return { id, state: uncertain ? 'unknown' : 'notWritten', uncertain, error };
  }
}
