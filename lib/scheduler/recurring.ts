/**
 * Recurring jobs: validation of `queue.schedule(...)` arguments into a {@link RecurringSchedule},
 * and what a firing does (enqueue one job, exactly once per scheduled time). Validation is pure;
 * {@link fireRecurring} is the one step with I/O, shared by the schedule-target Lambda and the
 * local scheduler.
 */
import { ValidationError } from '../errors.ts';
import { FIRING_KEY_PREFIX } from '../model/state.ts';
import { validateEnqueue } from '../model/validate.ts';
import type { EnqueueOptions } from '../types.ts';
import { parseScheduleExpression, validateTimezone } from './expression.ts';
import type { RecurringSchedule, ScheduleOptions } from './port.ts';

/** Schedule names: 1 to 48 characters of letters, digits, `_ - .` (they become part of AWS names). */
export const SCHEDULE_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,48}$/;

const SCHEDULE_OPTION_KEYS = new Set(['timezone', 'description', 'queue', 'priority', 'maxAttempts', 'timeoutMs', 'backoff']);

/** Validates a schedule name. */
export function validateScheduleName(name: unknown, field = 'name'): string {
  const rule = '1 to 48 characters of letters, digits, _ - .';
  if (typeof name !== 'string' || !SCHEDULE_NAME_PATTERN.test(name)) throw new ValidationError(field, rule, `got ${JSON.stringify(name)?.slice(0, 60)}`);
  return name;
}

/**
 * Validates the arguments of `queue.schedule()` and applies defaults. Nothing is written.
 * @param allowSecondRates accept `rate(N seconds)` (local emulation only)
 * @throws ValidationError naming the field
 */
export function normalizeRecurring(
  name: unknown,
  expression: unknown,
  type: unknown,
  payload: unknown,
  options: ScheduleOptions | undefined,
  allowSecondRates: boolean,
): RecurringSchedule {
  const scheduleName = validateScheduleName(name);
  parseScheduleExpression(expression, { allowSeconds: allowSecondRates });
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
    throw new ValidationError('options', 'an object', `got ${typeof options}`);
  }
  const o = (options ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!SCHEDULE_OPTION_KEYS.has(key)) throw new ValidationError(`options.${key}`, `one of ${[...SCHEDULE_OPTION_KEYS].join(', ')}`, `unknown option "${key.slice(0, 40)}"`);
  }
  const timezone = o.timezone === undefined ? 'UTC' : validateTimezone(o.timezone);
  if (o.description !== undefined && (typeof o.description !== 'string' || o.description.length > 512)) {
    throw new ValidationError('options.description', 'a string of at most 512 characters');
  }
  const { timezone: _tz, description: _d, ...enqueueOptions } = o;
  const spec = validateEnqueue(type, payload, enqueueOptions, 0);
  const schedule: RecurringSchedule = {
    name: scheduleName,
    expression: String(expression).trim(),
    timezone,
    type: spec.type,
    payload: spec.payload,
    options: { queue: spec.queue, priority: spec.priority, maxAttempts: spec.maxAttempts, timeoutMs: spec.timeoutMs, backoff: spec.backoff },
    ...(o.description !== undefined ? { description: o.description as string } : {}),
  };
  // The same limit locally as in AWS, where the job travels in the schedule's target input.
  const chars = JSON.stringify(recurringTargetInput(schedule)).length;
  if (chars > MAX_TARGET_INPUT_CHARS) {
    throw new ValidationError('payload', `small enough for a ${MAX_TARGET_INPUT_CHARS}-character schedule input`, `the schedule input would be ${chars} characters`);
  }
  return schedule;
}

/** EventBridge Scheduler caps a target's input at 8,192 characters. */
export const MAX_TARGET_INPUT_CHARS = 8_192;

/** The templated input of a recurring schedule's target: a {@link Firing} once Scheduler fills in the time. */
export interface RecurringTargetInput extends Omit<Firing, 'scheduledTime'> {
  readonly source: 'jobtable.schedule';
  /** `<aws.scheduler.scheduled-time>` in the stored schedule; an ISO time when delivered. */
  readonly scheduledTime: string;
}

/** The target input of a recurring schedule, with EventBridge's scheduled-time placeholder. */
export function recurringTargetInput(schedule: RecurringSchedule): RecurringTargetInput {
  return {
    source: 'jobtable.schedule',
    schedule: schedule.name,
    type: schedule.type,
    payload: schedule.payload,
    options: schedule.options,
    scheduledTime: '<aws.scheduler.scheduled-time>',
  };
}

/**
 * The idempotency key of the job a firing enqueues: a scheduler that delivers one firing twice
 * (EventBridge Scheduler delivers at least once) creates one job.
 */
export function firingIdempotencyKey(scheduleName: string, scheduledTime: string): string {
  return `${FIRING_KEY_PREFIX}${scheduleName}@${scheduledTime}`;
}

/** What a firing needs: the schedule's job and the time it was scheduled for. */
export interface Firing {
  readonly schedule: string;
  readonly type: string;
  readonly payload: unknown;
  readonly options: RecurringSchedule['options'];
  /** ISO-8601 time the firing was scheduled for (EventBridge's `<aws.scheduler.scheduled-time>`). */
  readonly scheduledTime: string;
}

/** Anything that can enqueue (a `JobQueue`). */
export interface Enqueuer {
  enqueue(type: string, payload: unknown, options?: EnqueueOptions): Promise<string>;
}

/**
 * Enqueues the job of one firing, due now, keyed by schedule and scheduled time. Returns its id.
 * @throws ValidationError if the firing is malformed (e.g. a hand-edited schedule input)
 */
export async function fireRecurring(queue: Enqueuer, firing: Firing): Promise<string> {
  if (!firing || typeof firing !== 'object') throw new ValidationError('firing', 'an object { schedule, type, payload, options, scheduledTime }');
  validateScheduleName(firing.schedule, 'schedule');
  if (typeof firing.scheduledTime !== 'string' || Number.isNaN(Date.parse(firing.scheduledTime))) {
    throw new ValidationError('scheduledTime', 'an ISO-8601 time');
  }
  return queue.enqueue(firing.type, firing.payload, { ...firing.options, idempotencyKey: firingIdempotencyKey(firing.schedule, firing.scheduledTime) });
}
