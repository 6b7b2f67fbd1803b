/**
 * The stream function, as a factory: prompt pickup in AWS. Triggered by the jobs table's
 * DynamoDB stream (filtered to records that leave a job pending), it kicks the worker for queues
 * with due jobs and creates coalesced one-time wake-ups for delayed ones. A thin adapter over
 * `lib/scheduler/stream.ts`; a failure makes Lambda retry the batch (both actions are idempotent).
 */
import { createObservability } from '../observability/powertools.ts';
import { handleStreamBatch, streamDepsFromEnv } from '../scheduler/stream.ts';
import type { StreamDeps, StreamRecordLike } from '../scheduler/stream.ts';

/** Options of {@link createStreamHandler}. */
export interface StreamHandlerOptions {
  /** The kick and scheduler to use (tests). @default streamDepsFromEnv() */
  readonly deps?: StreamDeps;
  /** Where the configuration comes from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/** What the stream function returns (for the logs): queues kicked and wake-ups planned. */
export interface StreamResult {
  readonly kicked: string[];
  readonly wakeUps: number;
}

/** The Lambda handler the stream function exports. */
export type StreamHandler = (event: { readonly Records?: readonly StreamRecordLike[] }) => Promise<StreamResult>;

/**
 * Builds the stream function's handler.
 * @example
 * import { createStreamHandler } from 'jobtable/lambda';
 * export const handler = createStreamHandler();
 */
export function createStreamHandler(options: StreamHandlerOptions = {}): StreamHandler {
  const { logger } = createObservability();
  let deps = options.deps;
  return async (event) => {
    deps ??= streamDepsFromEnv(options.env ?? process.env);
    const plan = await handleStreamBatch(event.Records ?? [], deps);
    const summary = { kicked: plan.kick.map((k) => k.queue), wakeUps: plan.wakeAt.length };
    logger.info('stream batch', { records: event.Records?.length ?? 0, ...summary, wakeAt: plan.wakeAt.map((w) => `${w.queue}@${new Date(w.atMs).toISOString()}`) });
    return summary;
  };
}
