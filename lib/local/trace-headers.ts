/**
 * The W3C trace context of an HTTP request (`traceparent` and `tracestate` headers), for
 * `POST /jobs`: the job continues the caller's trace the way `EnqueueOptions.trace` says.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { ValidationError } from '../errors.ts';
import { validateTraceContext } from '../model/validate.ts';
import { activeTraceContext } from '../observability/tracing.ts';
import type { TraceContext } from '../types.ts';

/** Length of a version-00 `traceparent`; later versions may append `-<more fields>` after it. */
const TRACEPARENT_LENGTH = 55;

/**
 * The request's trace context, or null. As the W3C recommendation says, a malformed or repeated
 * `traceparent` is ignored (the job starts a trace of its own; the enqueue is not refused over a
 * tracing header), and so is a `tracestate` that is malformed or over 512 characters (the
 * `traceparent` is kept). A `traceparent` of a later version keeps its first four fields.
 * Null too when a span is active already (an instrumented server has read the headers into it):
 * that span is the better parent.
 */
export async function traceFromHeaders(headers: IncomingHttpHeaders): Promise<TraceContext | null> {
  const raw = headers.traceparent;
  if (typeof raw !== 'string' || (await activeTraceContext())) return null;
  const traceparent = raw.length > TRACEPARENT_LENGTH && !raw.startsWith('00-') && raw[TRACEPARENT_LENGTH] === '-' ? raw.slice(0, TRACEPARENT_LENGTH) : raw;
  const parent = valid({ traceparent: traceparent.trim() });
  if (!parent) return null;
  const state = typeof headers.tracestate === 'string' ? headers.tracestate.trim() : '';
  return state ? (valid({ ...parent, tracestate: state }) ?? parent) : parent;
}

function valid(tc: TraceContext): TraceContext | null {
  try {
    return validateTraceContext(tc, 'traceparent');
  } catch (err) {
    if (err instanceof ValidationError) return null;
    throw err;
  }
}
