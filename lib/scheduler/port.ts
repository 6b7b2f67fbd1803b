/**
 * The scheduler port: what `JobQueue` and the prompt-pickup paths need from a scheduler, with two
 * adapters behind it: {@link EventBridgeScheduler} (AWS, `./eventbridge.ts`) and
 * {@link LocalScheduler} (timers, `./local.ts`).
 *
 * Glossary:
 * - **Recurring schedule**: a named cron or rate expression that enqueues one job each time it fires.
 * - **Wake-up**: a one-time instruction to start (or wake) the worker of a queue at a given time,
 *   so a delayed job starts close to its due time instead of at the next minute tick.
 * - **Kick**: an immediate wake-up, for a job that is due now (prompt pickup).
 * - **Minute tick**: the once-a-minute drain that catches anything the paths above missed.
 */
import { JobTableError } from '../errors.ts';
import type { BackoffOptions, EnqueueOptions } from '../types.ts';

/**
 * Options of a recurring job: the enqueue options of every job it creates (except the due time
 * and the idempotency key, which each firing sets), plus the time zone of a cron expression.
 */
export interface ScheduleOptions extends Omit<EnqueueOptions, 'runAt' | 'delayMs' | 'idempotencyKey'> {
  /**
   * IANA time zone in which a `cron()` expression is read (daylight saving included).
   * @default "UTC"
   */
  readonly timezone?: string;
  /** Free text shown in the console and in `listSchedules()`. @default none */
  readonly description?: string;
}

/** The enqueue options a recurring schedule stores, with defaults applied. */
export interface RecurringJobOptions {
  readonly queue: string;
  readonly priority: number;
  readonly maxAttempts: number;
  readonly timeoutMs: number;
  readonly backoff: Required<BackoffOptions>;
}

/** A validated recurring schedule, as stored by a scheduler and returned by `listSchedules()`. */
export interface RecurringSchedule {
  /** Unique name: 1 to 48 characters of `A-Z a-z 0-9 _ - .`. */
  readonly name: string;
  /** `rate(5 minutes)` or `cron(0 2 * * ? *)` (EventBridge Scheduler syntax). */
  readonly expression: string;
  /** IANA time zone of the expression. */
  readonly timezone: string;
  /** Job type enqueued on each firing. */
  readonly type: string;
  /** Payload of each job (JSON). */
  readonly payload: unknown;
  readonly options: RecurringJobOptions;
  readonly description?: string;
}

/** Why a worker is woken, for logs. */
export type WakeReason = 'enqueued' | 'wake-up' | 'tick';

/**
 * The event a wake-up, a kick and the minute tick send to the worker Lambda (and that the local
 * scheduler passes to its `wake` callback): drain `queue` now.
 */
export interface WakeEvent {
  readonly source: 'jobtable.wake';
  readonly queue: string;
  readonly reason: WakeReason;
  /** Shards holding the jobs that caused a kick: a worker may read these first. */
  readonly shards?: readonly number[];
}

/** Builds a {@link WakeEvent}. */
export function wakeEvent(queue: string, reason: WakeReason, shards?: readonly number[]): WakeEvent {
  return { source: 'jobtable.wake', queue, reason, ...(shards?.length ? { shards } : {}) };
}

/** True if `event` is a {@link WakeEvent}. */
export function isWakeEvent(event: unknown): event is WakeEvent {
  const e = event as Partial<WakeEvent> | null;
  return typeof e === 'object' && e !== null && e.source === 'jobtable.wake' && typeof e.queue === 'string';
}

/**
 * The scheduler port. Both adapters implement it; tests and the local stack swap one for the other.
 */
export interface Scheduler {
  /**
   * True if `rate()` may use seconds (`rate(2 seconds)`). Only the local emulation allows it, for
   * tests; EventBridge Scheduler's shortest rate is one minute.
   */
  readonly allowSecondRates: boolean;
  /** Creates the recurring schedule, or replaces the one of the same name. */
  putRecurring(schedule: RecurringSchedule): Promise<void>;
  /** Deletes a recurring schedule; false if there was none of that name. */
  deleteRecurring(name: string): Promise<boolean>;
  /** All recurring schedules, sorted by name. */
  listRecurring(): Promise<RecurringSchedule[]>;
  /**
   * Makes sure the worker of `queue` is woken at `atMs` (epoch ms). Idempotent: wake-ups are
   * coalesced by time bucket, so asking twice for the same bucket creates one.
   */
  wakeAt(queue: string, atMs: number): Promise<void>;
}

/** `queue.schedule()` (or `unschedule`, `listSchedules`) was called on a queue built without a `scheduler`. */
export class SchedulerNotConfiguredError extends JobTableError {
  override name = 'SchedulerNotConfiguredError';
  constructor(method: string) {
    super(
      `JobQueue.${method}() needs a scheduler: pass { scheduler: new EventBridgeScheduler(...) } (AWS) or { scheduler: new LocalScheduler(...) } to the JobQueue`,
      'NO_SCHEDULER',
      { method },
    );
  }
}
