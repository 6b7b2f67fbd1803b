/**
 * OpenTelemetry traces from enqueue to every attempt, when `@opentelemetry/api` is installed (an
 * optional peer dependency, loaded once with a dynamic import). Without it nothing changes: no
 * span, no attribute on the item (unless the caller gave a trace context explicitly), no error.
 *
 * - Enqueue runs in a PRODUCER span `send <type>` (one `send <queue>` span for `enqueueMany`),
 *   child of the active context or of the context given as `options.trace`. The job records that
 *   span's W3C context (`trace_parent`, `trace_state`).
 * - Each attempt runs in a CONSUMER span `process <type>`, child of whatever is active at the
 *   worker (a Lambda invocation's span, say), with a link to the recorded context, and the
 *   attributes job id, type, queue, attempt and outcome. A retry's attempts are separate spans
 *   linked to the same enqueue span.
 * - The enqueue Lambda maps Lambda's own trace header (`_X_AMZN_TRACE_ID`) to a parent context
 *   when no span is active, so jobs enqueued through it join the invocation's X-Ray trace.
 *
 * Attribute names follow the OpenTelemetry messaging conventions (`messaging.*`), plus
 * `jobtable.job.*`. This module's exported signatures use no OpenTelemetry types, so the
 * package's type declarations do not need the API installed.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { ATTR } from '../schema.ts';
import type { Job, TraceContext } from '../types.ts';

type OtelApi = typeof import('@opentelemetry/api');
type Span = import('@opentelemetry/api').Span;
type Context = import('@opentelemetry/api').Context;
type SpanContext = import('@opentelemetry/api').SpanContext;

/** The tracer name (the instrumentation scope) of every span jobtable makes. */
export const TRACER_NAME = 'jobtable';

/** Span attribute names. */
export const TRACE_ATTR = {
  jobId: 'jobtable.job.id',
  jobType: 'jobtable.job.type',
  queue: 'jobtable.job.queue',
  attempt: 'jobtable.job.attempt',
  outcome: 'jobtable.job.outcome',
  system: 'messaging.system',
  operation: 'messaging.operation.type',
  destination: 'messaging.destination.name',
  messageId: 'messaging.message.id',
  batchCount: 'messaging.batch.message_count',
  /** Of a child of a fan-in: its parent's id. */
  parentId: 'jobtable.job.parent_id',
  /** Of a job that waited: how many jobs it waited for (children or `dependsOn`). */
  dependencyCount: 'jobtable.job.dependency_count',
} as const;

let loading: Promise<OtelApi | null> | undefined;

/** The OpenTelemetry API, or null when it is not installed (looked up once). */
function loadOtel(): Promise<OtelApi | null> {
  loading ??= import('@opentelemetry/api').then(
    (m) => ((m as { trace?: unknown }).trace ? m : ((m as { default?: OtelApi }).default ?? null)),
    () => null,
  );
  return loading;
}

/** True if `@opentelemetry/api` could be loaded (for diagnostics and tests). */
export async function tracingAvailable(): Promise<boolean> {
  return (await loadOtel()) !== null;
}

const hex2 = (n: number) => n.toString(16).padStart(2, '0');

/** The W3C form of a span context. */
function toTraceContext(sc: SpanContext): TraceContext {
  const state = sc.traceState?.serialize();
  return { traceparent: `00-${sc.traceId}-${sc.spanId}-${hex2(sc.traceFlags & 0xff)}`, ...(state ? { tracestate: state } : {}) };
}

/** A remote span context from its W3C form (already validated, or as stored), or null if malformed. */
function fromTraceContext(api: OtelApi, tc: TraceContext): SpanContext | null {
  const m = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(tc.traceparent);
  if (!m) return null;
  const sc: SpanContext = { traceId: m[1]!, spanId: m[2]!, traceFlags: parseInt(m[3]!, 16), isRemote: true };
  if (tc.tracestate && api.createTraceState) sc.traceState = api.createTraceState(tc.tracestate);
  return api.trace.isSpanContextValid(sc) ? sc : null;
}

/** The item attributes that record a trace context. */
export function traceItemAttributes(tc: TraceContext | null): Record<string, AttributeValue> {
  if (!tc) return {};
  return { [ATTR.traceParent]: { S: tc.traceparent }, ...(tc.tracestate ? { [ATTR.traceState]: { S: tc.tracestate } } : {}) };
}

