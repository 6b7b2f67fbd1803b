/**
 * Job <-> DynamoDB item. Items use plain attribute names (see `ATTR`), the payload and result
 * as native maps, and ISO-8601 times; the index keys are derived here. Pure.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { v5 as uuidv5, v7 as uuidv7 } from 'uuid';
import { ATTR, LANE, encodeReadyOrder, encodeScheduledOrder, statusShardKey } from '../schema.ts';
import type { DependencyState, Job, JobProgress, JobStatus } from '../types.ts';
import type { NormalizedEnqueue } from './validate.ts';

/** Namespace of idempotent job ids (UUID v5 of `<queue>\n<key>`). */
const IDEMPOTENCY_NAMESPACE = '6f1b3c52-3f0e-4a53-9a7e-7d9d3f3c0b11';

/** A new time-ordered job id (UUID v7). */
export function newJobId(): string {
  return uuidv7();
}

/** The id of the job with this idempotency key in this queue: the same key always gives the same id. */
export function idempotentJobId(queue: string, key: string): string {
  return uuidv5(`${queue}\n${key}`, IDEMPOTENCY_NAMESPACE);
}

/** ISO-8601 with milliseconds. */
export const iso = (ms: number) => new Date(ms).toISOString();

/** Marshalling options: JSON values only, undefined dropped. */
export const MARSHALL_OPTIONS = { removeUndefinedValues: true, convertEmptyValues: false } as const;

/** Marshals a plain item. */
export function toItem(plain: Record<string, unknown>): Record<string, AttributeValue> {
  return marshall(plain, MARSHALL_OPTIONS);
}

/** The index sort key of a pending job due at `runAtMs`, written at `nowMs`. */
export function dueRunOrder(priority: number, runAtMs: number, nowMs: number): string {
  return runAtMs <= nowMs ? encodeReadyOrder(priority, runAtMs) : encodeScheduledOrder(priority, runAtMs);
}

/** The plain (unmarshalled) item of a new pending job. */
export function newJobItem(spec: NormalizedEnqueue, id: string, shard: number, nowMs: number): Record<string, unknown> {
  const item: Record<string, unknown> = {
    [ATTR.id]: id,
    [ATTR.type]: spec.type,
    [ATTR.queue]: spec.queue,
    [ATTR.payload]: spec.payload,
    [ATTR.status]: 'pending',
    [ATTR.priority]: spec.priority,
    [ATTR.attempts]: 0,
    [ATTR.maxAttempts]: spec.maxAttempts,
    [ATTR.timeoutMs]: spec.timeoutMs,
    [ATTR.backoffBaseMs]: spec.backoff.baseMs,
    [ATTR.backoffMaxMs]: spec.backoff.maxMs,
    [ATTR.createdAt]: iso(nowMs),
    [ATTR.updatedAt]: iso(nowMs),
    [ATTR.runAt]: iso(spec.runAtMs),
    [ATTR.statusShard]: statusShardKey(spec.queue, LANE.due, shard),
    [ATTR.runOrder]: dueRunOrder(spec.priority, spec.runAtMs, nowMs),
  };
  if (spec.idempotencyKey !== null) item[ATTR.idempotencyKey] = spec.idempotencyKey;
  if (spec.group !== null) item[ATTR.group] = spec.group;
  if (spec.debounce) item[ATTR.debounceKey] = spec.debounce.key;
  return item;
}

const date = (v: unknown) => (typeof v === 'string' ? new Date(v) : null);
const num = (v: unknown, d = 0) => (typeof v === 'number' ? v : d);

/** Reads a job from a marshalled item. */
export function jobFromItem<P = unknown, R = unknown>(item: Record<string, AttributeValue>): Job<P, R> {
  return jobFromPlain<P, R>(unmarshall(item));
}

