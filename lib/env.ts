/**
 * Environment variables the Lambda functions and the local stack read, defined once as plain data
 * (no SDK import), so the CDK construct sets them from the same constants without loading the
 * runtime. `queueFromEnv` (in `./queue-from-env.ts`) builds a `JobQueue` from them.
 */
import { LimitsError, ValidationError } from './errors.ts';
import { validateLimits } from './model/limits.ts';
import type { LimitsByQueue } from './model/limits.ts';
import { LIMITS, validateInteger, validateName, validateShardCount } from './model/validate.ts';
import { DEFAULT_SHARD_COUNT } from './schema.ts';

/** Names of the environment variables. */
export const ENV = {
  /** The jobs table. */
  tableName: 'JOBTABLE_TABLE_NAME',
  /** Write shards per queue (must match between producers and workers). */
  shardCount: 'JOBTABLE_SHARD_COUNT',
  /** The queue a worker drains when its event names none. */
  queue: 'JOBTABLE_QUEUE',
  /**
   * The queues the deployment serves, comma-separated: every one has a minute tick and an age
   * alarm, and an enqueue to any other queue is refused (it would never run).
   */
  queues: 'JOBTABLE_QUEUES',
  /** Jobs a worker runs at once. */
  concurrency: 'JOBTABLE_CONCURRENCY',
  /** A DynamoDB endpoint override (DynamoDB Local). */
  dynamoEndpoint: 'JOBTABLE_DYNAMODB_ENDPOINT',
  /**
   * Flow-control limits per queue, as JSON (`{"emails":{"group":{"concurrency":2}}}`, see
   * `QueueLimits`): the CDK construct sets it on every function from `JobTable`'s `limits`, so
   * every worker enforces the same ones.
   */
  limits: 'JOBTABLE_LIMITS',
  /** EventBridge Scheduler group holding wake-ups and recurring schedules (see lib/scheduler). */
  scheduleGroup: 'JOBTABLE_SCHEDULE_GROUP',
  /** Role EventBridge Scheduler assumes to invoke the targets. */
  schedulerRoleArn: 'JOBTABLE_SCHEDULER_ROLE_ARN',
  /** The worker function: target of wake-ups and kicks. */
  wakeTargetArn: 'JOBTABLE_WAKE_TARGET_ARN',
  /** The schedule-target function: target of recurring schedules. */
  recurringTargetArn: 'JOBTABLE_RECURRING_TARGET_ARN',
} as const;

/** A queue configuration read from the environment by {@link queueOptionsFromEnv}. */
export interface EnvQueueOptions {
  readonly tableName: string;
  readonly shardCount: number;
  /** The default queue of a worker (`JOBTABLE_QUEUE`, else the first served queue, else "default"). */
  readonly queue: string;
  /** The served queues (`JOBTABLE_QUEUES`); undefined if the variable is not set (any queue is accepted). */
  readonly queues?: readonly string[];
  readonly concurrency: number;
  readonly endpoint?: string;
  /** Flow-control limits per queue (`JOBTABLE_LIMITS`), validated; undefined if not set. */
  readonly limits?: LimitsByQueue;
}

/** Parses `JOBTABLE_LIMITS`: JSON of a limits map (see `validateLimits`). */
export function parseLimitsEnv(text: string, field: string = ENV.limits): LimitsByQueue {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new LimitsError(field, 'JSON of an object mapping queue names to { concurrency?, rate?, group? }', `${field} is not JSON`);
  }
  return validateLimits(parsed, field);
}

/** Parses `JOBTABLE_QUEUES`: a comma-separated list of valid queue names, at least one. */
export function parseQueueList(text: string, field: string = ENV.queues): string[] {
  const names = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length === 0) throw new ValidationError(field, 'a comma-separated list of at least one queue name', `${field} is empty`);
  return [...new Set(names.map((n) => validateName(n, field, LIMITS.queueMaxLength)))];
}

/** Reads a queue configuration from the environment (throws a clear error if the table is missing). */
export function queueOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): EnvQueueOptions {
  const tableName = env[ENV.tableName];
  if (!tableName) throw new ValidationError(ENV.tableName, 'set to the jobs table name', `environment variable ${ENV.tableName} is not set`);
  const shardCount = env[ENV.shardCount] ? validateShardCount(Number(env[ENV.shardCount]), ENV.shardCount) : DEFAULT_SHARD_COUNT;
  const concurrency = env[ENV.concurrency] ? validateInteger(Number(env[ENV.concurrency]), ENV.concurrency, 1, 1_000) : 4;
  const queues = env[ENV.queues] ? parseQueueList(env[ENV.queues]!) : undefined;
  const queue = env[ENV.queue] ? validateName(env[ENV.queue]!, ENV.queue, LIMITS.queueMaxLength) : (queues?.[0] ?? 'default');
  const endpoint = env[ENV.dynamoEndpoint];
  const limits = env[ENV.limits] ? parseLimitsEnv(env[ENV.limits]!) : undefined;
  return { tableName, shardCount, queue, ...(queues ? { queues } : {}), concurrency, ...(endpoint ? { endpoint } : {}), ...(limits ? { limits } : {}) };
}