/** What an enqueue span describes. */
export interface EnqueueSpanInfo {
  readonly type: string;
  readonly queue: string;
  /** Jobs written by the call (more than one: a batch span). */
  readonly count: number;
  /** The trace context given as `options.trace` (single enqueue only). */
  readonly explicit: TraceContext | null;
}

/**
 * Runs an enqueue in a PRODUCER span and passes `write` the trace context to record on the
 * job(s): the span's, or (no API, or no SDK and no valid parent) the explicit one, or null.
 * `write` resolves to the job ids, which become span attributes.
 */
export async function withEnqueueSpan<T extends string | readonly string[]>(info: EnqueueSpanInfo, write: (recorded: TraceContext | null) => Promise<T>): Promise<T> {
  const api = await loadOtel();
  if (!api) return write(info.explicit);
  const explicit = info.explicit ? fromTraceContext(api, info.explicit) : null;
  const parent = explicit ? api.trace.setSpanContext(api.context.active(), explicit) : api.context.active();
  const name = info.count === 1 ? `send ${info.type}` : `send ${info.queue}`;
  const span = api.trace.getTracer(TRACER_NAME).startSpan(name, { kind: api.SpanKind.PRODUCER, attributes: enqueueAttributes(info) }, parent);
  const sc = span.spanContext();
  const recorded = api.trace.isSpanContextValid(sc) ? toTraceContext(sc) : info.explicit;
  return endAfter(api, span, async () => {
    const ids = await write(recorded);
    if (typeof ids === 'string') span.setAttributes({ [TRACE_ATTR.jobId]: ids, [TRACE_ATTR.messageId]: ids });
    return ids;
  });
}

function enqueueAttributes(info: EnqueueSpanInfo) {
  return {
    [TRACE_ATTR.system]: 'jobtable',
    [TRACE_ATTR.operation]: 'send',
    [TRACE_ATTR.destination]: info.queue,
    [TRACE_ATTR.queue]: info.queue,
    ...(info.count === 1 ? { [TRACE_ATTR.jobType]: info.type } : { [TRACE_ATTR.batchCount]: info.count }),
  };
}

