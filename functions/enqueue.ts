/**
 * The enqueue Lambda: `{ type, payload, ...options }` -> `{ id }`, `{ jobs: [...] }` -> `{ ids }`.
 * A thin adapter over `JobQueue.enqueue`/`enqueueMany` (wire format: `lib/client/protocol.ts`).
 *
 * - Invalid input is returned as `{ error: { name, code, message, field, limit } }` and nothing is
 *   written. It is returned, not thrown, because it is permanent: a thrown error would make Lambda
 *   retry an asynchronous invoke twice and count a caller's mistake as a function fault.
 *   `LambdaJobClient` turns it back into a `ValidationError`.
 * - Any other error (throttling, a partial batch) is thrown, so Lambda retries asynchronous invokes.
 * - A job without an idempotency key gets `lambda:<awsRequestId>[:<index>]`. The request id is the
 *   same on Lambda's retries of an asynchronous invoke, so a retry returns the same ids and writes
 *   nothing new; every synchronous invoke has a new request id, so distinct calls never merge.
 *   Cost: keyed jobs are written with one conditional PutItem each instead of BatchWriteItem
 *   (the same write units, more requests).
 */
import type { Context } from 'aws-lambda';
import { JobTableError } from '../lib/errors.ts';
import { queueFromEnv } from '../lib/env.ts';
import { fromEnqueueEvent, toErrorResponse } from '../lib/client/protocol.ts';
import type { EnqueueResponse } from '../lib/client/protocol.ts';
import { createObservability } from '../lib/observability/powertools.ts';
import type { JobQueue } from '../lib/queue.ts';
import type { JobTypes } from './jobs/index.ts';

let queue: JobQueue<JobTypes> | undefined;
const { logger } = createObservability();

/** The default idempotency key of the i-th job of an invoke (see the module comment). */
export function requestIdempotencyKey(awsRequestId: string, batch: boolean, index: number): string {
  return batch ? `lambda:${awsRequestId}:${index}` : `lambda:${awsRequestId}`;
}

/** The Lambda handler. */
export async function handler(event: unknown, context: Pick<Context, 'awsRequestId'>): Promise<EnqueueResponse> {
  queue ??= queueFromEnv<JobTypes>();
  const batch = typeof event === 'object' && event !== null && 'jobs' in event;
  try {
    const { requests } = fromEnqueueEvent(event, (i) => requestIdempotencyKey(context.awsRequestId, batch, i));
    if (!batch) {
      const r = requests[0]!;
      const id = await queue.enqueue(r.type as keyof JobTypes & string, r.payload as never, r.options);
      logger.info('job enqueued', { jobId: id, jobType: r.type, requestId: context.awsRequestId });
      return { id };
    }
    const ids = await queue.enqueueMany(requests as never);
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
