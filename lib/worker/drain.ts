/**
 * The drain: claim due jobs and run them, `concurrency` at a time, until none is due (or a limit
 * is reached). This file wires the drain's parts (`lib/worker/drain/`) to DynamoDB and the
 * handlers:
 *
 * - `candidates.ts`, where candidates come from: each shard's list as last read, continued or
 *   re-read only when used up or stale, and the pick (priority across shards, then this worker's
 *   own shard order);
 * - `claims.ts` and `contention.ts`, who claims what: several distinct candidates at once, up to
 *   the free slots, with a per-shard claim window and a back-off after a lost race, so that
 *   workers keep to different shards (`shard-order.ts`, rendezvous hashing of their ids);
 * - `claim-memory.ts`: what this worker holds or just tried, never offered again by a lagging index;
 * - `pool.ts`, the running jobs; `engine.ts`, the loop of rounds that ties them together.
 */
import { randomUUID } from 'node:crypto';
import { MAX_LEASE_GRACE_MS } from '../model/state.ts';
import { tryClaim } from '../store/claim-job.ts';
import type { Claim } from '../store/claim-job.ts';
import type { StoreContext } from '../store/context.ts';
import { queryDue } from '../store/query-due.ts';
import type { Candidate } from '../store/query-due.ts';
import type { HandlerObject, Handlers, ProcessJobsOptions, ProcessReport, WorkerEvent } from '../types.ts';
import { DrainLoop } from './drain/engine.ts';
import { limitGateFor } from './drain/limit-store.ts';
import type { DrainPorts, DrainSettings } from './drain/engine.ts';
import type { Wakeup } from './drain/wait.ts';
import { handlerObject, knownTypes, releaseUnstarted, runJob } from './run-job.ts';

/** Extra drain settings used by long-running workers. */
export interface DrainInternals {
  /**
   * Resolves early when new work may be due (prompt pickup); the drain re-sweeps. The drain aborts
   * `signal` once it stops waiting, so the source can drop its listener.
   */
  readonly wakeup?: Wakeup;
  /**
   * Shards where jobs were just written (prompt pickup): after a wake-up the drain reads these
   * first, then sweeps all shards as usual. Calling it clears the hints.
   */
  readonly takeShardHints?: () => readonly number[];
}

/**
 * Shutdown: stop claiming at once (the drain watches `signal`); running jobs get `graceMs` to
 * finish, then their signals abort (`aborted`) and they are released.
 */
function shutdownOn(signal: AbortSignal | undefined, graceMs: number): { readonly aborted: AbortSignal; begin(): void; dispose(): void } {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const begin = () => {
    timer ??= setTimeout(() => controller.abort(), graceMs);
  };
  if (signal?.aborted) begin();
  else signal?.addEventListener('abort', begin, { once: true });
  return {
    aborted: controller.signal,
    begin,
    dispose: () => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', begin);
    },
  };
}

/** The handler entry for a job type: own properties only (a type "constructor" must not find Object.prototype's). */
function entryFor(handlers: Handlers, type: string): HandlerObject | undefined {
  return Object.hasOwn(handlers, type) ? handlerObject((handlers as Record<string, Parameters<typeof handlerObject>[0]>)[type]) : undefined;
}

/** An entry that fails the job with `refusal` instead of running it (its `onFailed` still runs). */
function refusingEntry(entry: HandlerObject | undefined, refusal: Error): HandlerObject {
  return {
    handler: () => {
      throw refusal;
    },
    ...(entry?.onFailed ? { onFailed: entry.onFailed } : {}),
  };
}

/**
 * One shard re-read from its head (2 queries) per `max(this, 2 x concurrency)` claims: about 0.06
 * queries per job at concurrency 16, whatever the number of workers; every shard's head is re-read
 * at least every `shardCount` times that many claims (512 at concurrency 16, 16 shards), or every
 * `shardCount` x {@link REFRESH_MIN_INTERVAL_MS} if that is longer.
 */
const MIN_REFRESH_EVERY_CLAIMS = 16;

/**
 * The least time between two such re-reads: a worker claiming faster than 32 jobs per 100 ms (320
 * jobs/s at concurrency 16) re-reads 10 shards per second, so its queries per job fall as it
 * speeds up (at 750 jobs/s, 0.027 instead of 0.063); each shard's head is still re-read every
 * 1.6 s (16 shards) at most.
 */
