/**
 * The enqueue Lambda, as a factory: `{ type, payload, ...options }` -> `{ id }`,
 * `{ jobs: [...] }` -> `{ ids }`. A thin adapter over `JobQueue.enqueue`/`enqueueMany`
 * (wire format: `lib/client/protocol.ts`).
 *
 * - Invalid input (including a queue the deployment does not serve) is returned as
 *   `{ error: { name, code, message, field, limit } }` and nothing is written. It is returned, not
 *   thrown, because it is permanent: a thrown error would make Lambda retry an asynchronous
 *   invoke twice and count a caller's mistake as a function fault. `LambdaJobClient` turns it
 *   back into a `ValidationError`.
 * - Any other error (throttling, a partial batch) is thrown, so Lambda retries asynchronous invokes.
 * - With `@opentelemetry/api` installed, Lambda's own trace (`_X_AMZN_TRACE_ID`) is the parent of
 *   the enqueue span when no span is active, so the job's attempts link into the invocation's trace.
 *   A caller's W3C trace context in the payload (`LambdaJobClient` forwards its active one: a
 *   job's `trace` option, or a batch's `trace`) is the parent instead.
 * - A job without an idempotency key gets `lambda:<awsRequestId>[:<index>]` (a debounced job gets
 *   none: a retried invoke merges the same payload again, which only pushes the window). The request id is the
 *   same on Lambda's retries of an asynchronous invoke, so a retry returns the same ids and writes
 *   nothing new. Cost: keyed jobs are written with one conditional PutItem each instead of
 *   BatchWriteItem (the same write units, more requests).
 */
import { JobTableError } from '../errors.ts';
import { fromEnqueueEvent, toErrorResponse } from '../client/protocol.ts';
import type { EnqueueResponse } from '../client/protocol.ts';
import { createObservability } from '../observability/powertools.ts';
import { withLambdaTrace, withRemoteParent } from '../observability/tracing.ts';
import type { JobQueue } from '../queue.ts';
import { queueFromEnv } from '../queue-from-env.ts';

/** The default idempotency key of the i-th job of an invoke (see the module comment). */
export function requestIdempotencyKey(awsRequestId: string, batch: boolean, index: number): string {
  return batch ? `lambda:${awsRequestId}:${index}` : `lambda:${awsRequestId}`;
}

/** Options of {@link createEnqueueHandler}. */
export interface EnqueueHandlerOptions {
  /** The queue to use (tests, or a client of your own). @default queueFromEnv() */
  readonly queue?: JobQueue<any>;
  /** Where the configuration comes from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/** The Lambda handler the enqueue function exports. */
export type EnqueueHandler = (event: unknown, context: { readonly awsRequestId: string }) => Promise<EnqueueResponse>;

/**
 * Builds the enqueue Lambda's handler (configured from the environment on first use).
 * @example
 * import { createEnqueueHandler } from 'jobtable/lambda';
 * export const handler = createEnqueueHandler();
 */
export function createEnqueueHandler(options: EnqueueHandlerOptions = {}): EnqueueHandler {
  let queue: JobQueue | undefined = options.queue;
  const { logger } = createObservability();
  return async (event, context) => {
    const env = options.env ?? process.env;
    queue ??= queueFromEnv(env);
    return withLambdaTrace(env._X_AMZN_TRACE_ID, () => enqueueEvent(queue!, logger, event, context));
  };
}

/** Enqueues what one invoke asked for (see the module comment). */
async function enqueueEvent(queue: JobQueue, logger: ReturnType<typeof createObservability>['logger'], event: unknown, context: { readonly awsRequestId: string }): Promise<EnqueueResponse> {
  const batch = typeof event === 'object' && event !== null && 'jobs' in event;
  try {
    const { requests, trace } = fromEnqueueEvent(event, (i) => requestIdempotencyKey(context.awsRequestId, batch, i));
    if (!batch) {
      const r = requests[0]!;
      const id = await queue.enqueue(r.type, r.payload, r.options);
      logger.info('job enqueued', { jobId: id, jobType: r.type, jobQueue: r.options?.queue ?? 'default', requestId: context.awsRequestId });
      return { id };
    }
    const ids = await withRemoteParent(trace, () => queue.enqueueMany(requests));
    logger.info('jobs enqueued', { count: ids.length, requestId: context.awsRequestId });
    return { ids };
  } catch (err) {
    if (err instanceof JobTableError && err.code === 'VALIDATION') {
      logger.warn('enqueue rejected: invalid input', { requestId: context.awsRequestId, error: err.toJSON() });
      return toErrorResponse(err);
    }
    throw err;
  }
}
