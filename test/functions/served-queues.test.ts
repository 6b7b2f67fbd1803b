/**
 * Every queue a deployment serves has a safety net (issue 10, item 4): the worker Lambda drains the
 * queue its tick names (not only `JOBTABLE_QUEUE`) and publishes that queue's backlog age, so a job
 * whose worker died mid-run in queue `mail` is finished by `mail`'s minute tick; and a job for a
 * queue the deployment does not serve is refused at enqueue, with nothing written.
 */
import { ScanCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ENV } from '../../lib/env.ts';
import { ValidationError } from '../../lib/errors.ts';
import { createEnqueueHandler } from '../../lib/lambda/enqueue.ts';
import { createWorkerHandler } from '../../lib/lambda/worker.ts';
import { iso } from '../../lib/model/codec.ts';
import { queueFromEnv } from '../../lib/queue-from-env.ts';
import { JobQueue } from '../../lib/queue.ts';
import { ATTR } from '../../lib/schema.ts';
import { wakeEvent } from '../../lib/scheduler/wake-event.ts';
import { ddbEndpoint, dropTable, freshTable, testClient } from '../helpers/ddb.ts';

const context = (remainingMs = 900_000) => {
  const deadline = Date.now() + remainingMs;
  return { awsRequestId: `req-${Math.random().toString(36).slice(2)}`, getRemainingTimeInMillis: () => deadline - Date.now() };
};

describe('served queues: a tick per queue, and no job for a queue nobody drains', () => {
  const client = testClient();
  let tableName: string;
  let env: NodeJS.ProcessEnv;
  let emf: string[];

  beforeAll(async () => {
    tableName = await freshTable(client, 'served');
    env = {
      [ENV.tableName]: tableName,
      [ENV.dynamoEndpoint]: ddbEndpoint(),
      [ENV.queues]: 'default,mail',
      [ENV.queue]: 'default',
      AWS_REGION: 'local',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    };
    emf = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (emf.push(String(chunk)), true));
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await dropTable(client, tableName);
    client.destroy();
  });

  it('the tick of queue "mail" finishes a mail job whose worker died mid-run', async () => {
    const queue = new JobQueue({ tableName, client });
    const id = await queue.enqueue('send', { to: 'a@example.com' }, { queue: 'mail' });
    // A worker Lambda claimed it and was killed: processing, with a lease that has run out.
    await client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { [ATTR.id]: { S: id } },
        UpdateExpression: 'SET #status = :processing, #lease = :expired, #token = :token, #attempts = #attempts + :one',
        ExpressionAttributeNames: { '#status': ATTR.status, '#lease': ATTR.leaseUntil, '#token': ATTR.claimToken, '#attempts': ATTR.attempts },
        ExpressionAttributeValues: { ':processing': { S: 'processing' }, ':expired': { S: iso(Date.now() - 1_000) }, ':token': { S: 'dead-worker' }, ':one': { N: '1' } },
      }),
    );
    const ran: string[] = [];
    const worker = createWorkerHandler({ send: async (_p, ctx) => (ran.push(ctx.job.id), { sent: true }) }, { env, queue: queueFromEnv(env, { client }) });
    const report = await worker(wakeEvent('mail', 'tick'), context());
    expect(report).toMatchObject({ queue: 'mail', claimed: 1, completed: 1 });
    expect(ran).toEqual([id]);
    expect(await queue.getJob(id)).toMatchObject({ status: 'completed', attempts: 2 });
    const published = emf.filter((l) => l.includes('"OldestDueJobAge"')).map((l) => JSON.parse(l));
    expect(published.at(-1)).toMatchObject({ queue: 'mail', OldestDueJobAge: 0 });
  });

  it('a tick of the default queue leaves other queues alone', async () => {
    const queue = new JobQueue({ tableName, client });
    const id = await queue.enqueue('send', {}, { queue: 'mail' });
    const worker = createWorkerHandler({ send: async () => ({ sent: true }) }, { env, queue: queueFromEnv(env, { client }) });
    expect(await worker(wakeEvent('default', 'tick'), context())).toMatchObject({ queue: 'default', claimed: 0 });
    expect((await queue.getJob(id))?.status).toBe('pending');
    expect(await worker(wakeEvent('mail', 'tick'), context())).toMatchObject({ queue: 'mail', claimed: 1 });
  });

  it('refuses a job for an unserved queue, through the enqueue Lambda and queueFromEnv, writing nothing', async () => {
    const before = (await client.send(new ScanCommand({ TableName: tableName, Select: 'COUNT' }))).Count;
    const enqueue = createEnqueueHandler({ env, queue: queueFromEnv(env, { client }) });
    const res = await enqueue({ type: 'send', payload: {}, queue: 'bulk' }, { awsRequestId: 'r1' });
    expect(res).toMatchObject({ error: { name: 'ValidationError', field: 'options.queue', limit: 'one of the served queues: default, mail' } });
    const batch = await enqueue({ jobs: [{ type: 'send', payload: {} }, { type: 'send', payload: {}, queue: 'nope' }] }, { awsRequestId: 'r2' });
    expect(batch).toMatchObject({ error: { field: 'jobs[1].options.queue' } });
    await expect(queueFromEnv(env, { client }).enqueue('send', {}, { queue: 'bulk' })).rejects.toBeInstanceOf(ValidationError);
    expect((await client.send(new ScanCommand({ TableName: tableName, Select: 'COUNT' }))).Count).toBe(before);
    expect(await enqueue({ type: 'send', payload: {}, queue: 'mail' }, { awsRequestId: 'r3' })).toHaveProperty('id');
  });

  it('fails a job whose timeout no Lambda invocation could ever give it, naming the limit, instead of deferring it forever', async () => {
    const queue = new JobQueue({ tableName, client });
    const id = await queue.enqueue('send', {}, { queue: 'mail', timeoutMs: 20 * 60_000 });
    const worker = createWorkerHandler({ send: async () => ({ sent: true }) }, { env, queue: queueFromEnv(env, { client }) });
    const report = await worker(wakeEvent('mail', 'tick'), context());
    expect(report.deferred).toBe(0);
    const job = await queue.getJob(id);
    expect(job?.status).toBe('failed');
    expect(job?.error).toMatch(/timeoutMs 1200000 .* exceeds the worker's whole budget of 895000 ms/);
  });

  it('rejects a malformed JOBTABLE_QUEUES, naming the variable', () => {
    expect(() => queueFromEnv({ ...env, [ENV.queues]: ' , ' }, { client })).toThrow(/JOBTABLE_QUEUES/);
    expect(() => queueFromEnv({ ...env, [ENV.queues]: 'ok,bad queue' }, { client })).toThrow(ValidationError);
  });
});
