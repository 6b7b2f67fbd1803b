/**
 * Traces with the OpenTelemetry SDK's in-memory exporter, against DynamoDB Local: the enqueue
 * span (PRODUCER) and the context the job records, attempt spans (CONSUMER) linked to it with the
 * job's attributes and outcome, a retry's two attempts as two spans, a batch, a trace context given
 * explicitly, the enqueue Lambda joining Lambda's own trace, and bad trace contexts refused.
 */
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TRACE_ATTR, traceparentFromXRay, ValidationError } from '../../lib/index.ts';
import type { JobQueue } from '../../lib/index.ts';
import { createEnqueueHandler } from '../../lib/lambda/index.ts';
import { freshQueue } from '../helpers/ddb.ts';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
let queue: JobQueue;
let client: DynamoDBClient;
let tableName: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  ({ queue, client, tableName, cleanup } = await freshQueue());
});
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
  await cleanup();
});
beforeEach(() => exporter.reset());

const spans = (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name);
const traceparentOf = (s: ReadableSpan) => `00-${s.spanContext().traceId}-${s.spanContext().spanId}-01`;

async function rawItem(id: string) {
  return (await client.send(new GetItemCommand({ TableName: tableName, Key: { id: { S: id } }, ConsistentRead: true }))).Item!;
}