export const REFRESH_MIN_INTERVAL_MS = 100;

function settingsOf(ctx: StoreContext, options: ProcessJobsOptions, internals: DrainInternals): DrainSettings {
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 4));
  return {
    clock: ctx.clock,
    shardCount: ctx.shardCount,
    workerId: options.workerId ?? `worker-${randomUUID().slice(0, 8)}`,
    concurrency,
    maxJobs: options.maxJobs ?? Infinity,
    budgetEnd: options.timeBudgetMs !== undefined ? ctx.clock.now() + options.timeBudgetMs : Infinity,
    finishBy: options.finishBy,
    workerBudgetMs: options.workerBudgetMs,
    leaseGraceMs: Math.min(options.leaseGraceMs ?? MAX_LEASE_GRACE_MS, MAX_LEASE_GRACE_MS),
    refreshEveryClaims: Math.max(MIN_REFRESH_EVERY_CLAIMS, 2 * concurrency),
    refreshMinIntervalMs: REFRESH_MIN_INTERVAL_MS,
    waitForDueWithinMs: options.waitForDueWithinMs ?? 0,
    pollIntervalMs: options.pollIntervalMs ?? 0,
    signal: options.signal,
    wakeup: internals.wakeup,
    takeShardHints: internals.takeShardHints,
  };
}

/**
 * Candidates read per shard query (`ProcessJobsOptions.batchSize`). 50 rather than 25: a query
 * costs both sides about as much CPU as a write, whatever it returns, so a busy worker that reads
 * 50 at a time makes fewer of them (1 worker x 16 in interleaved probe runs: 0.089 -> 0.064-0.067
 * queries per job, and 13-14% more jobs/s in 2 of 3 pairs); read units per candidate stay the same (~150-byte index
 * entries: 0.5 RRU per 4 KB), and a list is still continued once fewer than `concurrency` remain.
 */
export const DEFAULT_BATCH_SIZE = 50;

/** Drains due jobs of one queue. See {@link ProcessJobsOptions}. */
export async function drain(ctx: StoreContext, handlers: Handlers, options: ProcessJobsOptions = {}, internals: DrainInternals = {}): Promise<ProcessReport> {
  const queue = options.queue ?? 'default';
  const settings = settingsOf(ctx, options, internals);
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const emit = (e: WorkerEvent) => {
    try {
      options.onEvent?.(e);
    } catch {
      /* an event sink must not break the drain */
    }
  };
  const handlerTypes = knownTypes(handlers as Record<string, unknown>);
  const shutdown = shutdownOn(options.signal, options.shutdownGraceMs ?? 5_000);
  let loop: DrainLoop | undefined;
  const gate = limitGateFor(ctx, queue, options.limits ?? ctx.limits, settings.leaseGraceMs);
  const run = (claim: Claim, refusal: Error | undefined) => {
    const entry = entryFor(handlers, claim.job.type);
    const extendSlots = gate ? (token: string, lease: number) => gate.extend(token, lease) : undefined;
    return runJob(ctx, claim, refusal ? refusingEntry(entry, refusal) : entry, handlerTypes, { leaseGraceMs: settings.leaseGraceMs, shutdownSignal: shutdown.aborted, emit, finishBy: options.finishBy, extendSlots });
  };
  const ports: DrainPorts = {
    read: (shard, from) => queryDue(ctx, queue, shard, batchSize, (c: Candidate) => loop!.excludes(c), from),
    claim: (c) => (gate ? gate.claim(c, (fixed) => tryClaim(ctx, c, settings.workerId, settings.leaseGraceMs, fixed)) : tryClaim(ctx, c, settings.workerId, settings.leaseGraceMs)),
    run: gate ? (_c: Candidate, claim: Claim, refusal: Error | undefined) => gate.run(claim.token, () => run(claim, refusal), shutdown.aborted, (event) => releaseUnstarted(ctx, claim).finally(() => emit(event))) : (_c: Candidate, claim: Claim, refusal: Error | undefined) => run(claim, refusal),
    ...(gate ? { limits: gate } : {}),
    emit,
  };
  loop = new DrainLoop(ports, settings);
  try {
    return await loop.run(() => shutdown.begin());
  } finally {
    shutdown.dispose();
  }
}
