/**
 * The stream function (prompt pickup in AWS) and the schedule-target function. The stream
 * function is fed real-shaped DynamoDB stream records built from items written to DynamoDB Local;
 * the Lambda and Scheduler calls it makes are recorded with aws-sdk-client-mock (no local servers
 * exist for those) and asserted exactly. The schedule target enqueues into DynamoDB Local.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { CreateScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ENV } from '../../lib/index.ts';
import type { JobQueue } from '../../lib/index.ts';
import { ATTR, LANE } from '../../lib/schema.ts';
import { streamFilterPattern } from '../../lib/scheduler/stream.ts';
import { wakeScheduleName } from '../../lib/scheduler/wakeups.ts';
import { ddbEndpoint, freshQueue } from '../helpers/ddb.ts';

const WORKER = 'arn:aws:lambda:eu-west-1:123456789012:function:jobtable-test-worker';
const lambda = mockClient(LambdaClient);
const scheduler = mockClient(SchedulerClient);
const decoder = new TextDecoder();

let queue: JobQueue;
let tableName: string;
let cleanup: () => Promise<void>;
const savedEnv = { ...process.env };

beforeAll(async () => {
  ({ queue, tableName, cleanup } = await freshQueue());
  Object.assign(process.env, {
    [ENV.tableName]: tableName,
    [ENV.dynamoEndpoint]: ddbEndpoint(),
    [ENV.scheduleGroup]: 'jobtable-test',
    [ENV.schedulerRoleArn]: 'arn:aws:iam::123456789012:role/scheduler',
    [ENV.recurringTargetArn]: 'arn:aws:lambda:eu-west-1:123456789012:function:jobtable-test-schedule-target',
    [ENV.wakeTargetArn]: WORKER,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
  });
});
afterAll(async () => {
  process.env = savedEnv;
  await cleanup();
});
beforeEach(() => {
  lambda.reset();
  scheduler.reset();
  lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
  scheduler.on(CreateScheduleCommand).resolves({ ScheduleArn: 'arn' });
});

/** The item as DynamoDB holds it (what a NEW_IMAGE stream record carries). */
async function image(id: string): Promise<Record<string, AttributeValue>> {
  const res = await queue.store.client.send(new GetItemCommand({ TableName: tableName, Key: { [ATTR.id]: { S: id } }, ConsistentRead: true }));
  return res.Item!;
}

const record = (eventName: 'INSERT' | 'MODIFY' | 'REMOVE', newImage?: Record<string, AttributeValue>) =>
  ({ eventName, eventSource: 'aws:dynamodb', dynamodb: { ...(newImage ? { NewImage: newImage } : {}), StreamViewType: 'NEW_IMAGE' } }) as DynamoDBStreamEvent['Records'][number];

/** What Lambda's filter criteria would let through (see streamFilterPattern). */
const passesFilter = (r: DynamoDBStreamEvent['Records'][number]) => {
  const p = streamFilterPattern() as { eventName: string[]; dynamodb: { NewImage: Record<string, { S: string[] }> } };
  return p.eventName.includes(r.eventName!) && p.dynamodb.NewImage[ATTR.status]!.S.includes(r.dynamodb?.NewImage?.[ATTR.status]?.S ?? '');
};

