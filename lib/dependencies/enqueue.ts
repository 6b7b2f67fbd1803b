/**
 * Enqueueing jobs that wait: a job with `dependsOn` (existing jobs, by id), and a parent with its
 * children in one call (fan-in). See docs/design.md, "Dependencies and fan-in".
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { DependencyNotFoundError, EnqueueError, ValidationError } from '../errors.ts';
import { isExpired } from '../model/codec.ts';
import { DEPENDENCY_LIMITS, waitingItem } from '../model/dependencies.ts';
import type { WaitSpec } from '../model/dependencies.ts';
import { traceItemAttributes, withChildEnqueueSpans, withEnqueueSpan } from '../observability/tracing.ts';
import { ATTR } from '../schema.ts';
import type { StoreContext } from '../store/context.ts';
import type { DependencyOutcome } from '../store/count-dependency.ts';
import { dependentsOf } from '../store/outcome-with-dependents.ts';
import { getItems } from '../store/get-job.ts';
import { markChildrenWritten, putChildren } from '../store/put-children.ts';
import { putJob } from '../store/put-job.ts';
import { finishedOutcome, registerDependency, settleDependency } from '../store/register-dependency.ts';
import type { DependencyFailurePolicy, EnqueuedJob, EnqueuedParent, TraceContext } from '../types.ts';
import { mapLimit } from '../util/map-limit.ts';

/** A job built by the queue (validated, its item made), about to be written. */
export interface BuiltJob {
  readonly id: string;
  readonly item: Record<string, AttributeValue>;
  readonly info: EnqueuedJob;
  readonly trace: TraceContext | null;
}

/** Registrations and counts in flight at once. */
const CONCURRENCY = 16;

/**
 * Enqueues `job` waiting for the jobs `dependsOn` names.
 *
 * 1. Reads them (one consistent BatchGetItem per 100): an id without a record is a
 *    {@link DependencyNotFoundError}, one that has 49 jobs waiting for it already a
 *    `ValidationError`; nothing is written.
 * 2. Puts the job (conditional, as every enqueue): `waiting`, with `deps_left` = the unfinished
 *    ones; those already finished are counted in it and listed in `settled_deps`. If none is
 *    unfinished it is written `pending` at once.
 * 3. Registers it on each unfinished one (`registerDependency`); one that finished in between is
 *    counted by this call (`settleDependency`, never twice).
 *
 * A retry with the same idempotency key finds the job and repeats step 3 for every dependency
 * (registrations and counts are idempotent), so an enqueue interrupted after step 2 is completed.
 */
export async function enqueueDependent(ctx: StoreContext, job: BuiltJob, deps: { dependsOn: string[]; onFailure: DependencyFailurePolicy }, notify: (info: EnqueuedJob) => void): Promise<string> {
  const items = await readDependencies(ctx, job.id, deps.dependsOn);
  const finished = deps.dependsOn.map((id) => ({ id, outcome: finishedOutcome(items.get(id)!) }));
  const failed = finished.filter((f) => f.outcome === 'failed');
  const wait: WaitSpec = {
    total: deps.dependsOn.length,
    left: finished.filter((f) => f.outcome === null).length,
    failed: failed.length,
    firstFailed: failed[0]?.id ?? null,
    onFailure: deps.onFailure,
    dependsOn: deps.dependsOn,
    settled: finished.filter((f) => f.outcome !== null).map((f) => f.id),
  };
  const span = { type: job.info.type, queue: job.info.queue, count: 1, explicit: job.trace };
  return withEnqueueSpan(span, async (trace) => {
    const item = { ...waitingItem(job.item, job.info.shard, wait), ...traceItemAttributes(trace) };
    const res = await putJob(ctx, item);
    const toRegister = res.created ? finished.filter((f) => f.outcome === null).map((f) => f.id) : deps.dependsOn;
    await mapLimit(toRegister, CONCURRENCY, (depId) => register(ctx, job.id, depId));
    if ((res.created || res.uncertain) && item[ATTR.status]!.S === 'pending') notify(job.info);
    return job.id;
  });
}

/** Reads the dependencies; refuses missing ones, full ones, and the job itself. */
async function readDependencies(ctx: StoreContext, selfId: string, ids: readonly string[]): Promise<Map<string, Record<string, AttributeValue>>> {
  if (ids.includes(selfId)) throw new ValidationError(`options.dependsOn[${ids.indexOf(selfId)}]`, 'ids of other jobs', 'a job cannot depend on itself');
  const items = await getItems(ctx, ids, true);
  const now = ctx.clock.now();
  const missing = ids.filter((id) => !items.has(id) || isExpired(items.get(id)!, now));
  if (missing.length > 0) throw new DependencyNotFoundError('options.dependsOn', missing);
  const full = ids.findIndex((id) => finishedOutcome(items.get(id)!) === null && !dependentsOf(items.get(id)).includes(selfId) && dependentsOf(items.get(id)).length >= DEPENDENCY_LIMITS.dependentsMax);
  if (full >= 0) throw new ValidationError(`options.dependsOn[${full}]`, `jobs that at most ${DEPENDENCY_LIMITS.dependentsMax - 1} other jobs wait for`, `${DEPENDENCY_LIMITS.dependentsMax} jobs wait for ${ids[full]} already`);
  // A FIFO job's outcome hands its group on in a transaction of its own, which does not count
  // dependents: waiting for one is refused rather than left waiting forever.
  const fifo = ids.findIndex((id) => finishedOutcome(items.get(id)!) === null && items.get(id)![ATTR.fifoSeq] !== undefined);
  if (fifo >= 0) throw new ValidationError(`options.dependsOn[${fifo}]`, 'ids of jobs outside FIFO groups', `${ids[fifo]} is a job of a FIFO group, which cannot be waited for`);
  return items;
}

