/**
 * The final outcomes of a claimed job, FIFO or not: a FIFO job's completion or dead letter also
 * hands its group to the next job, in the same transaction ({@link finishHead}); any other job's is
 * the plain fenced update. A retry (`retryLater`) or a release keeps the group: the job stays its
 * head, so nothing behind it starts before it completes or dead-letters.
 */
import type { JsonValue } from '../model/json-value.ts';
import type { Job } from '../types.ts';
import { completeJob, completionUpdate } from './complete-job.ts';
import type { StoreContext } from './context.ts';
import { failForGood, failureUpdate } from './fail-job.ts';
import { fencedUpdateInput, isOwnWrite, newWriteId } from './fenced-update.ts';
import type { UpdateSpec } from './fenced-update.ts';
import { finishHead } from './fifo-advance.ts';
import type { OutcomeExtras } from './report-progress.ts';

/** What the outcome needs of the claimed job. */
type Claimed = Pick<Job, 'id' | 'queue' | 'group' | 'fifoSeq'>;

/** Completes a claimed job (fenced by `token`); a FIFO job hands its group on. False if the claim was lost. */
export async function completeOutcome(ctx: StoreContext, job: Claimed, token: string, result: JsonValue | undefined, extras: OutcomeExtras = {}): Promise<boolean> {
  if (job.fifoSeq === null || job.group === null) return completeJob(ctx, job.id, token, result, extras);
  return finishFenced(ctx, job, token, completionUpdate(ctx, result, extras), extras.writeId);
}

/** Fails a claimed job for good (fenced by `token`); a FIFO job hands its group on. False if the claim was lost. */
export async function failOutcome(ctx: StoreContext, job: Claimed, claim: { id: string; token: string; queue: string; shard: number }, error: string, extras: OutcomeExtras = {}): Promise<boolean> {
  if (job.fifoSeq === null || job.group === null) return failForGood(ctx, claim, error, extras);
  return finishFenced(ctx, job, claim.token, failureUpdate(ctx, claim, error, extras), extras.writeId);
}

/** `spec` fenced by `token` on a FIFO job, with the hand-over; true if applied now or by an earlier send with `writeId`. */
async function finishFenced(ctx: StoreContext, job: Claimed, token: string, spec: UpdateSpec, writeId: string = newWriteId()): Promise<boolean> {
  const own = { Update: { ...fencedUpdateInput(ctx, job.id, token, spec, writeId), ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const } };
  const out = await finishHead(ctx, { queue: job.queue, group: job.group!, seq: job.fifoSeq! }, own);
  return out.applied || isOwnWrite(out.item, writeId);
}
