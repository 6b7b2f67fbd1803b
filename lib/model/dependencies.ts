/**
 * Dependencies and fan-in, the pure part: limits, validation of `dependsOn`, the policies, child
 * ids, and the item of a waiting job. See docs/design.md, "Dependencies and fan-in".
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { v5 as uuidv5 } from 'uuid';
import { ValidationError } from '../errors.ts';
import { ATTR, LANE, statusShardKey } from '../schema.ts';
import type { DependencyFailurePolicy } from '../types.ts';
import { describe, validateJobId } from './validate.ts';

/** Limits of dependencies and fan-in. */
export const DEPENDENCY_LIMITS = {
  /** Ids in one `dependsOn`. */
  dependsOnMax: 100,
  /** Children of one parent. Each is written with its own conditional put; the parent stays small. */
  childrenMax: 1_000,
  /**
   * Jobs that may wait for one job (its parent plus `dependsOn` registrations). Its final outcome
   * counts it in all of them in one transaction of at most 100 actions, its own included; 49 leaves
   * 50 for the items of a `ctx.completeWith`.
   */
  dependentsMax: 49,
} as const;

/** Namespace of child ids (UUID v5 of `<parent id>\n<index>`). */
const CHILD_NAMESPACE = '0c7f4d0e-6a55-4a1c-9a43-2b2a7f5d9e61';

/**
 * The id of child `index` of parent `parentId`: the same on every retry of the enqueue, so a
 * retry completes a half-written fan-out instead of duplicating it, and a parent finds its
 * children without storing their ids.
 */
export function childJobId(parentId: string, index: number): string {
  return uuidv5(`${parentId}\n${index}`, CHILD_NAMESPACE);
}

/** The ids of a parent's children, in order. */
export function childJobIds(parentId: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => childJobId(parentId, i));
}

/** Checks the children of `enqueueParent`: an array of 1 to 1,000. */
export function validateChildren(children: unknown): void {
  const limit = `an array of 1 to ${DEPENDENCY_LIMITS.childrenMax} children { type, payload, options? }`;
  if (!Array.isArray(children)) throw new ValidationError('children', limit, `expected an array, got ${describe(children)}`);
  if (children.length === 0 || children.length > DEPENDENCY_LIMITS.childrenMax) throw new ValidationError('children', limit, `${children.length} children given: give 1 to ${DEPENDENCY_LIMITS.childrenMax} children`);
}

/** The attributes that make a new job child `index` of `parentId`: it knows its parent, which waits for it. */
export function childAttributes(parentId: string, index: number): Record<string, AttributeValue> {
  return { [ATTR.parentId]: { S: parentId }, [ATTR.childIndex]: { N: String(index) }, [ATTR.dependents]: { L: [{ S: parentId }] } };
}

/** Validates a failure policy (`fail` by default). */
export function validatePolicy(value: unknown, field: string): DependencyFailurePolicy {
  if (value === undefined) return 'fail';
  if (value !== 'fail' && value !== 'continue') throw new ValidationError(field, '"fail" or "continue"', `got ${describe(value)}`);
  return value;
}

/** Validates `dependsOn`: 1 to 100 distinct job ids. */
export function validateDependsOn(value: unknown, field: string): string[] {
  const limit = `an array of 1 to ${DEPENDENCY_LIMITS.dependsOnMax} distinct job ids`;
  if (!Array.isArray(value)) throw new ValidationError(field, limit, `expected an array, got ${describe(value)}`);
  if (value.length === 0 || value.length > DEPENDENCY_LIMITS.dependsOnMax) throw new ValidationError(field, limit, `${value.length} ids given: give 1 to ${DEPENDENCY_LIMITS.dependsOnMax}`);
  const ids = value.map((v, i) => validateJobId(v, `${field}[${i}]`));
  const dup = ids.findIndex((id, i) => ids.indexOf(id) !== i);
  if (dup >= 0) throw new ValidationError(`${field}[${dup}]`, limit, `"${ids[dup]}" is given twice`);
  return ids;
}

