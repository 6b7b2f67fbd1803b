/**
 * The target of recurring schedules: EventBridge Scheduler invokes it with the schedule's job and
 * the `<aws.scheduler.scheduled-time>` it fired for; it enqueues that job once (the idempotency
 * key is the schedule name and scheduled time, so a redelivered firing creates nothing new).
 * A thin adapter over `fireRecurring` in `lib/scheduler/recurring.ts`.
 */
import { queueFromEnv } from '../lib/env.ts';
import type { JobQueue } from '../lib/queue.ts';
import type { RecurringTargetInput } from '../lib/scheduler/eventbridge.ts';
import { fireRecurring } from '../lib/scheduler/recurring.ts';

let queue: JobQueue | undefined;

/** The Lambda handler: returns the id of the job enqueued for this firing. */
export async function handler(event: RecurringTargetInput): Promise<{ id: string }> {
  queue ??= queueFromEnv();
  return { id: await fireRecurring(queue, event) };
}
