/**
 * The drain: claim due jobs and run them, `concurrency` at a time, until none is due (or a limit
 * is reached).
 *
 * Claims are spread over the shards: each sweep visits the queue's shards in a fresh random
 * order, so concurrent workers start in different places; a worker that loses a claim race
 * leaves that shard at once instead of following the winner down the same list.
 */
import { randomUUID } from 'node:crypto';
import { mapLimit } from '../util/map-limit.ts';
import { leaseUntilMs, MAX_LEASE_GRACE_MS } from '../model/state.ts';
import { claimJob } from '../store/claim-job.ts';
import type { StoreContext } from '../store/context.ts';
import { queryDue } from '../store/query-due.ts';
import type { Candidate, DueRead } from '../store/query-due.ts';
import type { Handlers, ProcessJobsOptions, ProcessReport, WorkerEvent } from '../types.ts';
import { handlerObject, knownTypes, runJob } from './run-job.ts';
import type { RunOutcome } from './run-job.ts';

/** Extra drain settings used by long-running workers. */
export interface DrainInternals {
  /**
   * Resolves early when new work may be due (prompt pickup); the drain re-sweeps. The drain aborts
   * `signal` once it stops waiting, so the source can drop its listener.
   */
  readonly wakeup?: (signal: AbortSignal) => Promise<void>;
  /**
   * Shards where jobs were just written (prompt pickup): after a wake-up the drain reads these
   * first, then sweeps all shards as usual. Calling it clears the hints.
   */
  readonly takeShardHints?: () => readonly number[];
}

/** Candidates older than this are read again before claiming (others may have taken them). */
const MAX_CANDIDATE_AGE_MS = 1_000;
/** Shard queries in flight at once during a sweep. */
const SWEEP_READ_CONCURRENCY = 8;
/** While jobs run and nothing else is due, look again this often (plain drains). */
const BUSY_RECHECK_MS = 2_000;
/** Consecutive failed sweeps before the drain gives up and throws. */
const MAX_ERROR_STREAK = 8;

/**
 * Waits for the first of: `ms` elapsing, a wake-up, `abortSignal`, or any of `others`; then
 * removes every timer and listener it set (a long-running worker waits millions of times).
 */
async function waitForAny(ms: number, wakeup: DrainInternals['wakeup'], abortSignal: AbortSignal | undefined, others: Promise<unknown>[] = []): Promise<void> {
  const done = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const waits: Promise<unknown>[] = [...others];
  if (Number.isFinite(ms)) waits.push(new Promise<void>((r) => (timer = setTimeout(r, Math.max(0, ms)))));
  if (wakeup) waits.push(wakeup(done.signal));
  if (abortSignal) {
    if (abortSignal.aborted) return;
    waits.push(
      new Promise<void>((r) => {
        onAbort = () => r();
        abortSignal.addEventListener('abort', onAbort, { once: true });
      }),
    );
  }
  try {
    if (waits.length > 0) await Promise.race(waits);
  } finally {
    if (timer) clearTimeout(timer);
    if (onAbort) abortSignal!.removeEventListener('abort', onAbort);
    done.abort();
  }
}

