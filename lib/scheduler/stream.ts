/**
 * Prompt pickup in AWS: a DynamoDB Streams trigger on the jobs table. Every write that leaves a
 * job pending (an enqueue by any path, a batch, a retry with backoff, a redrive, a released
 * job) produces a stream record; this turns a batch of records into one kick per queue with due
 * work and one coalesced wake-up per queue and minute for delayed work (see `./wakeups.ts`).
 * `functions/stream.ts` is a thin adapter over {@link handleStreamBatch}.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { SchedulerClient } from '@aws-sdk/client-scheduler';
import { ENV } from '../env.ts';
import { ValidationError } from '../errors.ts';
import { ATTR, LANE } from '../schema.ts';
import type { Clock } from '../types.ts';
import { schedulerFromEnv } from './eventbridge.ts';
import { lambdaKick } from './kick.ts';
import type { Kick } from './kick.ts';
import type { Scheduler } from './port.ts';
import { planWakeups } from './wakeups.ts';
import type { PendingJobInfo, WakeupPlan, WakeupPlanOptions } from './wakeups.ts';

export { streamFilterPattern } from './stream-filter.ts';

/** The part of a DynamoDB stream record this reads (the shape of `@types/aws-lambda`'s record). */
export interface StreamRecordLike {
  readonly eventName?: string;
  readonly dynamodb?: { readonly NewImage?: Record<string, { S?: string; N?: string } | undefined> };
}

/** The pending jobs in a batch of stream records (others are ignored). */
export function pendingJobsFromRecords(records: readonly StreamRecordLike[]): PendingJobInfo[] {
  const out: PendingJobInfo[] = [];
  for (const r of records) {
    if (r.eventName !== 'INSERT' && r.eventName !== 'MODIFY') continue;
    const img = r.dynamodb?.NewImage;
    const queue = img?.[ATTR.queue]?.S;
    const runAt = img?.[ATTR.runAt]?.S;
    if (img?.[ATTR.status]?.S !== 'pending' || !queue || !runAt) continue;
    // A FIFO job parked behind its group's head is not due whatever its run_at: its promotion (a MODIFY into the due lane) kicks.
    if (img[ATTR.statusShard]?.S?.startsWith(`${queue}#${LANE.fifo}#`)) continue;
    const runAtMs = Date.parse(runAt);
    const shard = Number(img[ATTR.statusShard]?.S?.split('#').pop());
    if (Number.isFinite(runAtMs)) out.push({ queue, runAtMs, ...(Number.isInteger(shard) ? { shard } : {}) });
  }
  return out;
}

/** What {@link handleStreamBatch} needs. */
export interface StreamDeps {
  /** Wakes a queue's worker now. */
  readonly kick: Kick;
  /** Makes the one-time wake-ups. */
  readonly scheduler: Pick<Scheduler, 'wakeAt'>;
  /** @default the system clock */
  readonly clock?: Clock;
  readonly plan?: WakeupPlanOptions;
}

/**
 * Kicks and schedules wake-ups for one batch of stream records; returns the plan it carried out.
 * Throws if a kick or a CreateSchedule fails, so Lambda retries the batch (both are idempotent);
 * if retries run out, the minute tick still picks the jobs up.
 */
export async function handleStreamBatch(records: readonly StreamRecordLike[], deps: StreamDeps): Promise<WakeupPlan> {
  const now = (deps.clock ?? { now: () => Date.now() }).now();
  const plan = planWakeups(pendingJobsFromRecords(records), now, deps.plan);
  await Promise.all([...plan.kick.map((k) => deps.kick(k.queue, 'enqueued', k.shards)), ...plan.wakeAt.map((w) => deps.scheduler.wakeAt(w.queue, w.atMs))]);
  return plan;
}

/**
 * The stream function's dependencies from the environment the CDK construct sets: the kick
 * invokes the worker (`JOBTABLE_WAKE_TARGET_ARN`) asynchronously; wake-ups go to the schedule group.
 * @throws ValidationError naming the missing variable
 */
export function streamDepsFromEnv(env: NodeJS.ProcessEnv = process.env, clients: { lambda?: LambdaClient; scheduler?: SchedulerClient } = {}): StreamDeps {
  const scheduler = schedulerFromEnv(env, clients.scheduler);
  const missing = [ENV.scheduleGroup, ENV.schedulerRoleArn, ENV.recurringTargetArn, ENV.wakeTargetArn].find((name) => !env[name]);
  if (!scheduler || missing) throw new ValidationError(missing ?? ENV.scheduleGroup, 'set by the JobTable construct', `environment variable ${missing} is not set`);
  return { kick: lambdaKick(clients.lambda ?? new LambdaClient({}), env[ENV.wakeTargetArn]!), scheduler };
}
