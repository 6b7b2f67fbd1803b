/** Claims one due job: the conditional write that makes exactly one worker its owner. */
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { UpdateItemCommandInput } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { iso, jobFromItem } from '../model/codec.ts';
import { itemSize } from '../model/item-size.ts';
import { leaseUntilMs } from '../model/state.ts';
import { ATTR } from '../schema.ts';
import type { Job } from '../types.ts';
import { isConditionFailed } from './context.ts';
import type { StoreContext } from './context.ts';
import type { Candidate } from './query-due.ts';
import { isOutcomeUnknown, isTransactionConflict, resendUntil, watchAttempts } from './resend.ts';

/** Longest a claim whose outcome is unknown is resent (never past its own timeout). */
const CLAIM_RESEND_WINDOW_MS = 10_000;

/** A job this worker now holds. */
export interface Claim {
  readonly job: Job;
  /** The fencing token every later write for this attempt must present. */
  readonly token: string;
  readonly shard: number;
  /** Size of the item when claimed, in bytes (to check a result fits beside the payload). */
  readonly itemBytes: number;
}

/**
 * What a caller may fix in advance of a claim (flow-control limits do: the slots they took are
 * held under the claim's token, until the claim's lease). @default a fresh token, a lease from now
 */
export interface ClaimFixed {
  readonly token?: string;
  /** Epoch ms the attempt starts at the earliest: a start reserved for later (a rate limit) counts its lease from then. */
  readonly notBefore?: number;
}

/**
 * How a claim attempt ended: the claim, or the race lost, to whom, and when the winner's claim
 * started (`winnerClaimedAtMs`, epoch ms, if the item says: a drain learns from it that the index
 * lags, when the job was claimed before its own read of it).
 */
export type ClaimAttempt = { readonly claim: Claim } | { readonly claim: null; readonly winner: string | undefined; readonly winnerClaimedAtMs?: number };

/** Claims a candidate seen in the index; returns null if another worker got it first. See {@link tryClaim}. */
export async function claimJob(ctx: StoreContext, candidate: Candidate, workerId: string, leaseGraceMs: number): Promise<Claim | null> {
  return (await tryClaim(ctx, candidate, workerId, leaseGraceMs)).claim;
}

/**
 * Claims a candidate seen in the index. If another worker got it first, says which one (the
 * `worker_id` the item carries, returned by the failed condition at no extra cost).
 *
 * Condition: `run_order = :seen AND status IN (pending, processing) AND (no lease OR lease <= now)`.
 * The index is eventually consistent, so everything it showed is re-checked on the base item:
 * `run_order` unchanged means the job was not retried, cancelled or finished since it was read
 * (and, since the key encodes the due time, that it is due); the lease test lets exactly one
 * worker in, and lets a worker take over a job whose previous owner died once its lease is over.
 * The write sets a fresh fencing token and the new lease; the index entry keeps its key and
 * only its projected status and lease change (one index write), so other workers skip it.
 * Throws if the claim's outcome stays unknown past its resends, or for a refused request.
 */
export async function tryClaim(ctx: StoreContext, candidate: Candidate, workerId: string, leaseGraceMs: number, fixed: ClaimFixed = {}): Promise<ClaimAttempt> {
  const now = ctx.clock.now();
  const token = fixed.token ?? randomUUID();
  const input = claimInput(ctx.tableName, candidate, { workerId, token, now, leaseUntil: leaseUntilMs(Math.max(now, fixed.notBefore ?? now), candidate.timeoutMs, leaseGraceMs) });
  // A claim whose outcome is unknown (some SDK attempt got a 5xx or no answer, even if the last
  // one was throttled) is resent
  // unchanged, with its token, for a while: if it had landed, the resend finds the token below.
  const resendDeadline = now + Math.min(candidate.timeoutMs, CLAIM_RESEND_WINDOW_MS);
  try {
    // A transaction changing the item (an earlier owner's completeWith) refuses the claim for a moment: resent too.
    const resendIf = (err: unknown) => isOutcomeUnknown(err) || isTransactionConflict(err);
    const res = await resendUntil(ctx, resendDeadline, () => ctx.client.send(watchAttempts(new UpdateItemCommand(input))), { resendIf });
    return { claim: { job: jobFromItem(res.Attributes!), token, shard: candidate.shard, itemBytes: itemSize(res.Attributes!) } };
  } catch (err) {
    if (isConditionFailed(err)) {
      // A resend of this very claim (by the SDK or by `resendUntil`), whose first send reached the
      // table although the caller saw an error, fails its own condition: the item then carries this
      // call's fresh token, which no other writer can know, so the claim is ours (without this the
      // job would sit leased and unrun until the lease ran out, and lose an attempt).
      if (err.Item?.[ATTR.claimToken]?.S === token) return { claim: { job: jobFromItem(err.Item), token, shard: candidate.shard, itemBytes: itemSize(err.Item) } };
      return { claim: null, winner: err.Item?.[ATTR.workerId]?.S, ...claimedAt(err.Item?.[ATTR.startedAt]?.S) };
    }
    throw err;
  }
}

/** `winnerClaimedAtMs` of a lost claim, from the item's `started_at` (absent if it has none). */
function claimedAt(startedAt: string | undefined): { winnerClaimedAtMs?: number } {
  const ms = startedAt === undefined ? NaN : Date.parse(startedAt);
  return Number.isFinite(ms) ? { winnerClaimedAtMs: ms } : {};
}

/** The claim's conditional update (see {@link claimJob}). */
function claimInput(tableName: string, candidate: Candidate, c: { workerId: string; token: string; now: number; leaseUntil: number }): UpdateItemCommandInput {
  return {
    TableName: tableName,
    Key: { [ATTR.id]: { S: candidate.id } },
    ConditionExpression: '#ro = :ro AND (#status = :pending OR #status = :processing) AND (attribute_not_exists(#lease) OR #lease <= :now)',
    UpdateExpression:
      'SET #status = :processing, #lease = :lease, #token = :token, #worker = :worker, #started = :now, #updated = :now, #attempts = #attempts + :one',
    ExpressionAttributeNames: {
      '#ro': ATTR.runOrder,
      '#status': ATTR.status,
      '#lease': ATTR.leaseUntil,
      '#token': ATTR.claimToken,
      '#worker': ATTR.workerId,
      '#started': ATTR.startedAt,
      '#updated': ATTR.updatedAt,
      '#attempts': ATTR.attempts,
    },
    ExpressionAttributeValues: {
      ':ro': { S: candidate.runOrder },
      ':pending': { S: 'pending' },
      ':processing': { S: 'processing' },
      ':now': { S: iso(c.now) },
      ':lease': { S: iso(c.leaseUntil) },
      ':token': { S: c.token },
      ':worker': { S: c.workerId },
      ':one': { N: '1' },
    },
    ReturnValues: 'ALL_NEW',
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  };
}
