/**
 * The AWS adapter of the scheduler port, over `@aws-sdk/client-scheduler`:
 * - a recurring schedule is one EventBridge Scheduler schedule `r-<name>` whose target (the
 *   schedule-target Lambda) enqueues the job; its input carries the job and the templated
 *   `<aws.scheduler.scheduled-time>`, which keys the job so a redelivered firing enqueues once;
 * - a wake-up is a one-time `at()` schedule `w-<queue>-<minute>` that invokes the worker with a
 *   {@link WakeEvent} and deletes itself after it fires (`ActionAfterCompletion: DELETE`).
 * All schedules live in one schedule group per stage (created by `infra/scheduling.ts`).
 */
import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  GetScheduleCommand,
  paginateListSchedules,
  ResourceNotFoundException,
  SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import type { CreateScheduleCommandInput, GetScheduleCommandOutput } from '@aws-sdk/client-scheduler';
import { ValidationError } from '../errors.ts';
import { ENV } from '../env.ts';
import { atExpression } from './expression.ts';
import { wakeEvent } from './port.ts';
import type { RecurringSchedule, Scheduler } from './port.ts';
import type { RecurringTargetInput } from './recurring.ts';
import { MAX_TARGET_INPUT_CHARS, recurringTargetInput, validateScheduleName } from './recurring.ts';
import { RECURRING_PREFIX, wakeScheduleName } from './wakeups.ts';

export type { RecurringTargetInput } from './recurring.ts';

/** Options of {@link EventBridgeScheduler}. */
export interface EventBridgeSchedulerOptions {
  /** A Scheduler client. @default new SchedulerClient({}) */
  readonly client?: SchedulerClient;
  /** The schedule group (one per stage). */
  readonly groupName: string;
  /** Role EventBridge Scheduler assumes to invoke the targets. */
  readonly roleArn: string;
  /** The function that enqueues a recurring job (`functions/schedule-target.ts`). */
  readonly recurringTargetArn: string;
  /** The worker function, target of wake-ups. */
  readonly wakeTargetArn: string;
  /** An SQS queue for firings Scheduler could not deliver. @default none */
  readonly deadLetterArn?: string;
}

/** Wake-up names this process has already ensured, so a warm Lambda does not ask twice. */
const RECENT_WAKEUPS_MAX = 10_000;

/**
 * Recurring schedules and wake-ups on EventBridge Scheduler.
 * @example
 * const scheduler = new EventBridgeScheduler({ groupName: 'jobtable-dev', roleArn, recurringTargetArn, wakeTargetArn });
 * const queue = new JobQueue({ tableName, client, scheduler });
 * await queue.schedule('nightly-report', 'cron(0 2 * * ? *)', 'generate_report', { kind: 'daily' }, { timezone: 'Europe/Paris' });
 */
export class EventBridgeScheduler implements Scheduler {
  readonly allowSecondRates = false;
  private readonly client: SchedulerClient;
  private readonly recentWakeups = new Set<string>();

  constructor(private readonly options: EventBridgeSchedulerOptions) {
    this.client = options.client ?? new SchedulerClient({});
  }

  private target(arn: string, input: string, retry: { attempts: number; maxAgeSeconds: number }): NonNullable<CreateScheduleCommandInput['Target']> {
    return {
      Arn: arn,
      RoleArn: this.options.roleArn,
      Input: input,
      RetryPolicy: { MaximumRetryAttempts: retry.attempts, MaximumEventAgeInSeconds: retry.maxAgeSeconds },
      ...(this.options.deadLetterArn ? { DeadLetterConfig: { Arn: this.options.deadLetterArn } } : {}),
    };
  }

  /** The CreateSchedule/UpdateSchedule request of a recurring schedule. */
  recurringRequest(schedule: RecurringSchedule): CreateScheduleCommandInput {
    const json = JSON.stringify(recurringTargetInput(schedule));
    if (json.length > MAX_TARGET_INPUT_CHARS) {
      throw new ValidationError('payload', `small enough for a ${MAX_TARGET_INPUT_CHARS}-character schedule input`, `the schedule input would be ${json.length} characters`);
    }
    return {
      Name: RECURRING_PREFIX + schedule.name,
      GroupName: this.options.groupName,
      ScheduleExpression: schedule.expression,
      ScheduleExpressionTimezone: schedule.timezone,
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      ...(schedule.description !== undefined ? { Description: schedule.description } : {}),
      // A firing is keyed by its scheduled time, so redelivery is harmless: retry for a day.
      Target: this.target(this.options.recurringTargetArn, json, { attempts: 185, maxAgeSeconds: 86_400 }),
    };
  }

