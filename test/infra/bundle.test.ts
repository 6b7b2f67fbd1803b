/**
 * Runs the deployable artifact without AWS: synthesises the dev stage with bundling, takes the
 * bundled enqueue and worker code from the cloud assembly (via each function's S3 key in the
 * template and the assets manifest), and runs those bundles against DynamoDB Local with the
 * environment variables the template gives them (only the table name and endpoint overridden).
 */
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ENV } from '../../lib/env.ts';
import { JobQueue } from '../../lib/queue.ts';
import { METRIC, METRICS_NAMESPACE } from '../../lib/observability/names.ts';
import { dropTable, freshTable, testClient, ddbEndpoint } from '../helpers/ddb.ts';
import { synthStage } from './synth.ts';

type Handler = (event: unknown, context: unknown) => Promise<any>;

/** The bundle file and environment of the function named `name`, read from the assembly. */
function bundledFunction(outdir: string, stackName: string, template: any, name: string) {
  const [, fn] = Object.entries<any>(template.Resources).find(([, r]) => r.Type === 'AWS::Lambda::Function' && r.Properties.FunctionName === name)!;
  const assetHash = String(fn.Properties.Code.S3Key).replace(/\.zip$/, '');
  const manifest = JSON.parse(readFileSync(join(outdir, `${stackName}.assets.json`), 'utf8'));
  const assetDir = join(outdir, manifest.files[assetHash].source.path);
  return { file: join(assetDir, 'index.mjs'), handler: fn.Properties.Handler as string, env: fn.Properties.Environment.Variables as Record<string, unknown> };
}

const context = (remainingMs: number, awsRequestId = `req-${Math.random().toString(36).slice(2)}`) => {
  const deadline = Date.now() + remainingMs;
  return { awsRequestId, getRemainingTimeInMillis: () => deadline - Date.now() };
};

describe('bundled Lambda code from the cloud assembly', () => {
  const client = testClient();
  let tableName: string;
  let enqueue: Handler;
  let worker: Handler;
  let queue: JobQueue;
  let workerEnv: Record<string, unknown>;
  let enqueueEnv: Record<string, unknown>;

  beforeAll(async () => {
    const s = synthStage('dev', { bundle: true });
    const template = s.template.toJSON();
    const enq = bundledFunction(s.outdir, `JobTable-dev`, template, 'jobtable-dev-enqueue');
    const wrk = bundledFunction(s.outdir, `JobTable-dev`, template, 'jobtable-dev-worker');
    expect(existsSync(enq.file) && existsSync(wrk.file)).toBe(true);
    expect(enq.file).not.toBe(wrk.file);
    expect(enq.handler).toBe('index.handler');
    tableName = await freshTable(client, 'bundle');
    enqueueEnv = enq.env;
    workerEnv = wrk.env;
    // The template's variables, with only the table name (a CloudFormation Ref) and the local endpoint overridden.
    const env = (vars: Record<string, unknown>) => {
      for (const [k, v] of Object.entries(vars)) if (typeof v === 'string') process.env[k] = v;
      process.env[ENV.tableName] = tableName;
      process.env[ENV.dynamoEndpoint] = ddbEndpoint();
      process.env.AWS_REGION = 'local';
      process.env.AWS_ACCESS_KEY_ID = 'local';
      process.env.AWS_SECRET_ACCESS_KEY = 'local';
    };
    env(enq.env);
    enqueue = (await import(pathToFileURL(enq.file).href)).handler;
    env(wrk.env);
    worker = (await import(pathToFileURL(wrk.file).href)).handler;
    queue = new JobQueue({ tableName, client });
  }, 120_000);

  afterAll(async () => {
    await dropTable(client, tableName);
    client.destroy();
  });

  it('gets the functions environment from the template', () => {
    expect(workerEnv[ENV.tableName]).toMatchObject({ Ref: expect.any(String) });
    expect(workerEnv[ENV.queue]).toBe('default');
    expect(enqueueEnv[ENV.shardCount]).toBe('16');
  });

  it('enqueues through the bundled enqueue handler and completes the job with the bundled worker', async () => {
    const res = await enqueue({ type: 'send_email', payload: { to: 'a@example.com', subject: 'hi' } }, context(30_000));
    expect(res.id).toMatch(/^[0-9a-f-]{36}$/);
    expect((await queue.getJob(res.id))?.status).toBe('pending');

    const writes: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: any) => (writes.push(String(chunk)), true));
    let report: any;
    try {
      report = await worker({}, context(900_000)); // a 15-minute Lambda, as the template configures
    } finally {
      spy.mockRestore();
    }
    expect(report).toMatchObject({ claimed: 1, completed: 1, failed: 0, stoppedBecause: 'drained', oldestDueJobAgeMs: 0 });
    const job = await queue.getJob(res.id);
    expect(job?.status).toBe('completed');
    expect(job?.result).toMatchObject({ to: 'a@example.com' });

    // The bundle's Powertools output: a JSON log line with the job's keys, and EMF metrics.
    const lines = writes.join('').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    expect(lines.find((l) => l.message === 'job completed')).toMatchObject({ jobId: res.id, jobType: 'send_email', attempt: 1, service: 'jobtable-dev' });
    const emf = lines.find((l) => l._aws?.CloudWatchMetrics);
    expect(emf._aws.CloudWatchMetrics[0].Namespace).toBe(METRICS_NAMESPACE);
    expect(emf[METRIC.jobsCompleted]).toBe(1);
    expect(emf[METRIC.oldestDueJobAge]).toBe(0);
  });

  it('returns a typed validation error from the bundle and writes nothing', async () => {
    const res = await enqueue({ type: 'send_email', payload: {}, priority: 5000 }, context(30_000));
    expect(res.error).toMatchObject({ name: 'ValidationError', code: 'VALIDATION', field: 'options.priority', limit: 'an integer from -1000 to 1000' });
    const page = await queue.listJobs({ status: 'pending' });
    expect(page.jobs).toEqual([]);
  });

  it('creates one job when Lambda retries an async invoke (same request id)', async () => {
    const ctx = context(30_000, 'async-retry-request');
    const event = { jobs: [{ type: 'noop', payload: {}, queue: 'retries' }, { type: 'noop', payload: { n: 2 }, queue: 'retries' }] };
    const a = await enqueue(event, ctx);
    const b = await enqueue(event, ctx);
    expect(b.ids).toEqual(a.ids);
    expect(new Set(a.ids).size).toBe(2);
    const page = await queue.listJobs({ status: 'pending', queue: 'retries' });
    expect(page.jobs.map((j) => j.id).sort()).toEqual([...a.ids].sort());
  });
});
