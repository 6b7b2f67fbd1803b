/**
 * Traces of a fan-in with the OpenTelemetry SDK's in-memory exporter, against DynamoDB Local: the
 * parent's enqueue span is the parent of one enqueue span per child (one trace), each child's
 * attempt links to its own enqueue span and names its parent, and the parent's attempt links to
 * the parent's enqueue span and says how many children it waited for.
 */
import { context, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRACE_ATTR } from '../../lib/index.ts';
import type { JobQueue } from '../../lib/index.ts';
import { freshQueue } from '../helpers/ddb.ts';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
let queue: JobQueue;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  ({ queue, cleanup } = await freshQueue({ shardCount: 2 }));
});
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
  await cleanup();
});

const spans = (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name);

describe('fan-in traces', () => {
  it('shows a parent and its children in one trace: enqueue spans nested, attempts linked', async () => {
    const tracer = trace.getTracer('test');
    const { id, childIds } = await tracer.startActiveSpan('POST /reports', async (request) => {
      try {
        return await queue.enqueueParent('merge', {}, [0, 1, 2].map((i) => ({ type: 'page', payload: { i } })), { queue: 'traced' });
      } finally {
        request.end();
      }
    });
    const [request] = spans('POST /reports');
    const [parentSend] = spans('send merge');
    const childSends = spans('send page');
    expect(parentSend!.kind).toBe(SpanKind.PRODUCER);
    expect(parentSend!.parentSpanContext?.spanId).toBe(request!.spanContext().spanId);
    expect(childSends).toHaveLength(3);
    for (const s of childSends) {
      expect(s.kind).toBe(SpanKind.PRODUCER);
      expect(s.parentSpanContext?.spanId).toBe(parentSend!.spanContext().spanId);
      expect(s.spanContext().traceId).toBe(request!.spanContext().traceId);
    }
    expect(childSends.map((s) => s.attributes[TRACE_ATTR.jobId]).sort()).toEqual([...childIds].sort());
    // Each child records its own enqueue span's context.
    for (const childId of childIds) {
      const send = childSends.find((s) => s.attributes[TRACE_ATTR.jobId] === childId)!;
      expect((await queue.getJob(childId))!.trace!.traceparent).toBe(`00-${send.spanContext().traceId}-${send.spanContext().spanId}-01`);
    }

    for (let i = 0; i < 3; i++) await queue.processJobs({ page: (p: { i: number }) => p.i, merge: () => 'merged' }, { queue: 'traced' });
    const childAttempts = spans('process page');
    expect(childAttempts).toHaveLength(3);
    for (const a of childAttempts) {
      expect(a.attributes[TRACE_ATTR.parentId]).toBe(id);
      const send = childSends.find((s) => s.attributes[TRACE_ATTR.jobId] === a.attributes[TRACE_ATTR.jobId])!;
      expect(a.links.map((l) => l.context.spanId)).toEqual([send.spanContext().spanId]);
    }
    const [parentAttempt] = spans('process merge');
    expect(parentAttempt!.attributes).toMatchObject({ [TRACE_ATTR.jobId]: id, [TRACE_ATTR.dependencyCount]: 3, [TRACE_ATTR.outcome]: 'completed' });
    expect(parentAttempt!.links.map((l) => l.context.spanId)).toEqual([parentSend!.spanContext().spanId]);
    expect(parentAttempt!.startTime[0] * 1e9 + parentAttempt!.startTime[1]).toBeGreaterThanOrEqual(Math.max(...childAttempts.map((a) => a.endTime[0] * 1e9 + a.endTime[1])));
  });
});
