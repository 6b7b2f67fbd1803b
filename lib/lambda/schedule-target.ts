/**
 * The schedule-target function, as a factory: EventBridge Scheduler invokes it with a recurring
 * schedule's job and the `<aws.scheduler.scheduled-time>` it fired for; it enqueues that job once
 * (the idempotency key is the schedule name and scheduled time, so a redelivered firing creates
 * nothing new). A thin adapter over `fireRecurring` in `lib/scheduler/recurring.ts`.
 */
import type { JobQueue } from '../queue.ts';
import { queueFromEnv } from '../queue-from-env.ts';
import type { RecurringTargetInput } from '../scheduler/eventbridge.ts';
import { fireRecurring } from '../scheduler/recurring.ts';

/** Options of {@link createScheduleTargetHandler}. */
export interface ScheduleTargetHandlerOptions {
  /** The queue to use (tests). @default queueFromEnv() */
  readonly queue?: JobQueue<any>;
  /** Where the configuration comes from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/** The Lambda handler the schedule-target function exports: returns the id of the job of this firing. */
export type ScheduleTargetHandler = (event: RecurringTargetInput) => Promise<{ id: string }>;

/**
 * Builds the schedule-target function's handler.
 * @example
 * import { createScheduleTargetHandler } from 'jobtable/lambda';
 * export const handler = createScheduleTargetHandler();
 */
export function createScheduleTargetHandler(options: ScheduleTargetHandlerOptions = {}): ScheduleTargetHandler {
  let queue: JobQueue | undefined = options.queue;
  return async (event) => {
    queue ??= queueFromEnv(options.env ?? process.env);
    return { id: await fireRecurring(queue, event) };
  };
}
