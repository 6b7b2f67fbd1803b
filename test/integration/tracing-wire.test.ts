/**
 * Trace context across the wire, with the OpenTelemetry SDK's in-memory exporter, against
 * DynamoDB Local: `LambdaJobClient` sends the caller's W3C context (its active span's, or one
 * given explicitly) in the invoke payload and the enqueue Lambda records it on the job; the local
 * HTTP API's `POST /jobs` reads `traceparent`/`tracestate` headers.
 *
 * Lambda has no local server, so the Invoke call is mocked (aws-sdk-client-mock): it runs the real
 * enqueue handler under the ROOT context, as the function's own process would (no span of the
 * caller's is active there; only the payload carries the context).
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { mockClient } from 'aws-sdk-client-mock';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LambdaJobClient } from '../../lib/client/lambda-client.ts';
import { ValidationError } from '../../lib/index.ts';
import type { JobQueue, TraceContext } from '../../lib/index.ts';
import { createEnqueueHandler } from '../../lib/lambda/index.ts';
import { createApiListener } from '../../lib/local/http-api.ts';
import { freshQueue } from '../helpers/ddb.ts';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const lambdaMock = mockClient(LambdaClient);
const decoder = new TextDecoder();
const encoder = new TextEncoder();
let queue: JobQueue;
let cleanup: () => Promise<void>;
let jobs: LambdaJobClient;
/** The payloads the client sent. */
let payloads: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  process.env.POWERTOOLS_LOG_LEVEL = 'ERROR'; // the enqueue handler's log lines
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  ({ queue, cleanup } = await freshQueue());
  jobs = new LambdaJobClient({ functionName: 'enqueue', client: new LambdaClient({ region: 'local' }) });
});
afterAll(async () => {
  lambdaMock.restore();
  await provider.shutdown();
  trace.disable();
  context.disable();
  await cleanup();
});
beforeEach(() => {
  exporter.reset();
  payloads = [];
  lambdaMock.reset();
  const handler = createEnqueueHandler({ queue, env: {} });
  lambdaMock.on(InvokeCommand).callsFake(async (input) => {
    const event = JSON.parse(decoder.decode(input.Payload)) as Record<string, unknown>;
    payloads.push(event);
    const out = await context.with(ROOT_CONTEXT, () => handler(event, { awsRequestId: `req-${payloads.length}` }));
    return { StatusCode: 200, Payload: encoder.encode(JSON.stringify(out)) };
  });
});

const spans = (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name);
const contextOf = (s: ReadableSpan): TraceContext => ({ traceparent: `00-${s.spanContext().traceId}-${s.spanContext().spanId}-01` });
const GIVEN = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'vendor=abc' };

/** Runs `fn` in an active span `name`; returns its result and the span. */
async function inSpan<T>(name: string, fn: () => Promise<T>): Promise<{ result: T; span: ReadableSpan }> {
  const result = await trace.getTracer('test').startActiveSpan(name, async (span) => {
    try {
      return await fn();
    } finally {
      span.end();
    }
  });
  return { result, span: spans(name)[0]! };
}

