/**
 * Runs the deployable artifact without AWS: synthesises the dev stage with bundling, takes each
 * function's bundled code from the cloud assembly (via its S3 key in the template and the assets
 * manifest), and runs the enqueue, worker and schedule-target bundles against DynamoDB Local with
 * the environment variables the template gives them (only the table name and endpoint overridden).
 * The worker bundle holds this repository's example handlers, wired in through `handlersEntry`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ENV } from '../../lib/env.ts';
import { METRIC, METRICS_NAMESPACE } from '../../lib/observability/names.ts';
import { JobQueue } from '../../lib/queue.ts';
import { ddbEndpoint, dropTable, freshTable, testClient } from '../helpers/ddb.ts';
import { byType, FUNCTION_KINDS, fnOf, synthStage } from './synth.ts';
import type { FunctionKind, Synthesized } from './synth.ts';

type Handler = (event: unknown, context?: unknown) => Promise<any>;

/** The bundle file and environment of the function of `kind`, read from the assembly. */
function bundledFunction(s: Synthesized, kind: FunctionKind) {
  const fn = fnOf(s.template, kind);
  const assetHash = String(fn.Properties.Code.S3Key).replace(/\.zip$/, '');
  const manifest = JSON.parse(readFileSync(join(s.outdir, `${s.artifactId}.assets.json`), 'utf8'));
  const assetDir = join(s.outdir, manifest.files[assetHash].source.path);
  return { file: join(assetDir, 'index.mjs'), handler: fn.Properties.Handler as string, env: fn.Properties.Environment.Variables as Record<string, unknown> };
}

const context = (remainingMs: number, awsRequestId = `req-${Math.random().toString(36).slice(2)}`) => {
  const deadline = Date.now() + remainingMs;
  return { awsRequestId, getRemainingTimeInMillis: () => deadline - Date.now() };
};

/** Runs `fn` with stdout captured; returns its result and the JSON lines it wrote. */
async function capturingStdout<T>(fn: () => Promise<T>): Promise<{ result: T; lines: any[] }> {
  const writes: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: any) => (writes.push(String(chunk)), true));
  try {
    const result = await fn();
    return { result, lines: writes.join('').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)) };
  } finally {
    spy.mockRestore();
  }
}

