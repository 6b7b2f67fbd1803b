/**
 * The drain: claim due jobs and run them, `concurrency` at a time, until none is due (or a limit
 * is reached).
 *
 * Claims are spread over the shards: each sweep visits the queue's shards in a fresh random
 * order, so concurrent workers start in different places; a worker that loses a claim race
 * leaves that shard at once instead of following the winner down the same list.
 */
import { randomUUID } from 'node:crypto';
import { leaseUntilMs, MAX_LEASE_GRACE_MS } from '../model/state.ts';
import { claimJob } from '../store/claim-job.ts';
import type { StoreContext } from '../store/context.ts';
import { nextScheduledMs, queryDue } from '../store/query-due.ts';
import type { Candidate } from '../store/query-due.ts';
import type { Handlers, ProcessJobsOptions, ProcessReport, WorkerEvent } from '../types.ts';
import { handlerObject, knownTypes, runJob } from './run-job.ts';
import type { RunOutcome } from './run-job.ts';

/** Extra drain settings used by long-running workers. */
export interface DrainInternals {
  /** Resolves early when new work may be due (prompt pickup); the drain re-sweeps. */
  readonly wakeup?: () => Promise<void>;
}

/** Candidates older than this are read again before claiming (others may have taken them). */
const MAX_CANDIDATE_AGE_MS = 1_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

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

  const counts = { claimed: 0, completed: 0, retried: 0, failed: 0, stale: 0, lostRaces: 0, queries: 0 };
  const inFlight = new Set<Promise<void>>();
  let stoppedBecause: ProcessReport['stoppedBecause'] = 'drained';

  const start = (candidate: Candidate, claim: NonNullable<Awaited<ReturnType<typeof claimJob>>>) => {
    emit({ kind: 'claimed', job: claim.job, pickupDelayMs: Math.max(0, ctx.clock.now() - candidate.runAtMs) });
    const entry = handlerObject((handlers as Record<string, Parameters<typeof handlerObject>[0]>)[claim.job.type]);
    const p: Promise<void> = runJob(ctx, claim, entry, handlerTypes, { leaseGraceMs: graceMs, shutdownSignal: shutdown.signal, emit })
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
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };

  const stopReason = (): ProcessReport['stoppedBecause'] | null => {
    if (options.signal?.aborted) return 'aborted';
    if (counts.claimed >= maxJobs) return 'maxJobs';
    if (ctx.clock.now() >= budgetEnd) return 'timeBudget';
    return null;
  };

  let order: number[] = [];
  let pos = 0;
  let claimedThisSweep = false;
  let earliestLease: number | null = null;
  const newSweep = () => {
    order = Array.from({ length: ctx.shardCount }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(ctx.random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    pos = 0;
    claimedThisSweep = false;
    earliestLease = null;
  };
  newSweep();

  try {
    outer: for (;;) {
      const reason = stopReason();
      if (reason) {
        stoppedBecause = reason;
        break;
      }
      if (pos >= order.length) {
        // A whole sweep done.
        if (claimedThisSweep) {
          newSweep();
          continue;
        }
        if (inFlight.size > 0) {
          // Running jobs may schedule retries or free slots; look again when one finishes.
          await Promise.race([...inFlight, ...(internals.wakeup ? [internals.wakeup()] : [])]);
          newSweep();
          continue;
        }
        // Nothing due anywhere. A plain drain stops here. A polling worker (`pollIntervalMs`)
        // sleeps until the next due time it knows of, a wake-up, or the poll interval; a
        // waiting drain (`waitForDueWithinMs`) sleeps only if a job is due within its window.
        if (pollIntervalMs <= 0 && waitForDueWithinMs <= 0) {
          stoppedBecause = 'drained';
          break;
        }
        const nexts = await Promise.all(order.map((s) => nextScheduledMs(ctx, queue, s)));
        counts.queries += order.length;
        const now = ctx.clock.now();
        const known = [...nexts, earliestLease].filter((v): v is number => v !== null);
        const nextDue = known.length ? Math.min(...known) : Infinity;
        let waitUntil: number;
        if (pollIntervalMs > 0) waitUntil = Math.min(nextDue, now + pollIntervalMs, budgetEnd);
        else if (nextDue - now <= waitForDueWithinMs && nextDue < budgetEnd) waitUntil = nextDue;
        else {
          stoppedBecause = 'drained';
          break;
        }
        if (waitUntil > now) {
          const waits: Promise<unknown>[] = [sleep(waitUntil - now)];
          if (internals.wakeup) waits.push(internals.wakeup());
          if (options.signal) waits.push(new Promise((r) => options.signal!.addEventListener('abort', r, { once: true })));
          await Promise.race(waits);
        }
        newSweep();
        continue;
      }

      const shard = order[pos++]!;
      let read = await queryDue(ctx, queue, shard, batchSize);
      counts.queries += read.queries;
      if (read.nextDueMs !== null) earliestLease = Math.min(earliestLease ?? Infinity, read.nextDueMs);
      let readAt = ctx.clock.now();
      let i = 0;
      while (i < read.candidates.length) {
        const reason2 = stopReason();
        if (reason2) continue outer;
        if (inFlight.size >= concurrency) {
          await Promise.race(inFlight);
          if (ctx.clock.now() - readAt > MAX_CANDIDATE_AGE_MS) {
            read = await queryDue(ctx, queue, shard, batchSize);
            counts.queries += read.queries;
            readAt = ctx.clock.now();
            i = 0;
          }
          continue;
        }
        const candidate = read.candidates[i++]!;
        if (options.finishBy !== undefined && leaseUntilMs(ctx.clock.now(), candidate.timeoutMs, graceMs) > options.finishBy) continue;
        const claim = await claimJob(ctx, candidate, workerId, graceMs);
        if (!claim) {
          counts.lostRaces++;
          break; // leave this shard: another worker is working through it
        }
        counts.claimed++;
        claimedThisSweep = true;
        start(candidate, claim);
      }
    }
    // Let running jobs finish (they are aborted and released if the shutdown grace runs out).
    while (inFlight.size > 0) await Promise.race(inFlight);
  } finally {
    if (shutdownTimer) clearTimeout(shutdownTimer);
    options.signal?.removeEventListener('abort', onAbort);
  }
  return { ...counts, durationMs: ctx.clock.now() - started, stoppedBecause };
}
