/**
 * The write that counts one finished dependency in a job waiting for it: as an action of the
 * finishing job's own transaction (`finish-notifying.ts`), or alone, when an enqueue finds a
 * dependency that finished before it could register (`register-dependency.ts`).
 */
import type { AttributeValue, Update } from '@aws-sdk/client-dynamodb';
import { dueRunOrder, iso } from '../model/codec.ts';
import { ATTR, LANE, statusShardKey } from '../schema.ts';
import { shardOf } from './cancel-job.ts';
import type { StoreContext } from './context.ts';

/** How the dependency ended: completed, or failed for good / cancelled. */
export type DependencyOutcome = 'done' | 'failed';

/**
 * Which form of the write: `count` (the waiting job keeps waiting, or is not waiting any more) or
 * `promote` (this is the count that releases it: the last dependency, or a failure under policy
 * `fail`): the same counters, plus status `pending` and its entry moved from the `waiting` lane to
 * the `due` lane of its shard, ready at once (or at its own `runAt`, if later).
 */
export type CountVariant =
  | { readonly kind: 'count' }
  | { readonly kind: 'promote'; readonly queue: string; readonly shard: number; readonly priority: number; readonly runAtMs: number };

/** Options of {@link countDependencyUpdate}. */
export interface CountOptions {
  /**
   * Counted by an enqueue rather than by the dependency's own outcome: the id is also recorded in
   * `settled_deps`, and the write is refused if it is there already (a retry of the enqueue).
   */
  readonly settle?: boolean;
}

/**
 * The update of `dependentId` counting dependency `fromId` as `outcome`.
 *
 * Conditions (the race each closes):
 * - `count`: the job exists, and this is not the count that must release it (`status <> waiting`,
 *   or more than one left and, for a failure, policy not `fail`). Two dependencies finishing at
 *   once can both believe they are not the last; the condition refuses the one that is, which
 *   then sends `promote`, so a waiting job is never left at 0 without being released.
 * - `promote`: `status = waiting` and this is the releasing count. Only one count can see the
 *   job waiting at 1 left: the release happens once.
 * A job that no longer exists fails both (`attribute_exists`), and is left out by the caller.
 */
export function countDependencyUpdate(ctx: StoreContext, dependentId: string, fromId: string, outcome: DependencyOutcome, variant: CountVariant, options: CountOptions = {}): Update {
  const now = ctx.clock.now();
  const names: Record<string, string> = { '#status': ATTR.status, '#left': ATTR.depsLeft, '#updated': ATTR.updatedAt, ...(variant.kind === 'count' ? { '#id': ATTR.id } : {}) };
  const values: Record<string, AttributeValue> = { ':minus_one': { N: '-1' }, ':one': { N: '1' }, ':waiting': { S: 'waiting' }, ':now': { S: iso(now) } };
  const adds = ['#left :minus_one'];
  const sets = ['#updated = :now'];
  const failed = outcome === 'failed';
  if (failed) {
    Object.assign(names, { '#failed': ATTR.depsFailed, '#first': ATTR.firstFailedDep, '#policy': ATTR.onDepFailure });
    Object.assign(values, { ':from': { S: fromId }, ':fail': { S: 'fail' } });
    adds.push('#failed :one');
    sets.push('#first = if_not_exists(#first, :from)');
  }
  const releases = failed ? '(#left <= :one OR #policy = :fail)' : '#left <= :one';
  let condition = variant.kind === 'count' ? `attribute_exists(#id) AND (#status <> :waiting OR NOT ${releases})` : `#status = :waiting AND ${releases}`;
  if (variant.kind === 'promote') {
    Object.assign(names, { '#shard': ATTR.statusShard, '#ro': ATTR.runOrder });
    Object.assign(values, {
      ':pending': { S: 'pending' },
      ':due_shard': { S: statusShardKey(variant.queue, LANE.due, variant.shard) },
      ':ready': { S: dueRunOrder(variant.priority, Math.max(variant.runAtMs, now), now) },
    });
    sets.push('#status = :pending', '#shard = :due_shard', '#ro = :ready');
  }
  if (options.settle) {
    Object.assign(names, { '#settled': ATTR.settledDeps });
    Object.assign(values, { ':from_s': { S: fromId }, ':from_l': { L: [{ S: fromId }] }, ':empty': { L: [] } });
    sets.push('#settled = list_append(if_not_exists(#settled, :empty), :from_l)');
    condition += ' AND NOT contains(#settled, :from_s)';
  }
  return {
    TableName: ctx.tableName,
    Key: { [ATTR.id]: { S: dependentId } },
    UpdateExpression: `SET ${sets.join(', ')} ADD ${adds.join(', ')}`,
    ConditionExpression: condition,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  };
}

/**
 * After a refused count, the form to send next, from the waiting job as the refusal returned it:
 * `gone` if it no longer exists, `settled` if an earlier send of this enqueue counted it already,
 * else `promote` if this count releases it, else `count` (it changed meanwhile: count again).
 */
export function nextVariant(item: Record<string, AttributeValue> | undefined, fromId: string, outcome: DependencyOutcome): CountVariant | 'gone' | 'settled' {
  if (!item || !item[ATTR.id]) return 'gone';
  if (item[ATTR.settledDeps]?.L?.some((v) => v.S === fromId)) return 'settled';
  const left = Number(item[ATTR.depsLeft]?.N ?? 0);
  const releases = left <= 1 || (outcome === 'failed' && item[ATTR.onDepFailure]?.S === 'fail');
  if (item[ATTR.status]?.S !== 'waiting' || !releases) return { kind: 'count' };
  return {
    kind: 'promote',
    queue: item[ATTR.queue]!.S!,
    shard: shardOf(item[ATTR.statusShard]?.S),
    priority: Number(item[ATTR.priority]?.N ?? 0),
    runAtMs: Date.parse(item[ATTR.runAt]?.S ?? '') || 0,
  };
}
