/**
 * A claimed job's final outcome (completed, failed for good) when jobs may wait for it: the plain
 * fenced write when none does, else the job's outcome and its count in each waiting job in one
 * transaction (`finish-notifying.ts`).
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { JsonValue } from '../model/json-value.ts';
import { ATTR } from '../schema.ts';
import type { Job } from '../types.ts';
import { completionUpdate } from './complete-job.ts';
import type { StoreContext } from './context.ts';
import { failureUpdate } from './fail-job.ts';
import { fencedUpdate, fencedUpdateInput, isOwnWrite, newWriteId } from './fenced-update.ts';
import type { UpdateSpec } from './fenced-update.ts';
import type { DependencyOutcome } from './count-dependency.ts';
import { finishNotifying, notifyingSpec } from './finish-notifying.ts';
import type { SelfAction } from './finish-notifying.ts';
import type { OutcomeExtras } from './report-progress.ts';

/** The claim whose outcome is written. */
export interface OutcomeClaim {
  readonly job: Job;
  readonly token: string;
  readonly shard: number;
}

/** Ids in a `dependents` attribute. */
export function dependentsOf(item: Record<string, AttributeValue> | undefined): string[] {
  return (item?.[ATTR.dependents]?.L ?? []).map((v) => v.S!).filter(Boolean);
}

/** `completeJob`, counting the job in the jobs waiting for it. See {@link writeOutcome}. */
export function completeNotifying(ctx: StoreContext, claim: OutcomeClaim, result: JsonValue | undefined, extras: OutcomeExtras = {}, deadlineMs?: number): Promise<boolean> {
  return writeOutcome(ctx, claim, completionUpdate(ctx, result, extras), 'done', extras.writeId ?? newWriteId(), deadlineMs);
}

/** `failForGood`, counting the failure in the jobs waiting for it. See {@link writeOutcome}. */
export function failNotifying(ctx: StoreContext, claim: OutcomeClaim, error: string, extras: OutcomeExtras = {}, deadlineMs?: number): Promise<boolean> {
  return writeOutcome(ctx, claim, failureUpdate(ctx, { queue: claim.job.queue, shard: claim.shard }, error, extras), 'failed', extras.writeId ?? newWriteId(), deadlineMs);
}

/**
 * Writes a final outcome, fenced by the claim token.
 *
 * - The job had dependents when claimed (and had not counted itself in them yet): one transaction,
 *   the outcome and a count in each ({@link finishNotifying}).
 * - It had none: the plain UpdateItem, with `attribute_not_exists(dependents)` added to the fence.
 *   The race it closes: a job enqueued with `dependsOn` naming this one registers while it runs,
 *   after the claim read its item; without the condition the outcome would land without counting
 *   it and the dependent would wait forever. With it, the write is refused, the item is read
 *   (1 read unit, only then), and if the claim is still ours the outcome goes as a transaction.
 * - It had counted itself already (a redriven job): the plain write; no job is counted twice.
 */
export async function writeOutcome(ctx: StoreContext, claim: OutcomeClaim, spec: UpdateSpec, outcome: DependencyOutcome, writeId: string, deadlineMs?: number): Promise<boolean> {
  const { job, token } = claim;
  let dependents = job.dependentsNotified ? [] : [...job.dependents];
  if (dependents.length === 0) {
    const guarded = job.dependentsNotified ? spec : { ...spec, names: { ...spec.names, '#dependents': ATTR.dependents }, condition: 'attribute_not_exists(#dependents)' };
    if (await fencedUpdate(ctx, job.id, token, guarded, writeId)) return true;
    if (job.dependentsNotified) return false;
    const item = (await ctx.client.send(new GetItemCommand({ TableName: ctx.tableName, Key: { [ATTR.id]: { S: job.id } }, ConsistentRead: true }))).Item;
    if (!stillOurs(item, token)) return isOwnWrite(item, writeId);
    dependents = dependentsOf(item);
  }
  return finishNotifying(ctx, fencedSelf(ctx, job.id, token, spec, writeId), job.id, dependents, outcome, deadlineMs === undefined ? {} : { deadlineMs });
}

function stillOurs(item: Record<string, AttributeValue> | undefined, token: string): boolean {
  return item?.[ATTR.claimToken]?.S === token && item[ATTR.status]?.S === 'processing';
}

/** The job's own action in the transaction: the fenced outcome, on the dependents seen. */
function fencedSelf(ctx: StoreContext, id: string, token: string, spec: UpdateSpec, writeId: string): SelfAction {
  return {
    build: (count) => ({ ...fencedUpdateInput(ctx, id, token, notifyingSpec(spec, count), writeId), ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }),
    verdict: (item) => {
      if (isOwnWrite(item, writeId)) return 'landed';
      // Still ours and processing: only the dependents condition failed, so more registered.
      return stillOurs(item, token) ? { dependents: dependentsOf(item) } : 'lost';
    },
  };
}
