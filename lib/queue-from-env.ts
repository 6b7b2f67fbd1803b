/** A `JobQueue` configured from the environment (see `./env.ts`), for Lambda handlers. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { queueOptionsFromEnv } from './env.ts';
import { JobQueue } from './queue.ts';
import type { JobQueueOptions, JobTypeMap } from './types.ts';

/**
 * A `JobQueue` on the table named by `JOBTABLE_TABLE_NAME`, with the shard count and served
 * queues of the environment (an enqueue to a queue outside `JOBTABLE_QUEUES` is refused), and
 * the flow-control limits of `JOBTABLE_LIMITS`.
 * @example
 * const queue = queueFromEnv<JobTypes>(); // reads JOBTABLE_TABLE_NAME, JOBTABLE_SHARD_COUNT, JOBTABLE_QUEUES
 */
export function queueFromEnv<M extends JobTypeMap = Record<string, any>>(
  env: NodeJS.ProcessEnv = process.env,
  extra: Partial<Omit<JobQueueOptions, 'tableName' | 'shardCount'>> = {},
): JobQueue<M> {
  const o = queueOptionsFromEnv(env);
  const client = extra.client ?? new DynamoDBClient(o.endpoint ? { endpoint: o.endpoint } : {});
  return new JobQueue<M>({ ...(o.queues ? { queues: o.queues } : {}), ...(o.limits ? { limits: o.limits } : {}), ...extra, tableName: o.tableName, shardCount: o.shardCount, client });
}