  async putRecurring(schedule: RecurringSchedule): Promise<void> {
    const request = this.recurringRequest(schedule);
    try {
      await this.client.send(new CreateScheduleCommand(request));
    } catch (err) {
      if (!(err instanceof ConflictException)) throw err;
      await this.client.send(new UpdateScheduleCommand(request));
    }
  }

  async deleteRecurring(name: string): Promise<boolean> {
    try {
      await this.client.send(new DeleteScheduleCommand({ Name: RECURRING_PREFIX + name, GroupName: this.options.groupName }));
      return true;
    } catch (err) {
      if (err instanceof ResourceNotFoundException) return false;
      throw err;
    }
  }

  async listRecurring(): Promise<RecurringSchedule[]> {
    const names: string[] = [];
    const pages = paginateListSchedules({ client: this.client }, { GroupName: this.options.groupName, NamePrefix: RECURRING_PREFIX });
    for await (const page of pages) for (const s of page.Schedules ?? []) if (s.Name) names.push(s.Name);
    const out: RecurringSchedule[] = [];
    for (let i = 0; i < names.length; i += 8) {
      const got = await Promise.all(
        names.slice(i, i + 8).map((Name) => this.client.send(new GetScheduleCommand({ Name, GroupName: this.options.groupName })).catch(notFoundAsNull)),
      );
      for (const g of got) {
        const s = g && recurringFromSchedule(g);
        if (s) out.push(s);
      }
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** The CreateSchedule request of the wake-up of `queue` at `atMs`. */
  wakeRequest(queue: string, atMs: number): CreateScheduleCommandInput {
    return {
      Name: wakeScheduleName(queue, atMs),
      GroupName: this.options.groupName,
      ScheduleExpression: atExpression(atMs),
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ActionAfterCompletion: 'DELETE',
      State: 'ENABLED',
      // A late wake-up is still useful, a very late one is not: the minute tick covers it.
      Target: this.target(this.options.wakeTargetArn, JSON.stringify(wakeEvent(queue, 'wake-up')), { attempts: 3, maxAgeSeconds: 300 }),
    };
  }

  async wakeAt(queue: string, atMs: number): Promise<void> {
    const request = this.wakeRequest(queue, atMs);
    if (this.recentWakeups.has(request.Name!)) return;
    try {
      await this.client.send(new CreateScheduleCommand(request));
    } catch (err) {
      if (!(err instanceof ConflictException)) throw err; // already there: coalesced
    }
    if (this.recentWakeups.size >= RECENT_WAKEUPS_MAX) this.recentWakeups.clear();
    this.recentWakeups.add(request.Name!);
  }
}

function notFoundAsNull(err: unknown): null {
  if (err instanceof ResourceNotFoundException) return null; // deleted between list and get
  throw err;
}

/** Reads a recurring schedule back from GetSchedule; null if it is not one of ours. */
export function recurringFromSchedule(s: GetScheduleCommandOutput): RecurringSchedule | null {
  if (!s.Name?.startsWith(RECURRING_PREFIX) || !s.ScheduleExpression || !s.Target?.Input) return null;
  let input: RecurringTargetInput;
  try {
    input = JSON.parse(s.Target.Input) as RecurringTargetInput;
  } catch {
    return null;
  }
  if (input.source !== 'jobtable.schedule') return null;
  return {
    name: validateScheduleName(s.Name.slice(RECURRING_PREFIX.length)),
    expression: s.ScheduleExpression,
    timezone: s.ScheduleExpressionTimezone ?? 'UTC',
    type: input.type,
    payload: input.payload,
    options: input.options,
    ...(s.Description ? { description: s.Description } : {}),
  };
}

/**
 * An {@link EventBridgeScheduler} configured from the environment the CDK construct sets, or
 * undefined if the scheduler variables are absent (the queue then has no scheduler).
 * @example
 * const queue = queueFromEnv(process.env, { scheduler: schedulerFromEnv() });
 */
export function schedulerFromEnv(env: NodeJS.ProcessEnv = process.env, client?: SchedulerClient): EventBridgeScheduler | undefined {
  const groupName = env[ENV.scheduleGroup];
  const roleArn = env[ENV.schedulerRoleArn];
  const recurringTargetArn = env[ENV.recurringTargetArn];
  const wakeTargetArn = env[ENV.wakeTargetArn];
  if (!groupName || !roleArn || !recurringTargetArn || !wakeTargetArn) return undefined;
  return new EventBridgeScheduler({ groupName, roleArn, recurringTargetArn, wakeTargetArn, ...(client ? { client } : {}) });
}
