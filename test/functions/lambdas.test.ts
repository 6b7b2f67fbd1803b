/**
 * The enqueue and worker Lambdas (source) against DynamoDB Local, and `LambdaJobClient` talking to
 * the real enqueue handler. Lambda has no local server, so the Invoke call is the one thing mocked
 * (aws-sdk-client-mock): it runs the handler the way Lambda would, including a thrown error's
 * `{ errorType, errorMessage }` response and an asynchronous invoke that Lambda retries.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { LambdaJobClient } from '../../lib/client/lambda-client.ts';
import { ENV } from '../../lib/env.ts';
import { JobTableError, ValidationError } from '../../lib/errors.ts';
import { JobQueue } from '../../lib/queue.ts';
import type { JobTypes } from '../../functions/jobs/index.ts';
import { ddbEndpoint, dropTable, freshTable, testClient } from '../helpers/ddb.ts';

type Handler = (event: unknown, context: any) => Promise<any>;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const context = (remainingMs: number, awsRequestId = `req-${Math.random().toString(36).slice(2)}`) => {
  const deadline = Date.now() + remainingMs;
  return { awsRequestId, getRemainingTimeInMillis: () => deadline - Date.now() };
};

describe('Lambda functions and LambdaJobClient', () => {
  const ddb = testClient();
  const lambdaMock = mockClient(LambdaClient);
  let tableName: string;
  let enqueue: Handler;
  let worker: Handler;
  let queue: JobQueue<JobTypes>;
  let jobs: LambdaJobClient<JobTypes>;
  let asyncInvokes = 0;

  beforeAll(async () => {
    tableName = await freshTable(ddb, 'fn');
    Object.assign(process.env, {
      [ENV.tableName]: tableName,
      [ENV.dynamoEndpoint]: ddbEndpoint(),
      [ENV.concurrency]: '4',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      AWS_REGION: 'local',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    });
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true); // Powertools' log lines and EMF
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true); // Powertools' ERROR lines (the dead-letter example)
    enqueue = (await import('../../functions/enqueue.ts')).handler;
    worker = (await import('../../functions/worker.ts')).handler;
    queue = new JobQueue<JobTypes>({ tableName, client: ddb });
    jobs = new LambdaJobClient<JobTypes>({ functionName: 'jobtable-test-enqueue', client: new LambdaClient({ region: 'local' }) });
  });

  beforeEach(() => {
    lambdaMock.reset();
    lambdaMock.on(InvokeCommand).callsFake(async (input) => {
      const event = JSON.parse(decoder.decode(input.Payload));
      const run = async (requestId: string) => {
        try {
          return { Payload: encoder.encode(JSON.stringify(await enqueue(event, { awsRequestId: requestId }))) };
        } catch (e) {
          const err = e as Error;
          return { FunctionError: 'Unhandled', Payload: encoder.encode(JSON.stringify({ errorType: err.name, errorMessage: err.message, trace: [] })) };
        }
      };
      if (input.InvocationType === 'Event') {
        // Lambda runs it later and may retry it with the same request id: run it twice.
        asyncInvokes++;
        const requestId = `async-${asyncInvokes}`;
        await run(requestId);
        await run(requestId);
        return { StatusCode: 202 };
      }
      return { StatusCode: 200, ...(await run(`sync-${Math.random()}`)) };
    });
  });

  afterAll(async () => {
    lambdaMock.restore();
    vi.restoreAllMocks();
    await dropTable(ddb, tableName);
    ddb.destroy();
  });

  it('enqueue returns { id } and writes the job with its options', async () => {
    const before = Date.now();
    const id = await jobs.enqueue('send_email', { to: 'a@example.com', subject: 'hi' }, { queue: 'client', priority: 20, delayMs: 60_000, maxAttempts: 5 });
    const job = await queue.getJob(id);
    expect(job).toMatchObject({ type: 'send_email', queue: 'client', status: 'pending', priority: 20, maxAttempts: 5, payload: { to: 'a@example.com', subject: 'hi' } });
    expect(job!.runAt.getTime()).toBeGreaterThanOrEqual(before + 60_000);
  });

  it('the wire format carries the group; a malformed group is a ValidationError naming options.group, nothing written', async () => {
    const id = await jobs.enqueue('send_email', { to: 'a@example.com', subject: 'hi' }, { queue: 'client', group: 'tenant-7' });
    expect((await queue.getJob(id))?.group).toBe('tenant-7');
    const err = await jobs.enqueue('send_email', { to: 'a@example.com', subject: 'hi' }, { queue: 'groups-bad', group: 'a#b' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ field: 'options.group' });
    expect((await queue.listJobs({ status: 'pending', queue: 'groups-bad' })).jobs).toEqual([]);
  });

  it('debounce and group travel through the wire format; a debounced job gets no default idempotency key', async () => {
    const a = await jobs.enqueue('noop', { n: 1 }, { queue: 'client-d', debounce: { key: 'doc-1', windowMs: 60_000 } });
    const b = await jobs.enqueue('noop', { n: 2 }, { queue: 'client-d', debounce: { key: 'doc-1', windowMs: 60_000 } });
    expect(b).toBe(a);
    expect(await queue.getJob(a)).toMatchObject({ payload: { n: 2 }, debounceKey: 'doc-1', idempotencyKey: null });
    // Straight to the function (another caller): no lambda:<request id> key is added either.
    const c = await enqueue({ type: 'noop', payload: { n: 3 }, queue: 'client-d', debounce: { key: 'doc-1', windowMs: 60_000 } }, { awsRequestId: 'r-1' });
    expect(c).toEqual({ id: a });
    const g = await jobs.enqueue('noop', {}, { queue: 'client-d', group: 'tenant-1' });
    expect((await queue.getJob(g))!.group).toBe('tenant-1');
    const async = await jobs.enqueue('noop', {}, { debounce: { key: 'k', windowMs: 10 } }, { invocationType: 'Event' }).catch((e: unknown) => e);
    expect(async).toMatchObject({ name: 'ValidationError', field: 'jobs[0].debounce' });
  });

  it('enqueueMany returns ids in order; a runAt Date travels as ISO', async () => {
    const runAt = new Date(Date.now() + 3_600_000);
    const ids = await jobs.enqueueMany([
      { type: 'noop', payload: { n: 1 }, options: { queue: 'client-many' } },
      { type: 'noop', payload: { n: 2 }, options: { queue: 'client-many', runAt } },
    ]);
    expect(ids).toHaveLength(2);
    expect((await queue.getJob(ids[0]!))?.payload).toEqual({ n: 1 });
    expect((await queue.getJob(ids[1]!))?.runAt.toISOString()).toBe(runAt.toISOString());
  });

  it('turns invalid input into a ValidationError with field and limit, and writes nothing', async () => {
    const err = await jobs.enqueue('send_email', { to: 'a@example.com', subject: 'x' }, { queue: 'invalid', priority: 5000 }).catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ field: 'options.priority', limit: 'an integer from -1000 to 1000', code: 'VALIDATION' });
    expect(err.message).toMatch(/5000 is outside -1000 to 1000/);

    const batchErr = await jobs
      .enqueueMany([
        { type: 'noop', payload: {}, options: { queue: 'invalid' } },
        { type: '' as 'noop', payload: {}, options: { queue: 'invalid' } },
      ])
      .catch((e) => e);
    expect(batchErr).toBeInstanceOf(ValidationError);
    expect(batchErr.field).toBe('jobs[1].type');
    expect((await queue.listJobs({ status: 'pending', queue: 'invalid' })).jobs).toEqual([]);
  });

  it('rejects unknown options and malformed events as validation errors', async () => {
    expect(await enqueue({ type: 'noop', payload: {}, colour: 'red' }, context(1000))).toMatchObject({ error: { name: 'ValidationError', field: 'options.colour' } });
    expect(await enqueue('not an object', context(1000))).toMatchObject({ error: { name: 'ValidationError', field: 'event' } });
    expect(await enqueue({ jobs: 'nope' }, context(1000))).toMatchObject({ error: { name: 'ValidationError', field: 'jobs' } });
  });

  it('rebuilds a thrown function error (Lambda { errorType, errorMessage }) as a JobTableError', async () => {
    lambdaMock.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: encoder.encode(JSON.stringify({ errorType: 'ProvisionedThroughputExceededException', errorMessage: 'Rate exceeded', trace: [] })),
    } as never);
    const err = await jobs.enqueue('noop', {}).catch((e) => e);
    expect(err).toBeInstanceOf(JobTableError);
    expect(err).toMatchObject({ name: 'ProvisionedThroughputExceededException', message: 'Rate exceeded', code: 'FUNCTION_ERROR' });
  });

  it('an asynchronous invoke retried by Lambda creates one job, with the id the client returned', async () => {
    const [keyed] = await jobs.enqueueMany([{ type: 'noop', payload: { a: 1 }, options: { queue: 'async', idempotencyKey: 'order-42' } }], { invocationType: 'Event' });
    const unkeyed = await jobs.enqueue('noop', { b: 2 }, { queue: 'async' }, { invocationType: 'Event' });
    const pending = (await queue.listJobs({ status: 'pending', queue: 'async' })).jobs;
    expect(pending.map((j) => j.id).sort()).toEqual([keyed, unkeyed].sort());
    expect(pending.find((j) => j.id === keyed)?.idempotencyKey).toBe('order-42');
  });

  it('a synchronous invoke resent after a lost response creates each job once', async () => {
    // The function ran, the connection reset before its response arrived, and the SDK resent the
    // identical request, which Lambda runs under a new request id.
    lambdaMock.on(InvokeCommand).callsFake(async (input) => {
      const event = JSON.parse(decoder.decode(input.Payload));
      await enqueue(event, { awsRequestId: `lost-${Math.random()}` });
      return { StatusCode: 200, Payload: encoder.encode(JSON.stringify(await enqueue(event, { awsRequestId: `resent-${Math.random()}` }))) };
    });
    const one = await jobs.enqueue('noop', { s: 1 }, { queue: 'sync-resent' });
    const many = await jobs.enqueueMany([1, 2].map((n) => ({ type: 'noop' as const, payload: { n }, options: { queue: 'sync-resent' } })));
    const pending = (await queue.listJobs({ status: 'pending', queue: 'sync-resent' })).jobs;
    expect(pending.map((j) => j.id).sort()).toEqual([one, ...many].sort());
  });

  it('defaults the idempotency key to the request id, so a retried invoke writes nothing new', async () => {
    const ctx = context(1000, 'same-request');
    const a = await enqueue({ type: 'noop', payload: { x: 1 }, queue: 'retried' }, ctx);
    const b = await enqueue({ type: 'noop', payload: { x: 1 }, queue: 'retried' }, ctx);
    const c = await enqueue({ type: 'noop', payload: { x: 1 }, queue: 'retried' }, context(1000, 'another-request'));
    expect(b.id).toBe(a.id);
    expect(c.id).not.toBe(a.id);
    expect((await queue.listJobs({ status: 'pending', queue: 'retried' })).jobs).toHaveLength(2);
  });

  it('the worker claims a job only if its timeout fits the remaining time', async () => {
    const res = await enqueue({ type: 'noop', payload: {}, timeoutMs: 60_000 }, context(1000));
    const short = await worker({}, context(30_000));
    expect(short).toMatchObject({ claimed: 0, completed: 0 });
    expect(short.oldestDueJobAgeMs).toBeGreaterThan(0);
    expect((await queue.getJob(res.id))?.status).toBe('pending');
    const long = await worker({}, context(900_000));
    expect(long).toMatchObject({ claimed: 1, completed: 1, oldestDueJobAgeMs: 0 });
    expect((await queue.getJob(res.id))?.status).toBe('completed');
  });

  it('the worker fails a job whose timeout no invocation could fit (over 15 minutes), naming the limit', async () => {
    const res = await enqueue({ type: 'noop', payload: {}, timeoutMs: 900_000, queue: 'too-long' }, context(1000));
    const r = await worker({ source: 'jobtable.wake', queue: 'too-long', reason: 'enqueued' }, context(900_000));
    expect(r).toMatchObject({ claimed: 1, failed: 1, deferred: 0 });
    const job = await queue.getJob(res.id);
    expect(job?.status).toBe('failed');
    expect(job?.error).toContain('timeoutMs 900000');
    expect(job?.error).toContain('workerBudgetMs');
  });

  it('the worker runs the example jobs: typed payload, progress, and a retry picked up in the same invocation', async () => {
    const email = await jobs.enqueue('send_email', { to: 'b@example.com', subject: 'hello' });
    const report = await jobs.enqueue('generate_report', { reportType: 'sales', steps: 3, stepMs: 10 });
    const flaky = await jobs.enqueue('flaky', { failTimes: 1 }, { backoff: { baseMs: 200, maxMs: 200 } });
    const bad = await jobs.enqueue('send_email', { to: 'not-an-address', subject: 'x' }, { maxAttempts: 1 });
    const r = await worker({}, context(900_000));
    expect(r).toMatchObject({ completed: 3, retried: 1, failed: 1, stoppedBecause: 'drained', oldestDueJobAgeMs: 0 });
    expect((await queue.getJob(email))?.result).toMatchObject({ to: 'b@example.com' });
    const rep = await queue.getJob(report);
    expect(rep?.progress).toMatchObject({ current: 3, total: 3, message: 'step 3 of 3' });
    expect(rep?.result).toMatchObject({ reportType: 'sales', steps: 3 });
    expect(await queue.getJob(flaky)).toMatchObject({ status: 'completed', attempts: 2, result: { succeededOnAttempt: 2 } });
    expect(await queue.getJob(bad)).toMatchObject({ status: 'failed', error: expect.stringContaining('not an email address') });
  });
});
