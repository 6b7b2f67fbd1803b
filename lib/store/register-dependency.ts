/**
 * Registers a job enqueued with `dependsOn` on one of its dependencies, or, if that one finished
 * first, counts it in the waiting job itself.
 */
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { DEPENDENCY_LIMITS } from '../model/dependencies.ts';
import { ATTR } from '../schema.ts';
import { isConditionFailed } from './context.ts';
import type { StoreContext } from './context.ts';
import { countDependencyUpdate, nextVariant } from './count-dependency.ts';
import type { CountVariant, DependencyOutcome } from './count-dependency.ts';

/** Where a registration ended: on the dependency's list, or the dependency had finished (`done` or `failed`), or it is gone. */
export type Registration = 'registered' | DependencyOutcome | 'gone' | 'full';

/**
 * Appends `dependentId` to the `dependents` of job `depId`, so that its final outcome counts in it.
 *
 * Condition: `attribute_exists(id) AND attribute_not_exists(dependents_notified) AND status IN
 * (waiting, pending, processing) AND NOT contains(dependents, :me) AND size(dependents) < 49`.
 * The races it closes: the dependency finishing before the registration (its status is final, or
 * its dependents were counted already): refused, and the outcome it had is returned for the
 * caller to count ({@link settleDependency}); the same registration sent twice (an SDK retry, or a
 * retried enqueue): refused, and read as registered. A dependency that registers while running
 * is seen by its outcome write, which is conditional on having no (or the seen) dependents.
 */
export async function registerDependency(ctx: StoreContext, depId: string, dependentId: string): Promise<Registration> {
  try {
    await ctx.client.send(
      new UpdateItemCommand({
        TableName: ctx.tableName,
        Key: { [ATTR.id]: { S: depId } },
        UpdateExpression: 'SET #deps = list_append(if_not_exists(#deps, :empty), :me_l)',
        ConditionExpression:
          'attribute_exists(#id) AND attribute_not_exists(#dn) AND #status IN (:waiting, :pending, :processing) AND NOT contains(#deps, :me) AND (attribute_not_exists(#deps) OR size(#deps) < :max)',
        ExpressionAttributeNames: { '#id': ATTR.id, '#deps': ATTR.dependents, '#dn': ATTR.dependentsNotified, '#status': ATTR.status },
        ExpressionAttributeValues: {
          ':empty': { L: [] },
          ':me_l': { L: [{ S: dependentId }] },
          ':me': { S: dependentId },
          ':waiting': { S: 'waiting' },
          ':pending': { S: 'pending' },
          ':processing': { S: 'processing' },
          ':max': { N: String(DEPENDENCY_LIMITS.dependentsMax) },
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return 'registered';
  } catch (err) {
    if (!isConditionFailed(err)) throw err;
    return refusedRegistration(err.Item, dependentId);
  }
}

/** Why a registration was refused, from the dependency's item. */
function refusedRegistration(item: Record<string, AttributeValue> | undefined, dependentId: string): Registration {
  if (!item) return 'gone';
  if (item[ATTR.dependents]?.L?.some((v) => v.S === dependentId)) return 'registered';
  if (item[ATTR.status]?.S === 'completed') return 'done';
  // Failed or cancelled, or redriven after its dependents were told it failed: it counts as failed.
  if (item[ATTR.dependentsNotified]?.BOOL || item[ATTR.status]?.S === 'failed' || item[ATTR.status]?.S === 'cancelled') return 'failed';
  return 'full';
}

/** The outcome a dependency read at enqueue counts as, or null if it has not finished. */
export function finishedOutcome(item: Record<string, AttributeValue>): DependencyOutcome | null {
  const status = item[ATTR.status]?.S;
  if (status === 'completed') return 'done';
  if (status === 'failed' || status === 'cancelled' || item[ATTR.dependentsNotified]?.BOOL) return 'failed';
  return null;
}

/**
 * Counts dependency `depId`, which finished before `dependentId` could register on it, in the
 * waiting job, with the conditions of `countDependencyUpdate` plus `NOT contains(settled_deps,
 * :dep)`: a retried enqueue never counts it twice. Resent with the other form (`promote` for the
 * releasing count) while refused, at most 8 times.
 */
export async function settleDependency(ctx: StoreContext, dependentId: string, depId: string, outcome: DependencyOutcome): Promise<void> {
  let variant: CountVariant = { kind: 'count' };
  for (let round = 0; round < 8; round++) {
    try {
      await ctx.client.send(new UpdateItemCommand(countDependencyUpdate(ctx, dependentId, depId, outcome, variant, { settle: true })));
      return;
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
      const next = nextVariant(err.Item, depId, outcome);
      if (next === 'gone' || next === 'settled') return;
      variant = next;
    }
  }
  throw new Error(`Could not count dependency ${depId} in job ${dependentId}: refused 8 times`);
}