describe('stream function', () => {
  it('kicks the worker once per queue with due jobs, with their shards, and schedules one wake-up per delayed minute', async () => {
    const { handler } = await import('../../functions/stream.ts');
    const due1 = await queue.enqueue('work', { n: 1 });
    const due2 = await queue.enqueue('work', { n: 2 });
    const mail = await queue.enqueue('work', {}, { queue: 'mail' });
    const runAt = new Date(Math.floor(Date.now() / 60_000) * 60_000 + 3 * 3_600_000 + 7_000); // hh:mm:07, 3 h ahead
    const later1 = await queue.enqueue('work', {}, { runAt });
    const later2 = await queue.enqueue('work', {}, { runAt: new Date(runAt.getTime() + 30_000) }); // same minute
    const busy = await queue.enqueue('work', {}, { queue: 'busy' });
    const images = await Promise.all([due1, due2, mail, later1, later2, busy].map(image));
    await queue.processJobs({ work: () => 'ok' }, { queue: 'busy' });
    const completed = await image(busy); // its MODIFY leaves it completed, not pending

    const records = [...images.map((img) => record('INSERT', img)), record('MODIFY', completed), record('REMOVE')];
    const delivered = records.filter(passesFilter);
    expect(delivered).toHaveLength(6); // the completed job's MODIFY and the REMOVE are filtered out by Lambda
    // The handler itself ignores them too, should the filter be missing.
    const result = await handler({ Records: records });
    expect(result).toEqual({ kicked: ['busy', 'default', 'mail'], wakeUps: 1 });

    const shardOf = (img: Record<string, AttributeValue>) => Number(img[ATTR.statusShard]!.S!.split('#').pop());
    const invokes = lambda.commandCalls(InvokeCommand).map((c) => ({ ...c.args[0].input, Payload: JSON.parse(decoder.decode(c.args[0].input.Payload as Uint8Array)) }));
    expect(invokes).toEqual([
      // `busy` was pending when its INSERT was written: the stream delivers that insert, so it is kicked.
      { FunctionName: WORKER, InvocationType: 'Event', Payload: { source: 'jobtable.wake', queue: 'busy', reason: 'enqueued', shards: [shardOf(images[5]!)] } },
      {
        FunctionName: WORKER,
        InvocationType: 'Event',
        Payload: { source: 'jobtable.wake', queue: 'default', reason: 'enqueued', shards: [...new Set([shardOf(images[0]!), shardOf(images[1]!)])].sort((a, b) => a - b) },
      },
      { FunctionName: WORKER, InvocationType: 'Event', Payload: { source: 'jobtable.wake', queue: 'mail', reason: 'enqueued', shards: [shardOf(images[2]!)] } },
    ]);
    const wakeAt = Math.floor(runAt.getTime() / 60_000) * 60_000 - 60_000;
    expect(scheduler.commandCalls(CreateScheduleCommand).map((c) => c.args[0].input)).toEqual([
      expect.objectContaining({
        Name: wakeScheduleName('default', wakeAt),
        ScheduleExpression: `at(${new Date(wakeAt).toISOString().slice(0, 19)})`,
        ActionAfterCompletion: 'DELETE',
        Target: expect.objectContaining({ Arn: WORKER, Input: JSON.stringify({ source: 'jobtable.wake', queue: 'default', reason: 'wake-up' }) }),
      }),
    ]);
    expect(completed[ATTR.statusShard]).toBeUndefined(); // completed jobs leave the index
    expect(images[0]![ATTR.statusShard]!.S).toMatch(new RegExp(`^default#${LANE.due}#\\d{2}$`));
  });

  it('kicks for a job put back to pending by a retry with a short backoff (a MODIFY)', async () => {
    const { handler } = await import('../../functions/stream.ts');
    const id = await queue.enqueue('flaky', {}, { queue: 'retry', backoff: { baseMs: 0, maxMs: 0 } });
    await queue.processJobs({ flaky: () => { throw new Error('once'); } }, { queue: 'retry', maxJobs: 1 });
    const img = await image(id);
    expect(img[ATTR.status]!.S).toBe('pending');
    const result = await handler({ Records: [record('MODIFY', img)] });
    expect(result).toEqual({ kicked: ['retry'], wakeUps: 0 });
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(1);
  });

  it('fails the batch when a kick fails, so Lambda retries it', async () => {
    const { handler } = await import('../../functions/stream.ts');
    lambda.on(InvokeCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' }));
    const img = await image(await queue.enqueue('work', {}, { queue: 'throttled' }));
    await expect(handler({ Records: [record('INSERT', img)] })).rejects.toThrow('Rate exceeded');
  });
});

describe('schedule-target function', () => {
  it('enqueues the firing job once, even when the firing is delivered twice', async () => {
    const { handler } = await import('../../functions/schedule-target.ts');
    const event = {
      source: 'jobtable.schedule' as const,
      schedule: 'nightly',
      type: 'generate_report',
      payload: { kind: 'daily' },
      options: { queue: 'reports', priority: 20, maxAttempts: 2, timeoutMs: 30_000, backoff: { baseMs: 500, maxMs: 5_000 } },
      scheduledTime: '2026-11-23T02:00:00Z',
    };
    const first = await handler(event);
    const again = await handler(event);
    const next = await handler({ ...event, scheduledTime: '2026-11-24T02:00:00Z' });
    expect(again.id).toBe(first.id);
    expect(next.id).not.toBe(first.id);
    expect(await queue.getJob(first.id)).toMatchObject({
      type: 'generate_report',
      queue: 'reports',
      status: 'pending',
      priority: 20,
      maxAttempts: 2,
      timeoutMs: 30_000,
      payload: { kind: 'daily' },
      idempotencyKey: 'schedule:nightly@2026-11-23T02:00:00Z',
    });
    const page = await queue.listJobs({ status: 'pending', queue: 'reports' });
    expect(page.jobs).toHaveLength(2);
  });

  it('rejects a malformed firing with a typed error and writes nothing', async () => {
    const { handler } = await import('../../functions/schedule-target.ts');
    const bad = { source: 'jobtable.schedule', schedule: 'x', type: 'generate_report', payload: {}, options: { queue: 'bad-firing' }, scheduledTime: 'not a time' };
    await expect(handler(bad as never)).rejects.toMatchObject({ code: 'VALIDATION', field: 'scheduledTime' });
    expect((await queue.listJobs({ status: 'pending', queue: 'bad-firing' })).jobs).toEqual([]);
  });
});

describe('worker function with a WakeEvent', () => {
  it('drains the queue the event names, and waits for a job due within the wake-up window', async () => {
    const { handler } = await import('../../functions/worker.ts');
    const soon = await queue.enqueue('noop', {}, { queue: 'woken', delayMs: 1_500 });
    const deadline = Date.now() + 900_000; // a 15-minute Lambda: jobs of 60 s timeout fit
    const context = { awsRequestId: 'wake-test', getRemainingTimeInMillis: () => deadline - Date.now() };
    const report = await handler({ source: 'jobtable.wake', queue: 'woken', reason: 'wake-up' }, context);
    expect(report).toMatchObject({ claimed: 1, completed: 1 });
    const job = await queue.getJob(soon);
    expect(job).toMatchObject({ status: 'completed', queue: 'woken' });
    expect(job!.startedAt!.getTime()).toBeGreaterThanOrEqual(job!.runAt.getTime());
  });
});