/** The dependency options of an enqueue, validated; null when it waits for nothing. */
export function dependencyOptions(options: unknown, prefix = ''): { dependsOn: string[]; onFailure: DependencyFailurePolicy } | null {
  const o = (typeof options === 'object' && options !== null ? options : {}) as Record<string, unknown>;
  if (o.dependsOn === undefined) {
    if (o.onDependencyFailure !== undefined) throw new ValidationError(`${prefix}options.onDependencyFailure`, 'given only with dependsOn');
    return null;
  }
  return { dependsOn: validateDependsOn(o.dependsOn, `${prefix}options.dependsOn`), onFailure: validatePolicy(o.onDependencyFailure, `${prefix}options.onDependencyFailure`) };
}

/** Refuses dependency options where they are not supported (`enqueueMany`, children). */
export function refuseDependencyOptions(options: unknown, prefix: string, where: string): void {
  const o = (typeof options === 'object' && options !== null ? options : {}) as Record<string, unknown>;
  for (const key of ['dependsOn', 'onDependencyFailure', 'idempotencyKey'] as const) {
    if (o[key] === undefined || (key === 'idempotencyKey' && where !== 'a child')) continue;
    throw new ValidationError(`${prefix}options.${key}`, `not given for ${where}`, `${key} is not supported for ${where}${where === 'a child' ? " (a child's id derives from its parent's)" : ': use enqueue'}`);
  }
}

/** What a waiting job waits for, when it is written. */
export interface WaitSpec {
  readonly total: number;
  /** How many have not finished yet (the job is pending at once when 0). */
  readonly left: number;
  /** How many already failed for good or were cancelled. */
  readonly failed: number;
  readonly firstFailed: string | null;
  readonly onFailure: DependencyFailurePolicy;
  /** A parent: its number of children. */
  readonly childCount?: number;
  /** A `dependsOn` job: the ids, and those already counted at enqueue. */
  readonly dependsOn?: readonly string[];
  readonly settled?: readonly string[];
}

/** True if a job with these counters runs at once rather than waits. */
export function runsAtOnce(w: Pick<WaitSpec, 'left' | 'failed' | 'onFailure'>): boolean {
  return w.left === 0 || (w.failed > 0 && w.onFailure === 'fail');
}

/**
 * Turns the item of a new pending job into the item of a job that waits (status `waiting`, in the
 * `waiting` lane of its shard, sorted by enqueue time), with its counters. A job that runs at once
 * keeps its pending status and keys, with the counters (a failed dependency under `fail` is then
 * seen by the worker, which fails it without running it).
 */
export function waitingItem(item: Record<string, AttributeValue>, shard: number, w: WaitSpec): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {
    ...item,
    [ATTR.depsTotal]: { N: String(w.total) },
    [ATTR.depsLeft]: { N: String(w.left) },
    [ATTR.depsFailed]: { N: String(w.failed) },
    [ATTR.onDepFailure]: { S: w.onFailure },
  };
  if (w.firstFailed) out[ATTR.firstFailedDep] = { S: w.firstFailed };
  if (w.childCount !== undefined) {
    out[ATTR.childCount] = { N: String(w.childCount) };
    out[ATTR.childrenWritten] = { BOOL: false };
  }
  if (w.dependsOn) out[ATTR.dependsOn] = { L: w.dependsOn.map((S) => ({ S })) };
  if (w.settled?.length) out[ATTR.settledDeps] = { L: w.settled.map((S) => ({ S })) };
  if (runsAtOnce(w) && w.childCount === undefined) return out;
  out[ATTR.status] = { S: 'waiting' };
  out[ATTR.statusShard] = { S: statusShardKey(item[ATTR.queue]!.S!, LANE.waiting, shard) };
  out[ATTR.runOrder] = { S: item[ATTR.createdAt]!.S! };
  return out;
}