describe('LambdaJobClient forwards the caller trace context', () => {
  it("sends the active span's context; the function's enqueue span continues it and the job records that span", async () => {
    const { result: id, span: caller } = await inSpan('POST /checkout', () => jobs.enqueue('report', { n: 1 }, { queue: 'wire' }));
    expect(payloads[0]!.trace).toEqual(contextOf(caller));
    const [send] = spans('send report');
    expect(send!.spanContext().traceId).toBe(caller.spanContext().traceId);
    expect(send!.parentSpanContext?.spanId).toBe(caller.spanContext().spanId);
    expect((await queue.getJob(id))!.trace).toEqual(contextOf(send!));
  });

  it('sends it with an asynchronous (Event) invoke too', async () => {
    const { result: id, span: caller } = await inSpan('async caller', () => jobs.enqueue('report', {}, { queue: 'wire-event' }, { invocationType: 'Event' }));
    expect(payloads[0]!.trace).toEqual(contextOf(caller));
    const [send] = spans('send report');
    expect(send!.parentSpanContext?.spanId).toBe(caller.spanContext().spanId);
    expect((await queue.getJob(id))!.trace).toEqual(contextOf(send!));
  });

  it("sends a batch's context once: the function's batch span continues it; a job's own context wins", async () => {
    const own = { traceparent: '00-11111111111111111111111111111111-2222222222222222-01' };
    const { result: ids, span: caller } = await inSpan('bulk import', () =>
      jobs.enqueueMany([
        { type: 'a', payload: {}, options: { queue: 'wire-batch' } },
        { type: 'b', payload: {}, options: { queue: 'wire-batch', trace: own } },
      ]),
    );
    expect(payloads[0]!.trace).toEqual(contextOf(caller));
    expect((payloads[0]!.jobs as Array<Record<string, unknown>>).map((j) => j.trace)).toEqual([undefined, own]);
    const [batch] = spans('send wire-batch');
    expect(batch!.parentSpanContext?.spanId).toBe(caller.spanContext().spanId);
    expect(batch!.spanContext().traceId).toBe(caller.spanContext().traceId);
    const traces = await Promise.all(ids.map(async (id) => (await queue.getJob(id))!.trace));
    expect(traces).toEqual([contextOf(batch!), own]);
  });

  it('sends a context given explicitly (no span active), tracestate included', async () => {
    const id = await jobs.enqueue('report', {}, { queue: 'wire-explicit' }, { trace: GIVEN });
    expect(payloads[0]!.trace).toEqual(GIVEN);
    const [send] = spans('send report');
    expect(send!.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect((await queue.getJob(id))!.trace).toEqual({ ...contextOf(send!), tracestate: 'vendor=abc' });
    const ids = await jobs.enqueueMany([{ type: 'a', payload: {}, options: { queue: 'wire-explicit' } }], { trace: GIVEN });
    expect(payloads[1]!.trace).toEqual(GIVEN);
    expect((await queue.getJob(ids[0]!))!.trace?.traceparent).toContain('0af7651916cd43dd8448eb211c80319c');
  });

  it('sends no context when no span is active and none is given', async () => {
    await jobs.enqueue('report', {}, { queue: 'wire-none' });
    await jobs.enqueueMany([{ type: 'a', payload: {}, options: { queue: 'wire-none' } }]);
    expect(payloads.map((p) => p.trace)).toEqual([undefined, undefined]);
    expect(spans('send report')[0]!.parentSpanContext).toBeUndefined();
  });

  it('refuses a malformed explicit context before invoking, naming the field', async () => {
    const err = await jobs.enqueue('report', {}, { queue: 'wire-bad' }, { trace: { traceparent: 'nope' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe('invoke.trace.traceparent');
    expect(payloads).toEqual([]);
  });

  it("the enqueue function refuses a batch whose trace is malformed, naming the field, and writes nothing", async () => {
    const handler = createEnqueueHandler({ queue, env: {} });
    const out = await handler({ jobs: [{ type: 'a', payload: {}, queue: 'wire-bad-batch' }], trace: { traceparent: '00-zz' } }, { awsRequestId: 'bad-batch' });
    expect(out).toMatchObject({ error: { name: 'ValidationError', field: 'trace.traceparent' } });
    expect((await queue.stats({ queue: 'wire-bad-batch' })).total).toBe(0);
  });
});

describe('POST /jobs reads traceparent and tracestate headers', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer(createApiListener({ queue, jobTypes: ['report'] }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** Posts a job with `headers`; returns the job's recorded trace context. */
  async function post(headers: Record<string, string>): Promise<TraceContext | null> {
    const res = await context.with(ROOT_CONTEXT, () =>
      fetch(`${base}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ type: 'report', payload: {}, queue: 'http-traced' }) }),
    );
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    return (await queue.getJob(id))!.trace;
  }

  it("continues the header's trace, tracestate included", async () => {
    const recorded = await post({ traceparent: GIVEN.traceparent, tracestate: GIVEN.tracestate });
    const [send] = spans('send report');
    expect(send!.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(send!.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(recorded).toEqual({ ...contextOf(send!), tracestate: 'vendor=abc' });
  });

  it('keeps the first four fields of a later version, and drops a malformed tracestate', async () => {
    const recorded = await post({ traceparent: '01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-future', tracestate: 'x'.repeat(600) });
    expect(recorded).toEqual(contextOf(spans('send report')[0]!));
    expect(recorded!.traceparent).toContain('0af7651916cd43dd8448eb211c80319c');
  });

  it('ignores a malformed traceparent (the job starts a trace of its own) and still enqueues', async () => {
    const recorded = await post({ traceparent: '00-00000000000000000000000000000000-b7ad6b7169203331-01', tracestate: GIVEN.tracestate });
    const [send] = spans('send report');
    expect(send!.parentSpanContext).toBeUndefined();
    expect(recorded).toEqual(contextOf(send!));
  });

  it('records no header context without one: the job has the enqueue span of a new trace', async () => {
    const recorded = await post({});
    expect(recorded).toEqual(contextOf(spans('send report')[0]!));
    expect(spans('send report')[0]!.parentSpanContext).toBeUndefined();
  });
});