/** Registers on one dependency, or counts it if it finished first. */
async function register(ctx: StoreContext, selfId: string, depId: string): Promise<void> {
  const r = await registerDependency(ctx, depId, selfId);
  if (r === 'registered') return;
  if (r === 'full') throw new ValidationError('options.dependsOn', `jobs that at most ${DEPENDENCY_LIMITS.dependentsMax - 1} other jobs wait for`, `${DEPENDENCY_LIMITS.dependentsMax} jobs wait for ${depId} already (job ${selfId} was written and waits; cancel it)`);
  // Gone between the read and now (its retention expired): it had finished, outcome unknown.
  const outcome: DependencyOutcome = r === 'gone' ? 'failed' : r;
  await settleDependency(ctx, selfId, depId, outcome);
}

/** A parent and its children, built and validated, about to be written. */
export interface BuiltFanIn {
  readonly parent: BuiltJob;
  readonly children: readonly BuiltJob[];
  readonly onFailure: DependencyFailurePolicy;
}

/**
 * Enqueues a parent and its children (fan-in). A parent of 1,000 children cannot be one
 * transaction (100 actions, 4 MB) nor one batch (25), so the order makes every prefix safe:
 *
 * 1. The parent is put first, `waiting` with `deps_left` = the number of children and
 *    `children_written = false` (conditional put: with an idempotency key, a retry finds it).
 * 2. The children are put with conditional puts, 16 at a time. Their ids derive from the
 *    parent's (`childJobId`), so a retry puts the same ids: those already there are found, not
 *    duplicated (never reset, even if a worker has run them).
 * 3. `children_written = true` on the parent.
 *
 * A caller that crashes between 1 and 3 leaves a parent `waiting` with
 * `dependencies.incomplete = true` (getJob), and the children written so far run and count; the
 * parent runs only once all its children exist and finished: enqueue again with the same
 * idempotency key to complete it (or cancel the parent, which cancels the children written).
 * @throws EnqueueError when some children could not be written (the parent was)
 */
export async function enqueueFanIn(ctx: StoreContext, fanIn: BuiltFanIn, notify: (infos: EnqueuedJob[]) => void): Promise<EnqueuedParent> {
  const { parent, children } = fanIn;
  const wait: WaitSpec = { total: children.length, left: children.length, failed: 0, firstFailed: null, onFailure: fanIn.onFailure, childCount: children.length };
  const span = { type: parent.info.type, queue: parent.info.queue, count: 1, explicit: parent.trace };
  const childIds = children.map((c) => c.id);
  const id = await withEnqueueSpan(span, async (trace) => {
    const res = await putJob(ctx, { ...waitingItem(parent.item, parent.info.shard, wait), ...traceItemAttributes(trace) });
    if (!res.created && !(await isSameFanIn(ctx, parent.id, children.length))) return parent.id;
    const outcome = await withChildEnqueueSpans(trace, children.map((c) => c.info), (contexts) =>
      putChildren(ctx, children.map((c, i) => ({ ...c.item, ...traceItemAttributes(c.trace ?? contexts[i] ?? null) }))),
    );
    notify(children.filter((c) => outcome.written.includes(c.id)).map((c) => c.info));
    if (outcome.notWritten.length > 0 || outcome.unknown.length > 0) {
      throw new EnqueueError(
        `Parent ${parent.id} written; ${outcome.written.length} of ${children.length} children written, ${outcome.notWritten.length} not written, ${outcome.unknown.length} unknown: enqueue again with the same idempotency key to finish`,
        { ids: childIds, written: outcome.written, notWritten: outcome.notWritten, unknown: outcome.unknown },
        { cause: outcome.error },
      );
    }
    await markChildrenWritten(ctx, parent.id);
    return parent.id;
  });
  return { id, childIds };
}

/** True if the job already under the parent's id is a parent of `count` children whose fan-out may be unfinished. */
async function isSameFanIn(ctx: StoreContext, id: string, count: number): Promise<boolean> {
  const item = (await getItems(ctx, [id], true)).get(id);
  return Number(item?.[ATTR.childCount]?.N) === count && item?.[ATTR.childrenWritten]?.BOOL !== true;
}
