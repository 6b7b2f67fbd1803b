/**
 * The stream function: prompt pickup in AWS. Triggered by the jobs table's DynamoDB stream
 * (filtered to records that leave a job pending), it kicks the worker for queues with due jobs
 * and creates coalesced one-time wake-ups for delayed ones. A thin adapter over
 * `lib/scheduler/stream.ts`; a failure makes Lambda retry the batch (both actions are idempotent).
 */
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { createObservability } from '../lib/observability/powertools.ts';
import { handleStreamBatch, streamDepsFromEnv } from '../lib/scheduler/stream.ts';
import type { StreamDeps } from '../lib/scheduler/stream.ts';

const { logger } = createObservability();
let deps: StreamDeps | undefined;

/** The Lambda handler: returns what it did, for the logs. */
export async function handler(event: DynamoDBStreamEvent): Promise<{ kicked: string[]; wakeUps: number }> {
  deps ??= streamDepsFromEnv();
  const plan = await handleStreamBatch(event.Records ?? [], deps);
  const summary = { kicked: plan.kick.map((k) => k.queue), wakeUps: plan.wakeAt.length };
  logger.info('stream batch', { records: event.Records?.length ?? 0, ...summary, wakeAt: plan.wakeAt.map((w) => `${w.queue}@${new Date(w.atMs).toISOString()}`) });
  return summary;
}
