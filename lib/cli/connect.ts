/**
 * How the CLI finds its queue: a table in AWS (`--table`, `--region`, standard credential chain),
 * the environment (`JOBTABLE_TABLE_NAME`, `JOBTABLE_DYNAMODB_ENDPOINT`), or by default the running
 * local stack, through the state file it writes (`.data/endpoint.json`).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ENV, queueOptionsFromEnv } from '../env.ts';
import { localClient } from '../local/dynamodb-local.ts';
import { DEFAULT_DATA_DIR, readStackState, stateFilePath } from '../local/state-file.ts';
import { JobQueue } from '../queue.ts';
import { DEFAULT_SHARD_COUNT, tableNameForStage } from '../schema.ts';
import type { JobQueueOptions } from '../types.ts';
import { CliError, EXIT } from './exit.ts';

/** Connection options common to every command. */
export interface ConnectOptions {
  /** A table in AWS (or at `endpoint`). */
  readonly table?: string;
  readonly region?: string;
  /** A DynamoDB endpoint (e.g. a DynamoDB Local started some other way). */
  readonly endpoint?: string;
  /** Where to look for the local stack's state file. @default ".data" */
  readonly dataDir?: string;
  readonly shardCount?: number;
}

/** A connected queue, and a description of where it is for messages. */
export interface Connection {
  readonly queue: JobQueue;
  readonly where: string;
  close(): void;
}

/** Resolves the queue the CLI talks to. Throws a {@link CliError} (exit 3) if there is none. */
export function connect(options: ConnectOptions, env: NodeJS.ProcessEnv = process.env): Connection {
  let client: DynamoDBClient;
  let tableName: string;
  let shardCount = options.shardCount ?? DEFAULT_SHARD_COUNT;
  let where: string;
  let served: Pick<JobQueueOptions, 'queues' | 'jobTypes' | 'limits'> = {};
  if (options.table) {
    // An endpoint without a region is a DynamoDB Local of your own: its any-credentials config.
    client = options.endpoint && !options.region
      ? localClient(options.endpoint)
      : new DynamoDBClient({ ...(options.region ? { region: options.region } : {}), ...(options.endpoint ? { endpoint: options.endpoint } : {}) });
    tableName = options.table;
    where = `table ${tableName}${options.region ? ` in ${options.region}` : ''}${options.endpoint ? ` at ${options.endpoint}` : ''}`;
  } else if (options.endpoint) {
    client = localClient(options.endpoint);
    tableName = tableNameForStage('local');
    where = `table ${tableName} at ${options.endpoint}`;
  } else if (env[ENV.tableName]) {
    const o = queueOptionsFromEnv(env);
    client = o.endpoint ? localClient(o.endpoint) : new DynamoDBClient(options.region ? { region: options.region } : {});
    tableName = o.tableName;
    shardCount = options.shardCount ?? o.shardCount;
    where = `table ${tableName} (from ${ENV.tableName})`;
    if (o.limits) served = { limits: o.limits };
  } else {
    const dataDir = options.dataDir ?? DEFAULT_DATA_DIR;
    const state = readStackState(dataDir);
    if (!state) {
      throw new CliError(
        `No local stack is running (no live ${stateFilePath(dataDir)}). Start one with \`npm start\`, or pass --table and --region for a table in AWS.`,
        EXIT.unavailable,
      );
    }
    client = localClient(state.dynamoEndpoint);
    tableName = state.tableName;
    shardCount = options.shardCount ?? state.shardCount;
    where = `local stack ${state.url}`;
    served = { ...(state.queues ? { queues: state.queues } : {}), ...(state.jobTypes ? { jobTypes: state.jobTypes } : {}), ...(state.limits ? { limits: state.limits } : {}) };
  }
  return { queue: new JobQueue({ client, tableName, shardCount, ...served }), where, close: () => client.destroy() };
}