describe('bundled Lambda code from the cloud assembly', () => {
  const client = testClient();
  let s: Synthesized;
  let tableName: string;
  let enqueue: Handler;
  let worker: Handler;
  let scheduleTarget: Handler;
  let queue: JobQueue;
  const files: Partial<Record<FunctionKind, string>> = {};
  const envs: Partial<Record<FunctionKind, Record<string, unknown>>> = {};

  beforeAll(async () => {
    s = synthStage('dev', { bundle: true });
    for (const kind of FUNCTION_KINDS) {
      const b = bundledFunction(s, kind);
      expect(existsSync(b.file), `${kind} bundle`).toBe(true);
      expect(b.handler).toBe('index.handler');
      files[kind] = b.file;
      envs[kind] = b.env;
    }
    tableName = await freshTable(client, 'bundle');
    // The template's variables, with only the table name (a CloudFormation Ref) and the local endpoint overridden.
    const env = (vars: Record<string, unknown>) => {
      for (const [k, v] of Object.entries(vars)) if (typeof v === 'string') process.env[k] = v;
      process.env[ENV.tableName] = tableName;
      process.env[ENV.dynamoEndpoint] = ddbEndpoint();
      process.env.AWS_REGION = 'local';
      process.env.AWS_ACCESS_KEY_ID = 'local';
      process.env.AWS_SECRET_ACCESS_KEY = 'local';
    };
    const load = async (kind: FunctionKind) => {
      env(envs[kind]!);
      return (await import(pathToFileURL(files[kind]!).href)).handler as Handler;
    };
    enqueue = await load('enqueue');
    scheduleTarget = await load('schedule target');
    worker = await load('worker');
    queue = new JobQueue({ tableName, client });
  }, 180_000);

  afterAll(async () => {
    await dropTable(client, tableName);
    client.destroy();
  });

  it('bundles each function into its own asset, every one a module exporting a handler', async () => {
    expect(new Set(Object.values(files)).size).toBe(FUNCTION_KINDS.length);
    // The stream bundle is not run here (it calls EventBridge Scheduler), but it must load.
    const stream = await import(pathToFileURL(files.stream!).href);
    expect(typeof stream.handler).toBe('function');
    for (const h of [enqueue, worker, scheduleTarget]) expect(typeof h).toBe('function');
  });

  it('gets the functions environment from the template', () => {
    expect(envs.worker![ENV.tableName]).toMatchObject({ Ref: expect.any(String) });
    expect(envs.worker![ENV.queue]).toBe('default');
    expect(envs.worker![ENV.queues]).toBe('default,bulk');
    expect(envs.enqueue![ENV.shardCount]).toBe('16');
    expect(envs.enqueue![ENV.queues]).toBe('default,bulk');
  });

  it('enqueues through the bundled enqueue handler and completes the job with the bundled worker, publishing what the alarms watch', async () => {
    const res = await enqueue({ type: 'send_email', payload: { to: 'a@example.com', subject: 'hi' } }, context(30_000));
    expect(res.id).toMatch(/^[0-9a-f-]{36}$/);
    expect((await queue.getJob(res.id))?.status).toBe('pending');

    const { result: report, lines } = await capturingStdout(() => worker({}, context(900_000))); // a 15-minute Lambda, as the template configures
    expect(report).toMatchObject({ queue: 'default', claimed: 1, completed: 1, failed: 0, stoppedBecause: 'drained', oldestDueJobAgeMs: 0 });
    const job = await queue.getJob(res.id);
    expect(job?.status).toBe('completed');
    expect(job?.result).toMatchObject({ to: 'a@example.com' });

    // The bundle's Powertools output: a JSON log line with the job's keys, and EMF metrics.
    expect(lines.find((l) => l.message === 'job completed')).toMatchObject({ jobId: res.id, jobType: 'send_email', attempt: 1, service: 'jobtable-dev' });
    const emf = lines.find((l) => l._aws?.CloudWatchMetrics && l[METRIC.jobsCompleted] !== undefined);
    expect(emf._aws.CloudWatchMetrics[0].Namespace).toBe(METRICS_NAMESPACE);
    expect(emf[METRIC.jobsCompleted]).toBe(1);
    // The published dimensions are those of the construct's metric methods (and so of its alarms).
    const dims = s.stack.jobs.metricJobsCompleted().dimensions!;
    expect([...emf._aws.CloudWatchMetrics[0].Dimensions[0]].sort()).toEqual(Object.keys(dims).sort());
    for (const [name, value] of Object.entries(dims)) expect(emf[name], name).toBe(value);
    const age = lines.find((l) => l._aws?.CloudWatchMetrics && l[METRIC.oldestDueJobAge] !== undefined);
    expect(age[METRIC.oldestDueJobAge]).toBe(0);
  });

  it("drains exactly the queue a tick names: the bulk tick schedule's input, as the worker receives it", async () => {
    const tick = Object.values(byType(s.template, 'AWS::Scheduler::Schedule'))
      .map((r) => JSON.parse(r.Properties.Target.Input))
      .find((input) => input.queue === 'bulk');
    expect(tick).toEqual({ source: 'jobtable.wake', queue: 'bulk', reason: 'tick' });
    const bulk = await enqueue({ type: 'noop', payload: { n: 1 }, queue: 'bulk' }, context(30_000));
    const other = await enqueue({ type: 'noop', payload: { n: 2 } }, context(30_000));

    const { result: report } = await capturingStdout(() => worker(tick, context(900_000)));
    expect(report).toMatchObject({ queue: 'bulk', claimed: 1, completed: 1 });
    expect((await queue.getJob(bulk.id))?.status).toBe('completed');
    expect((await queue.getJob(other.id))?.status, 'the default queue was not drained').toBe('pending');
  });

  it('returns a typed validation error from the bundle and writes nothing', async () => {
    const res = await enqueue({ type: 'send_email', payload: {}, priority: 5000 }, context(30_000));
    expect(res.error).toMatchObject({ name: 'ValidationError', code: 'VALIDATION', field: 'options.priority', limit: 'an integer from -1000 to 1000' });
    const page = await queue.listJobs({ status: 'pending', queue: 'default' });
    expect(page.jobs.filter((j) => j.type === 'send_email')).toEqual([]);
  });

  it('refuses a queue the deployment does not serve (JOBTABLE_QUEUES from the template) and writes nothing', async () => {
    const res = await enqueue({ type: 'noop', payload: {}, queue: 'unserved' }, context(30_000));
    expect(res.error).toMatchObject({ name: 'ValidationError', code: 'VALIDATION', field: 'options.queue', limit: 'one of the served queues: default, bulk' });
    expect((await queue.listJobs({ status: 'pending', queue: 'unserved' })).jobs).toEqual([]);
  });

  it('creates one job when Lambda retries an async invoke (same request id)', async () => {
    const ctx = context(30_000, 'async-retry-request');
    const event = { jobs: [{ type: 'noop', payload: { retry: 1 }, queue: 'bulk' }, { type: 'noop', payload: { retry: 2 }, queue: 'bulk' }] };
    const a = await enqueue(event, ctx);
    const b = await enqueue(event, ctx);
    expect(b.ids).toEqual(a.ids);
    expect(new Set(a.ids).size).toBe(2);
    const page = await queue.listJobs({ status: 'pending', queue: 'bulk' });
    expect(page.jobs.filter((j) => (j.payload as any)?.retry).map((j) => j.id).sort()).toEqual([...a.ids].sort());
  });

  it('enqueues a recurring firing once through the bundled schedule-target handler, even when delivered twice', async () => {
    const firing = { source: 'jobtable.schedule', schedule: 'nightly-report', type: 'noop', payload: { nightly: true }, options: { queue: 'bulk' }, scheduledTime: '2030-01-01T03:00:00Z' };
    const first = await scheduleTarget(firing);
    const second = await scheduleTarget(firing);
    expect(second.id).toBe(first.id);
    const job = await queue.getJob(first.id);
    expect(job).toMatchObject({ status: 'pending', queue: 'bulk', type: 'noop', payload: { nightly: true } });
  });
});