/** Reads a job from an unmarshalled item. */
export function jobFromPlain<P = unknown, R = unknown>(o: Record<string, unknown>): Job<P, R> {
  const progress = o[ATTR.progress] as Record<string, unknown> | undefined;
  const ttl = o[ATTR.ttl];
  return {
    id: String(o[ATTR.id]),
    type: String(o[ATTR.type]),
    queue: String(o[ATTR.queue]),
    payload: (o[ATTR.payload] ?? null) as P,
    status: o[ATTR.status] as JobStatus,
    priority: num(o[ATTR.priority]),
    attempts: num(o[ATTR.attempts]),
    maxAttempts: num(o[ATTR.maxAttempts], 1),
    timeoutMs: num(o[ATTR.timeoutMs]),
    backoff: { baseMs: num(o[ATTR.backoffBaseMs]), maxMs: num(o[ATTR.backoffMaxMs]) },
    runAt: date(o[ATTR.runAt]) ?? new Date(0),
    createdAt: date(o[ATTR.createdAt]) ?? new Date(0),
    startedAt: date(o[ATTR.startedAt]),
    finishedAt: date(o[ATTR.finishedAt]),
    error: typeof o[ATTR.error] === 'string' ? (o[ATTR.error] as string) : null,
    result: (o[ATTR.result] ?? null) as R | null,
    progress: progress
      ? ({
          current: num(progress.current),
          ...(typeof progress.total === 'number' ? { total: progress.total } : {}),
          ...(typeof progress.message === 'string' ? { message: progress.message } : {}),
          updatedAt: date(progress.updated_at) ?? new Date(0),
        } satisfies JobProgress)
      : null,
    idempotencyKey: typeof o[ATTR.idempotencyKey] === 'string' ? (o[ATTR.idempotencyKey] as string) : null,
    leaseUntil: date(o[ATTR.leaseUntil]),
    expiresAt: typeof ttl === 'number' ? new Date(ttl * 1000) : null,
    trace: typeof o[ATTR.traceParent] === 'string' ? { traceparent: o[ATTR.traceParent] as string, ...(typeof o[ATTR.traceState] === 'string' ? { tracestate: o[ATTR.traceState] as string } : {}) } : null,
    group: typeof o[ATTR.group] === 'string' ? (o[ATTR.group] as string) : null,
    debounceKey: typeof o[ATTR.debounceKey] === 'string' ? (o[ATTR.debounceKey] as string) : null,
    fifoSeq: typeof o[ATTR.fifoSeq] === 'number' ? (o[ATTR.fifoSeq] as number) : null,
    dependencies: dependencyState(o),
    parentId: typeof o[ATTR.parentId] === 'string' ? (o[ATTR.parentId] as string) : null,
    dependents: Array.isArray(o[ATTR.dependents]) ? (o[ATTR.dependents] as unknown[]).map(String) : [],
    dependentsNotified: o[ATTR.dependentsNotified] === true,
  };
}

/** What a job waits for, from its counters (null for a job that never waited). */
function dependencyState(o: Record<string, unknown>): DependencyState | null {
  const total = o[ATTR.depsTotal];
  if (typeof total !== 'number') return null;
  const left = Math.max(0, num(o[ATTR.depsLeft]));
  const failed = num(o[ATTR.depsFailed]);
  const isParent = typeof o[ATTR.childCount] === 'number';
  return {
    kind: isParent ? 'children' : 'jobs',
    total,
    done: Math.max(0, total - left - failed),
    failed,
    left,
    onFailure: o[ATTR.onDepFailure] === 'continue' ? 'continue' : 'fail',
    firstFailedId: typeof o[ATTR.firstFailedDep] === 'string' ? (o[ATTR.firstFailedDep] as string) : null,
    incomplete: isParent && o[ATTR.childrenWritten] !== true,
    ids: Array.isArray(o[ATTR.dependsOn]) ? (o[ATTR.dependsOn] as unknown[]).map(String) : null,
  };
}

/** True if TTL may already have deleted this item (DynamoDB deletes expired items days late). */
export function isExpired(o: Record<string, unknown> | Record<string, AttributeValue>, nowMs: number): boolean {
  const raw = (o as Record<string, unknown>)[ATTR.ttl];
  const ttl = typeof raw === 'number' ? raw : typeof raw === 'object' && raw && 'N' in raw ? Number((raw as { N: string }).N) : undefined;
  return ttl !== undefined && ttl * 1000 <= nowMs;
}
