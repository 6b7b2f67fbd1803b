/**
 * The calls the AWS adapter makes, recorded against the EventBridge Scheduler client interface
 * (there is no local Scheduler server) and asserted exactly.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  GetScheduleCommand,
  ListSchedulesCommand,
  ResourceNotFoundException,
  SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ENV, EventBridgeScheduler, JobQueue, schedulerFromEnv, ValidationError } from '../../lib/index.ts';

const GROUP = 'jobtable-test';
const ROLE = 'arn:aws:iam::123456789012:role/scheduler';
const RECURRING = 'arn:aws:lambda:eu-west-1:123456789012:function:schedule-target';
const WORKER = 'arn:aws:lambda:eu-west-1:123456789012:function:worker';
const meta = { $metadata: {} };

const mock = mockClient(SchedulerClient);
let scheduler: EventBridgeScheduler;
let queue: JobQueue;
let ddb: DynamoDBClient;

beforeEach(() => {
  mock.reset();
  scheduler = new EventBridgeScheduler({ client: new SchedulerClient({ region: 'eu-west-1' }), groupName: GROUP, roleArn: ROLE, recurringTargetArn: RECURRING, wakeTargetArn: WORKER });
  ddb = new DynamoDBClient({ region: 'eu-west-1' });
  queue = new JobQueue({ tableName: 'jobs', client: ddb, scheduler });
});
afterEach(() => ddb.destroy());

const expectedRecurring = {
  Name: 'r-nightly',
  GroupName: GROUP,
  ScheduleExpression: 'cron(0 2 * * ? *)',
  ScheduleExpressionTimezone: 'Europe/Paris',
  FlexibleTimeWindow: { Mode: 'OFF' },
  State: 'ENABLED',
  Description: 'daily report',
  Target: {
    Arn: RECURRING,
    RoleArn: ROLE,
    Input: JSON.stringify({
      source: 'jobtable.schedule',
      schedule: 'nightly',
      type: 'generate_report',
      payload: { kind: 'daily' },
      options: { queue: 'reports', priority: 20, maxAttempts: 3, timeoutMs: 60_000, backoff: { baseMs: 1_000, maxMs: 300_000 } },
      scheduledTime: '<aws.scheduler.scheduled-time>',
    }),
    RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 },
  },
};

const scheduleNightly = () =>
  queue.schedule('nightly', 'cron(0 2 * * ? *)', 'generate_report', { kind: 'daily' }, { timezone: 'Europe/Paris', queue: 'reports', priority: 20, description: 'daily report' });

describe('recurring schedules', () => {
  it('schedule() creates one schedule whose target enqueues the job', async () => {
    mock.on(CreateScheduleCommand).resolves({ ScheduleArn: 'arn', ...meta });
    await scheduleNightly();
    expect(mock.calls()).toHaveLength(1);
    expect(mock.commandCalls(CreateScheduleCommand)[0]!.args[0].input).toEqual(expectedRecurring);
  });

  it('schedule() of an existing name updates it with the same request', async () => {
    mock.on(CreateScheduleCommand).rejects(new ConflictException({ message: 'exists', Message: 'exists', ...meta }));
    mock.on(UpdateScheduleCommand).resolves({ ScheduleArn: 'arn', ...meta });
    await scheduleNightly();
    expect(mock.calls()).toHaveLength(2);
    expect(mock.commandCalls(UpdateScheduleCommand)[0]!.args[0].input).toEqual(expectedRecurring);
  });

  it('bad input makes no call', async () => {
    await expect(queue.schedule('nightly', 'rate(30 seconds)', 'generate_report', {})).rejects.toBeInstanceOf(ValidationError);
    await expect(queue.schedule('nightly', 'rate(1 minute)', 'generate_report', { big: 'x'.repeat(9_000) })).rejects.toMatchObject({ field: 'payload' });
    expect(mock.calls()).toHaveLength(0);
  });

  it('unschedule() deletes r-<name>; false when there is none', async () => {
    mock.on(DeleteScheduleCommand, { Name: 'r-nightly' }).resolves(meta);
    mock.on(DeleteScheduleCommand, { Name: 'r-gone' }).rejects(new ResourceNotFoundException({ message: 'no', Message: 'no', ...meta }));
    expect(await queue.unschedule('nightly')).toBe(true);
    expect(await queue.unschedule('gone')).toBe(false);
    expect(mock.commandCalls(DeleteScheduleCommand).map((c) => c.args[0].input)).toEqual([
      { Name: 'r-nightly', GroupName: GROUP },
      { Name: 'r-gone', GroupName: GROUP },
    ]);
  });

  it('listSchedules() pages ListSchedules and reads each schedule back', async () => {
    mock
      .on(ListSchedulesCommand, { GroupName: GROUP, NamePrefix: 'r-' })
      .resolvesOnce({ Schedules: [{ Name: 'r-nightly' }], NextToken: 't1', ...meta })
      .resolvesOnce({ Schedules: [{ Name: 'r-deleted-meanwhile' }], ...meta });
    mock.on(GetScheduleCommand, { Name: 'r-nightly', GroupName: GROUP }).resolves({ ...expectedRecurring, ...meta } as never);
    mock.on(GetScheduleCommand, { Name: 'r-deleted-meanwhile' }).rejects(new ResourceNotFoundException({ message: 'no', Message: 'no', ...meta }));
    expect(await queue.listSchedules()).toEqual([
      {
        name: 'nightly',
        expression: 'cron(0 2 * * ? *)',
        timezone: 'Europe/Paris',
        type: 'generate_report',
        payload: { kind: 'daily' },
        options: { queue: 'reports', priority: 20, maxAttempts: 3, timeoutMs: 60_000, backoff: { baseMs: 1_000, maxMs: 300_000 } },
        description: 'daily report',
      },
    ]);
    // Two pages (the paginator reuses one input object, so only the last token is visible).
    expect(mock.commandCalls(ListSchedulesCommand)).toHaveLength(2);
    expect(mock.commandCalls(ListSchedulesCommand)[1]!.args[0].input).toMatchObject({ GroupName: GROUP, NamePrefix: 'r-', NextToken: 't1' });
  });
});

describe('wake-ups', () => {
  const atMs = Date.parse('2026-11-22T20:31:00Z');
  const expectedWake = {
    Name: 'w-mail-202611222031',
    GroupName: GROUP,
    ScheduleExpression: 'at(2026-11-22T20:31:00)',
    ScheduleExpressionTimezone: 'UTC',
    FlexibleTimeWindow: { Mode: 'OFF' },
    ActionAfterCompletion: 'DELETE',
    State: 'ENABLED',
    Target: {
      Arn: WORKER,
      RoleArn: ROLE,
      Input: JSON.stringify({ source: 'jobtable.wake', queue: 'mail', reason: 'wake-up' }),
      RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 300 },
    },
  };

  it('creates a one-time at() schedule that deletes itself, once per bucket per process', async () => {
    mock.on(CreateScheduleCommand).resolves({ ScheduleArn: 'arn', ...meta });
    await scheduler.wakeAt('mail', atMs);
    await scheduler.wakeAt('mail', atMs);
    expect(mock.commandCalls(CreateScheduleCommand).map((c) => c.args[0].input)).toEqual([expectedWake]);
  });

  it('treats ConflictException as "already scheduled" (another process made it)', async () => {
    mock.on(CreateScheduleCommand).rejects(new ConflictException({ message: 'exists', Message: 'exists', ...meta }));
    await expect(scheduler.wakeAt('mail', atMs)).resolves.toBeUndefined();
    expect(mock.commandCalls(CreateScheduleCommand)).toHaveLength(1);
  });

  it('passes other errors on (the stream batch is retried)', async () => {
    mock.on(CreateScheduleCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    await expect(scheduler.wakeAt('mail', atMs)).rejects.toThrow('Rate exceeded');
  });
});

describe('schedulerFromEnv', () => {
  it('is configured from the env vars the construct sets, or undefined without them', () => {
    expect(schedulerFromEnv({})).toBeUndefined();
    const env = { [ENV.scheduleGroup]: GROUP, [ENV.schedulerRoleArn]: ROLE, [ENV.recurringTargetArn]: RECURRING, [ENV.wakeTargetArn]: WORKER };
    const s = schedulerFromEnv(env, new SchedulerClient({ region: 'eu-west-1' }))!;
    expect(s.wakeRequest('q', Date.parse('2026-01-01T00:00:00Z'))).toMatchObject({ GroupName: GROUP, Target: { Arn: WORKER, RoleArn: ROLE } });
  });
});