describe('traces', () => {
  it('records the enqueue span on the job, and runs the attempt in a CONSUMER span linked to it', async () => {
    const tracer = trace.getTracer('test');
    const id = await tracer.startActiveSpan('POST /orders', async (request) => {
      try {
        return await queue.enqueue('report', { n: 1 }, { queue: 'traced' });
      } finally {
        request.end();
      }
    });
    const [request] = spans('POST /orders');
    const [send] = spans('send report');
    expect(send!.kind).toBe(SpanKind.PRODUCER);
    expect(send!.parentSpanContext?.spanId).toBe(request!.spanContext().spanId);
    expect(send!.spanContext().traceId).toBe(request!.spanContext().traceId);
    expect(send!.attributes).toMatchObject({ [TRACE_ATTR.jobId]: id, [TRACE_ATTR.jobType]: 'report', [TRACE_ATTR.queue]: 'traced', 'messaging.system': 'jobtable', 'messaging.operation.type': 'send' });
    expect((await queue.getJob(id))!.trace).toEqual({ traceparent: traceparentOf(send!) });
    expect((await rawItem(id)).trace_parent).toEqual({ S: traceparentOf(send!) });

    let handlerSpanParent: string | undefined;
    await queue.processJobs(
      {
        report: async () => {
          await tracer.startActiveSpan('render', async (inner) => inner.end());
          handlerSpanParent = trace.getActiveSpan()?.spanContext().spanId;
          return 'ok';
        },
      },
      { queue: 'traced' },
    );
    const [attempt] = spans('process report');
    expect(attempt!.kind).toBe(SpanKind.CONSUMER);
    expect(attempt!.links.map((l) => l.context.spanId)).toEqual([send!.spanContext().spanId]);
    expect(attempt!.links[0]!.context.traceId).toBe(send!.spanContext().traceId);
    expect(attempt!.attributes).toMatchObject({ [TRACE_ATTR.jobId]: id, [TRACE_ATTR.jobType]: 'report', [TRACE_ATTR.queue]: 'traced', [TRACE_ATTR.attempt]: 1, [TRACE_ATTR.outcome]: 'completed' });
    expect(attempt!.status.code).not.toBe(SpanStatusCode.ERROR);
    // The handler ran inside the attempt span: its own spans are children of it.
    expect(handlerSpanParent).toBe(attempt!.spanContext().spanId);
    expect(spans('render')[0]!.parentSpanContext?.spanId).toBe(attempt!.spanContext().spanId);
  });

  it("gives a retry's attempts a span each, both linked to the one enqueue span", async () => {
    const id = await queue.enqueue('flaky', {}, { queue: 'retried', maxAttempts: 3, backoff: { baseMs: 0, maxMs: 0 } });
    const [send] = spans('send flaky');
    let calls = 0;
    const report = await queue.processJobs(
      {
        flaky: () => {
          if (++calls === 1) throw new Error('first attempt fails');
          return 'second works';
        },
      },
      { queue: 'retried', waitForDueWithinMs: 5_000 },
    );
    expect(report).toMatchObject({ retried: 1, completed: 1 });
    const attempts = spans('process flaky').sort((a, b) => Number(a.attributes[TRACE_ATTR.attempt]) - Number(b.attributes[TRACE_ATTR.attempt]));
    expect(attempts.map((s) => [s.attributes[TRACE_ATTR.attempt], s.attributes[TRACE_ATTR.outcome], s.attributes[TRACE_ATTR.jobId]])).toEqual([
      [1, 'retried', id],
      [2, 'completed', id],
    ]);
    expect(attempts[0]!.status.code).toBe(SpanStatusCode.ERROR);
    expect(attempts[0]!.spanContext().spanId).not.toBe(attempts[1]!.spanContext().spanId);
    for (const a of attempts) expect(a.links.map((l) => l.context.spanId)).toEqual([send!.spanContext().spanId]);
  });

  it('continues a trace context given explicitly, tracestate included, and records a failed attempt', async () => {
    const given = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'vendor=abc' };
    const id = await queue.enqueue('doomed', {}, { queue: 'explicit', maxAttempts: 1, trace: given });
    const [send] = spans('send doomed');
    expect(send!.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(send!.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect((await queue.getJob(id))!.trace).toEqual({ traceparent: traceparentOf(send!), tracestate: 'vendor=abc' });
    await queue.processJobs({ doomed: () => Promise.reject(new Error('no')) }, { queue: 'explicit' });
    const [attempt] = spans('process doomed');
    expect(attempt!.attributes[TRACE_ATTR.outcome]).toBe('failed');
    expect(attempt!.links[0]!.context.traceState?.get('vendor')).toBe('abc');
  });

  it('records one batch span on every job of enqueueMany, except a job given its own context', async () => {
    const own = { traceparent: '00-11111111111111111111111111111111-2222222222222222-01' };
    const ids = await queue.enqueueMany([
      { type: 'a', payload: {}, options: { queue: 'batch' } },
      { type: 'b', payload: {}, options: { queue: 'batch', idempotencyKey: 'k1' } },
      { type: 'c', payload: {}, options: { queue: 'batch', trace: own } },
    ]);
    const [batch] = spans('send batch');
    expect(batch!.attributes).toMatchObject({ [TRACE_ATTR.batchCount]: 3, [TRACE_ATTR.queue]: 'batch' });
    const traces = await Promise.all(ids.map(async (id) => (await queue.getJob(id))!.trace));
    expect(traces).toEqual([{ traceparent: traceparentOf(batch!) }, { traceparent: traceparentOf(batch!) }, own]);
  });

  it("joins the enqueue Lambda's own trace (_X_AMZN_TRACE_ID) when no span is active", async () => {
    const header = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
    expect(traceparentFromXRay(header)).toBe('00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01');
    expect(traceparentFromXRay('Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0')).toBeNull();
    expect(traceparentFromXRay(undefined)).toBeNull();
    const handler = createEnqueueHandler({ queue, env: { _X_AMZN_TRACE_ID: header } });
    const res = (await handler({ type: 'from_lambda', payload: {}, queue: 'lambda' }, { awsRequestId: 'req-1' })) as { id: string };
    const [send] = spans('send from_lambda');
    expect(send!.spanContext().traceId).toBe('5759e988bd862e3fe1be46a994272793');
    expect(send!.parentSpanContext?.spanId).toBe('53995c3f42cd8ad8');
    expect((await queue.getJob(res.id))!.trace?.traceparent).toBe(traceparentOf(send!));
  });

  it('records nothing when the API is installed but no SDK is registered (and no context is given)', async () => {
    trace.disable();
    try {
      const id = await trace.getTracer('test').startActiveSpan('untraced request', async (span) => {
        try {
          return await queue.enqueue('quiet', {}, { queue: 'no-sdk' });
        } finally {
          span.end();
        }
      });
      expect((await queue.getJob(id))!.trace).toBeNull();
      expect((await rawItem(id)).trace_parent).toBeUndefined();
      expect((await queue.processJobs({ quiet: () => 'ok' }, { queue: 'no-sdk' })).completed).toBe(1);
      expect(exporter.getFinishedSpans()).toEqual([]);
    } finally {
      trace.setGlobalTracerProvider(provider);
    }
  });

  it('refuses a malformed trace context, naming the field, and writes nothing', async () => {
    const stats = async () => (await queue.stats({ queue: 'bad-trace' })).total;
    const refused = async (t: unknown, field: string) => {
      const err = await queue.enqueue('x', {}, { queue: 'bad-trace', trace: t as never }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field).toBe(field);
    };
    await refused({ traceparent: 'not-a-traceparent' }, 'options.trace.traceparent');
    await refused({ traceparent: '00-00000000000000000000000000000000-b7ad6b7169203331-01' }, 'options.trace.traceparent');
    await refused({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'x'.repeat(513) }, 'options.trace.tracestate');
    await refused({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', baggage: 'x' }, 'options.trace.baggage');
    await refused('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'options.trace');
    expect(await stats()).toBe(0);
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});
