/**
 * Environment variables the Lambda functions and the local stack read, defined once. The CDK
 * construct sets them from the same constants.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ValidationError } from './errors.ts';
import { validateInteger, validateShardCount } from './model/validate.ts';
import { JobQueue } from './queue.ts';
import { DEFAULT_SHARD_COUNT } from './schema.ts';
import type { JobQueueOptions, JobTypeMap } from './types.ts';

/** Names of the environment variables. */
export const ENV = {
  /** The jobs table. */
  tableName: 'JOBTABLE_TABLE_NAME',
  /** Write shards per queue (must match between producers and workers). */
  shardCount: 'JOBTABLE_SHARD_COUNT',
  /** The queue a worker drains. */
  queue: 'JOBTABLE_QUEUE',
  /** Jobs a worker runs at once. */
  concurrency: 'JOBTABLE_CONCURRENCY',
  /** A DynamoDB endpoint override (DynamoDB Local). */
  dynamoEndpoint: 'JOBTABLE_DYNAMODB_ENDPOINT',
  /** EventBridge Scheduler group holding wake-ups and recurring schedules (see lib/scheduler). */
  scheduleGroup: 'JOBTABLE_SCHEDULE_GROUP',
  /** Role EventBridge Scheduler assumes to invoke the targets. */
  schedulerRoleArn: 'JOBTABLE_SCHEDULER_ROLE_ARN',
  /** The worker function: target of wake-ups and kicks. */
  wakeTargetArn: 'JOBTABLE_WAKE_TARGET_ARN',
  /** The schedule-target function: target of recurring schedules. */
  recurringTargetArn: 'JOBTABLE_RECURRING_TARGET_ARN',
} as const;

/** Reads a queue configuration from the environment (throws a clear error if the table is missing). */
export function queueOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): { tableName: string; shardCount: number; queue: string; concurrency: number; endpoint?: string } {
  const tableName = env[ENV.tableName];
  if (!tableName) throw new ValidationError(ENV.tableName, 'set to the jobs table name', `environment variable ${ENV.tableName} is not set`);
  const shardCount = env[ENV.shardCount] ? validateShardCount(Number(env[ENV.shardCount]), ENV.shardCount) : DEFAULT_SHARD_COUNT;
  const concurrency = env[ENV.concurrency] ? validateInteger(Number(env[ENV.concurrency]), ENV.concurrency, 1, 1_000) : 4;
  const endpoint = env[ENV.dynamoEndpoint];
  return { tableName, shardCount, queue: env[ENV.queue] || 'default', concurrency, ...(endpoint ? { endpoint } : {}) };
}

/**
 * A `JobQueue` configured from the environment, for Lambda handlers.
 * @example
 * const queue = queueFromEnv(); // reads JOBTABLE_TABLE_NAME, JOBTABLE_SHARD_COUNT
 */
export function queueFromEnv<M extends JobTypeMap = Record<string, any>>(
  env: NodeJS.ProcessEnv = process.env,
  extra: Partial<Omit<JobQueueOptions, 'tableName' | 'shardCount'>> = {},
): JobQueue<M> {
  const o = queueOptionsFromEnv(env);
  const client = extra.client ?? new DynamoDBClient(o.endpoint ? { endpoint: o.endpoint } : {});
  return new JobQueue<M>({ ...extra, tableName: o.tableName, shardCount: o.shardCount, client });
}
