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

// The port's types live in the glossary (`lib/types.ts`); re-exported here for the adapters.
export { isWakeEvent, wakeEvent } from './wake-event.ts';
export type { RecurringJobOptions, RecurringSchedule, Scheduler, ScheduleOptions, WakeEvent, WakeReason } from '../types.ts';

/** `queue.schedule()` (or `unschedule`, `listSchedules`) was called on a queue built without a `scheduler`. */
export class SchedulerNotConfiguredError extends JobTableError {
  static override readonly kind: string = 'SchedulerNotConfiguredError';
  constructor(method: string) {
    super(
      `JobQueue.${method}() needs a scheduler: pass { scheduler: new EventBridgeScheduler(...) } (AWS) or { scheduler: new LocalScheduler(...) } to the JobQueue`,
      'NO_SCHEDULER',
      { method },
    );
  }
}