/** Runs `fn`, records a thrown error on the span, and ends the span either way. */
async function endAfter<T>(api: OtelApi, span: Span, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    span.recordException(err instanceof Error ? err : String(err));
    span.setStatus({ code: api.SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
    throw err;
  } finally {
    span.end();
  }
}

/**
 * Runs the write of a parent's children with one PRODUCER span `send <child type>` per child, each
 * a child of the parent's enqueue span (`parent`, the context the parent records), so the parent
 * and its children are one trace: each child records its own span's context, which its attempts
 * link to. `write` gets the contexts in the children's order (null without the API or a valid
 * parent). The spans end when the write does.
 */
export async function withChildEnqueueSpans<T>(parent: TraceContext | null, children: readonly { readonly id: string; readonly type: string; readonly queue: string }[], write: (contexts: readonly (TraceContext | null)[]) => Promise<T>): Promise<T> {
  const api = parent ? await loadOtel() : null;
  const sc = api && parent ? fromTraceContext(api, parent) : null;
  if (!api || !sc) return write(children.map(() => null));
  const ctx = api.trace.setSpanContext(api.context.active(), sc);
  const tracer = api.trace.getTracer(TRACER_NAME);
  const spans = children.map((c) =>
    tracer.startSpan(`send ${c.type}`, { kind: api.SpanKind.PRODUCER, attributes: { ...enqueueAttributes({ type: c.type, queue: c.queue, count: 1, explicit: null }), [TRACE_ATTR.jobId]: c.id, [TRACE_ATTR.messageId]: c.id } }, ctx),
  );
  try {
    return await write(spans.map((s) => (api.trace.isSpanContextValid(s.spanContext()) ? toTraceContext(s.spanContext()) : null)));
  } finally {
    for (const s of spans) s.end();
  }
}

/** How an attempt ended (`RunOutcome` of the worker). */
type AttemptOutcome = 'completed' | 'retried' | 'failed' | 'stale' | 'released';

/**
 * Runs one attempt of `job` in a CONSUMER span `process <type>` (active while it runs, so the
 * handler's own spans are its children), linked to the job's recorded trace context, with the
 * attempt's outcome as an attribute. Without the API, just runs it.
 */
export async function withAttemptSpan<O extends AttemptOutcome>(job: Job, run: () => Promise<O>): Promise<O> {
  const api = await loadOtel();
  if (!api) return run();
  const linked = job.trace ? fromTraceContext(api, job.trace) : null;
  const attributes = {
    [TRACE_ATTR.system]: 'jobtable',
    [TRACE_ATTR.operation]: 'process',
    [TRACE_ATTR.destination]: job.queue,
    [TRACE_ATTR.messageId]: job.id,
    [TRACE_ATTR.jobId]: job.id,
    [TRACE_ATTR.jobType]: job.type,
    [TRACE_ATTR.queue]: job.queue,
    [TRACE_ATTR.attempt]: job.attempts,
    ...(job.parentId ? { [TRACE_ATTR.parentId]: job.parentId } : {}),
    ...(job.dependencies ? { [TRACE_ATTR.dependencyCount]: job.dependencies.total } : {}),
  };
  const options = { kind: api.SpanKind.CONSUMER, attributes, links: linked ? [{ context: linked }] : [] };
  return api.trace.getTracer(TRACER_NAME).startActiveSpan(`process ${job.type}`, options, (span) =>
    endAfter(api, span, async () => {
      const outcome = await run();
      span.setAttribute(TRACE_ATTR.outcome, outcome);
      if (outcome === 'failed' || outcome === 'retried') span.setStatus({ code: api.SpanStatusCode.ERROR, message: `attempt ${job.attempts} ${outcome === 'failed' ? 'failed for good' : 'failed and will be retried'}` });
      return outcome;
    }),
  );
}

/**
 * The W3C `traceparent` of a Lambda trace header (`Root=1-<8 hex>-<24 hex>;Parent=<16 hex>;Sampled=<0|1>`),
 * or null if it has no parent. X-Ray's trace id is the W3C trace id without its dashes.
 * @example traceparentFromXRay('Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1')
 * // '00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01'
 */
export function traceparentFromXRay(header: string | undefined): string | null {
  if (!header) return null;
  const fields = new Map(header.split(';').map((kv) => kv.trim().split('=', 2) as [string, string]));
  const root = /^1-([0-9a-f]{8})-([0-9a-f]{24})$/.exec(fields.get('Root') ?? '');
  const parent = fields.get('Parent');
  if (!root || !parent || !/^[0-9a-f]{16}$/.test(parent)) return null;
  return `00-${root[1]}${root[2]}-${parent}-${fields.get('Sampled') === '1' ? '01' : '00'}`;
}

/**
 * Runs `fn` with Lambda's own trace (the `_X_AMZN_TRACE_ID` header) as the active parent, when
 * the API is installed and no valid span is active already (an instrumented runtime sets one).
 */
export async function withLambdaTrace<T>(xrayHeader: string | undefined, fn: () => Promise<T>): Promise<T> {
  const traceparent = traceparentFromXRay(xrayHeader);
  const api = traceparent ? await loadOtel() : null;
  const active = api?.trace.getSpan(api.context.active())?.spanContext();
  if (!api || !traceparent || (active && api.trace.isSpanContextValid(active))) return fn();
  const sc = fromTraceContext(api, { traceparent });
  if (!sc) return fn();
  const ctx: Context = api.trace.setSpanContext(api.context.active(), sc);
  return api.context.with(ctx, fn);
}

/**
 * The W3C trace context of the caller's active span, to send along with a request that another
 * process turns into jobs (`LambdaJobClient`'s invoke payload). Null without the API, without a
 * registered SDK, or with no valid span active.
 */
export async function activeTraceContext(): Promise<TraceContext | null> {
  const api = await loadOtel();
  const sc = api?.trace.getSpan(api.context.active())?.spanContext();
  return api && sc && api.trace.isSpanContextValid(sc) ? toTraceContext(sc) : null;
}

/**
 * Runs `fn` with `tc` (a caller's trace context that came over the wire, already validated) as
 * the active parent, so the spans `fn` starts (an `enqueueMany` batch span) continue the
 * caller's trace. Overrides any active span: the caller's context is the more specific parent.
 * Without the API, or with a null or malformed `tc`, just runs `fn`.
 */
export async function withRemoteParent<T>(tc: TraceContext | null, fn: () => Promise<T>): Promise<T> {
  const api = tc ? await loadOtel() : null;
  const sc = api && tc ? fromTraceContext(api, tc) : null;
  if (!api || !sc) return fn();
  return api.context.with(api.trace.setSpanContext(api.context.active(), sc), fn);
}
