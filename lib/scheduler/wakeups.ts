/**
 * Prompt pickup and delayed-job wake-ups, as a pure plan: given pending jobs just written (new
 * jobs, retries with backoff, redriven or released jobs), which queues to kick now and which
 * one-time wake-ups to make sure exist. The stream Lambda (AWS) and the local scheduler both
 * execute this plan, so they behave the same.
 *
 * EventBridge Scheduler invokes a target somewhere within the minute it is set for ("60 second
 * precision": `at(1:00)` fires between 1:00:00 and 1:00:59). So a job due in minute M (the
 * bucket) gets a wake-up `at(M - 1 minute)`: it fires before M starts, never after the job is
 * due, and the woken drain waits (`waitForDueWithinMs`, at most {@link MAX_WAKE_WAIT_MS}) until
 * each job of the bucket is due. A million jobs delayed into the same minute make one schedule.
 */
import { createHash } from 'node:crypto';
import type { WakeEvent } from './port.ts';

/** A pending job as the planner sees it. */
export interface PendingJobInfo {
  readonly queue: string;
  /** Epoch ms at which the job falls due. */
  readonly runAtMs: number;
  /** The index shard it was written to, if known: a kicked worker reads it first. */
  readonly shard?: number;
}

/** Options of {@link planWakeups}. */
export interface WakeupPlanOptions {
  /**
   * Width of a wake-up bucket (and the scheduler's firing precision); one schedule per queue per
   * bucket, set one bucket ahead of it. Tests of the local emulation use a few seconds.
   * @default 60000 (EventBridge Scheduler's precision)
   */
  readonly bucketMs?: number;
  /**
   * A wake-up closer than this to now is replaced by a kick now (the woken drain waits for the
   * job); keeps schedules from being created for times already (nearly) past.
   * @default 5000
   */
  readonly minLeadMs?: number;
}

/** What to do for a set of pending jobs. */
export interface WakeupPlan {
  /** Queues whose worker should drain now (with the shards holding the due jobs), sorted by queue. */
  readonly kick: readonly { readonly queue: string; readonly shards: readonly number[] }[];
  /** One-time wake-ups to ensure, one per queue and bucket, sorted by time then queue. */
  readonly wakeAt: readonly { readonly queue: string; readonly atMs: number }[];
}

/** Default bucket width. */
export const WAKE_BUCKET_MS = 60_000;
/** Default minimum lead of a wake-up. */
export const WAKE_MIN_LEAD_MS = 5_000;

/**
 * The longest a kicked or woken drain may have to wait for the job that caused it: two buckets
 * (the wake-up fires up to a bucket before the job's bucket) plus the minimum lead. A worker
 * invoked with a {@link WakeEvent} should pass at least this as `waitForDueWithinMs`.
 */
export const MAX_WAKE_WAIT_MS = 2 * WAKE_BUCKET_MS + WAKE_MIN_LEAD_MS;

/**
 * Plans kicks and wake-ups for pending jobs.
 * @example
 * planWakeups([{ queue: 'default', runAtMs: now }, { queue: 'mail', runAtMs: now + 3_600_000 }], now)
 * // { kick: [{ queue: 'default', shards: [] }], wakeAt: [{ queue: 'mail', atMs: <start of that minute> }] }
 */
export function planWakeups(jobs: readonly PendingJobInfo[], nowMs: number, options: WakeupPlanOptions = {}): WakeupPlan {
  const bucketMs = options.bucketMs ?? WAKE_BUCKET_MS;
  const minLeadMs = options.minLeadMs ?? WAKE_MIN_LEAD_MS;
  const kick = new Map<string, Set<number>>();
  const wakes = new Map<string, { queue: string; atMs: number }>();
  for (const job of jobs) {
    const atMs = Math.floor(job.runAtMs / bucketMs) * bucketMs - bucketMs;
    if (job.runAtMs <= nowMs || atMs - nowMs < minLeadMs) {
      const shards = kick.get(job.queue) ?? new Set<number>();
      if (job.shard !== undefined) shards.add(job.shard);
      kick.set(job.queue, shards);
    } else wakes.set(`${atMs}\n${job.queue}`, { queue: job.queue, atMs });
  }
  const wakeAt = [...wakes.values()].sort((a, b) => a.atMs - b.atMs || (a.queue < b.queue ? -1 : a.queue > b.queue ? 1 : 0));
  const kicks = [...kick].map(([queue, shards]) => ({ queue, shards: [...shards].sort((a, b) => a - b) }));
  return { kick: kicks.sort((a, b) => (a.queue < b.queue ? -1 : a.queue > b.queue ? 1 : 0)), wakeAt };
}

/** Queue names may hold `: /`, which schedule names may not; this makes a safe, unique slug. */
export function queueSlug(queue: string): string {
  if (/^[A-Za-z0-9_.-]{1,40}$/.test(queue)) return queue;
  const hash = createHash('sha256').update(queue).digest('hex').slice(0, 8);
  return `${queue.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 31)}.${hash}`;
}

/**
 * The deterministic name of the wake-up of `queue` at `atMs`: `w-<queue slug>-<yyyymmddhhmm>`
 * (UTC), at most 55 characters. Creating it twice fails with ConflictException, which means it
 * is already there.
 */
export function wakeScheduleName(queue: string, atMs: number): string {
  const stamp = new Date(atMs).toISOString().slice(0, 16).replace(/[-:T]/g, '');
  return `w-${queueSlug(queue)}-${stamp}`;
}

/** Prefix of the names of recurring schedules (wake-ups use `w-`). */
export const RECURRING_PREFIX = 'r-';