/** Drains due jobs of one queue. See {@link ProcessJobsOptions}. */
export async function drain(ctx: StoreContext, handlers: Handlers, options: ProcessJobsOptions = {}, internals: DrainInternals = {}): Promise<ProcessReport> {
  const queue = options.queue ?? 'default';
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 4));
  const maxJobs = options.maxJobs ?? Infinity;
  const started = ctx.clock.now();
  const budgetEnd = options.timeBudgetMs !== undefined ? started + options.timeBudgetMs : Infinity;
  const graceMs = Math.min(options.leaseGraceMs ?? MAX_LEASE_GRACE_MS, MAX_LEASE_GRACE_MS);
  const workerId = options.workerId ?? `worker-${randomUUID().slice(0, 8)}`;
  const batchSize = options.batchSize ?? 25;
  const sweepClaimLimit = Math.max(batchSize, concurrency * 4);
  const waitForDueWithinMs = options.waitForDueWithinMs ?? 0;
  const pollIntervalMs = options.pollIntervalMs ?? 0;
  const emit = (e: WorkerEvent) => {
    try {
      options.onEvent?.(e);
    } catch {
      /* an event sink must not break the drain */
    }
  };
  const handlerTypes = knownTypes(handlers as Record<string, unknown>);

  // Shutdown: stop claiming at once; let running jobs finish for a grace period, then abort them.
  const shutdown = new AbortController();
  let shutdownTimer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    shutdownTimer = setTimeout(() => shutdown.abort(), options.shutdownGraceMs ?? 5_000);
  };
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });

  const counts = { claimed: 0, completed: 0, retried: 0, failed: 0, stale: 0, lostRaces: 0, queries: 0, deferred: 0 };
  /** Jobs left alone because they could not finish by `finishBy` (it only gets closer). */
  const deferred = new Set<string>();
  const excludeDeferred = (c: Candidate) => deferred.has(c.id);
  const inFlight = new Set<Promise<void>>();
  /** Jobs finished so far: a sweep that overlapped a finish may have read a stale picture. */
  let settled = 0;
  let stoppedBecause: ProcessReport['stoppedBecause'] = 'drained';

  const start = (candidate: Candidate, claim: NonNullable<Awaited<ReturnType<typeof claimJob>>>) => {
    emit({ kind: 'claimed', job: claim.job, pickupDelayMs: Math.max(0, ctx.clock.now() - candidate.runAtMs) });
    // Own properties only: a job type such as "constructor" must not find Object.prototype's.
    const entry = Object.hasOwn(handlers, claim.job.type) ? handlerObject((handlers as Record<string, Parameters<typeof handlerObject>[0]>)[claim.job.type]) : undefined;
    const p: Promise<void> = runJob(ctx, claim, entry, handlerTypes, { leaseGraceMs: graceMs, shutdownSignal: shutdown.signal, emit, finishBy: options.finishBy })
      .then((outcome: RunOutcome) => {
        if (outcome === 'completed') counts.completed++;
        else if (outcome === 'retried') counts.retried++;
        else if (outcome === 'failed') counts.failed++;
        else if (outcome === 'stale') counts.stale++;
      })
      .catch((err: unknown) => {
        // A store error while writing the outcome: the lease will run out and the job be retried.
        emit({ kind: 'error', error: err instanceof Error ? err : new Error(String(err)), job: claim.job });
      })
      .finally(() => {
        inFlight.delete(p);
        settled++;
      });
    inFlight.add(p);
  };

  const stopReason = (): ProcessReport['stoppedBecause'] | null => {
    if (options.signal?.aborted) return 'aborted';
    if (counts.claimed >= maxJobs) return 'maxJobs';
    if (ctx.clock.now() >= budgetEnd) return 'timeBudget';
    return null;
  };

  /** A shard's claimable candidates as last read, and a per-sweep random rank for ties. */
  interface ShardView {
    readonly shard: number;
    read: DueRead;
    at: number;
    next: number;
    readonly tie: number;
  }
  const readShard = async (shard: number): Promise<DueRead> => {
    const read = await queryDue(ctx, queue, shard, batchSize, excludeDeferred);
    counts.queries += read.queries;
    return read;
  };
  /** Reads every shard (or only `only`, if given); returns the views that have claimable candidates. */
  const sweep = async (only: readonly number[] = []): Promise<{ views: ShardView[]; nextLeaseMs: number | null; nextByShard: Map<number, number> }> => {
    const hinted = [...new Set(only)].filter((s) => Number.isInteger(s) && s >= 0 && s < ctx.shardCount);
    const shards = hinted.length > 0 ? hinted : Array.from({ length: ctx.shardCount }, (_, i) => i);
    const views = await mapLimit(shards, SWEEP_READ_CONCURRENCY, async (shard): Promise<ShardView> => {
      const read = await readShard(shard);
      return { shard, read, at: ctx.clock.now(), next: 0, tie: ctx.random() };
    });
    let nextLeaseMs: number | null = null;
    const nextByShard = new Map<number, number>();
    for (const v of views) {
      if (v.read.nextDueMs === null) continue;
      nextLeaseMs = Math.min(nextLeaseMs ?? Infinity, v.read.nextDueMs);
      nextByShard.set(v.shard, v.read.nextDueMs);
    }
    return { views: views.filter((v) => v.read.candidates.length > 0), nextLeaseMs, nextByShard };
  };
  /**
   * The shard whose next candidate should be claimed: highest priority first across all shards;
   * among equal priorities, this worker's random shard rank, so that concurrent workers work
   * through different shards instead of racing for the same oldest job.
   */
  const pickShard = (views: ShardView[]): ShardView | undefined => {
    let best: ShardView | undefined;
    for (const v of views) {
      const c = v.read.candidates[v.next];
      if (!c) continue;
      const b = best?.read.candidates[best.next];
      if (!best || !b || c.priority > b.priority || (c.priority === b.priority && v.tie < best.tie)) best = v;
    }
    return best;
  };

  /** Shards known to hold a job due when the current wait ends (set by `idle`). */
  const dueShards: number[] = [];
  /** Waits when nothing is due; returns false if the drain should end instead. */
  const idle = async (nextLeaseMs: number | null, nextByShard: Map<number, number>): Promise<boolean> => {
    if (pollIntervalMs <= 0 && waitForDueWithinMs <= 0) return false;
    const now = ctx.clock.now();
    const nextDue = nextLeaseMs ?? Infinity;
    let waitUntil: number;
    if (pollIntervalMs > 0) waitUntil = Math.min(nextDue, now + pollIntervalMs, budgetEnd);
    else if (nextDue - now <= waitForDueWithinMs && nextDue < budgetEnd) waitUntil = nextDue;
    else return false;
    // The shards whose job falls due by then are read first when the wait ends.
    for (const [shard, at] of nextByShard) if (at <= waitUntil) dueShards.push(shard);
    if (waitUntil > now) await waitForAny(waitUntil - now, internals.wakeup, options.signal);
    return true;
  };

  let errorStreak = 0;
  let fatal: unknown;
  try {
    outer: for (;;) {
      const reason = stopReason();
      if (reason) {
        stoppedBecause = reason;
        break;
      }
      let claimedThisSweep = 0;
      try {
        const settledBefore = settled;
        const lostBefore = counts.lostRaces;
        const hinted = [...(internals.takeShardHints?.() ?? []), ...dueShards.splice(0)];
        const { views, nextLeaseMs, nextByShard } = await sweep(hinted);
        let live = views;
        while (live.length > 0 && claimedThisSweep < sweepClaimLimit) {
          if (stopReason()) continue outer;
          if (inFlight.size >= concurrency) {
            await Promise.race(inFlight);
            continue;
          }
          const view = pickShard(live);
          if (!view) {
            // Every shard's list is used up: read again those that had more than one page.
            const more = live.filter((v) => v.read.truncated);
            if (more.length === 0) break;
            for (const v of more) {
              v.read = await readShard(v.shard);
              v.at = ctx.clock.now();
              v.next = 0;
            }
            live = more.filter((v) => v.read.candidates.length > 0);
            continue;
          }
          if (ctx.clock.now() - view.at > MAX_CANDIDATE_AGE_MS) {
            // Others may have taken these meanwhile: read this shard again before claiming.
            view.read = await readShard(view.shard);
            view.at = ctx.clock.now();
            view.next = 0;
            continue;
          }
          const candidate = view.read.candidates[view.next++]!;
          if (options.finishBy !== undefined && leaseUntilMs(ctx.clock.now(), candidate.timeoutMs, graceMs) > options.finishBy) {
            if (!deferred.has(candidate.id)) counts.deferred++;
            deferred.add(candidate.id);
            continue;
          }
          const claim = await claimJob(ctx, candidate, workerId, graceMs);
          if (!claim) {
            counts.lostRaces++;
            live = live.filter((v) => v !== view); // leave this shard: another worker is in it
            continue;
          }
          counts.claimed++;
          claimedThisSweep++;
          start(candidate, claim);
        }
        errorStreak = 0;
        if (claimedThisSweep > 0 || hinted.length > 0) continue; // a hinted read is followed by a full sweep
        if (inFlight.size > 0) {
          // Running jobs may schedule retries or free up; look again when one finishes, on a
          // wake-up, or after a while (new jobs may arrive while a long job holds a slot).
          const recheckAt = Math.min(nextLeaseMs ?? Infinity, ctx.clock.now() + (pollIntervalMs > 0 ? pollIntervalMs : BUSY_RECHECK_MS));
          await waitForAny(recheckAt - ctx.clock.now(), internals.wakeup, undefined, [...inFlight]);
          continue;
        }
        // A job finished mid-sweep (maybe scheduling a retry), or a race was lost (another worker
        // changed a job after it was read): the sweep's picture is stale, so look again.
        if (settled !== settledBefore || counts.lostRaces !== lostBefore) continue;
        if (!(await idle(nextLeaseMs, nextByShard))) {
          stoppedBecause = 'drained';
          break;
        }
      } catch (err) {
        // DynamoDB failed past the SDK's own retries: report, back off, and keep going.
        emit({ kind: 'error', error: err instanceof Error ? err : new Error(String(err)) });
        errorStreak++;
        if (errorStreak > MAX_ERROR_STREAK) {
          fatal = err;
          break;
        }
        await waitForAny(Math.min(5_000, 100 * 2 ** errorStreak), undefined, options.signal);
      }
    }
    // Giving up on DynamoDB: running jobs get the shutdown grace, then are aborted and released.
    if (fatal !== undefined) onAbort();
    // Let running jobs finish (they are aborted and released if the shutdown grace runs out).
    while (inFlight.size > 0) await Promise.race(inFlight);
    if (fatal !== undefined) throw fatal;
  } finally {
    if (shutdownTimer) clearTimeout(shutdownTimer);
    options.signal?.removeEventListener('abort', onAbort);
  }
  return { ...counts, durationMs: ctx.clock.now() - started, stoppedBecause };
}
