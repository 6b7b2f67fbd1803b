/** What every store operation needs: the client, the table, and the injected clock and randomness. */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { LimitsByQueue } from '../model/limits.ts';
import type { Clock, RetentionOptions } from '../types.ts';

/** Shared by all store operations. */
export interface StoreContext {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly shardCount: number;
  readonly clock: Clock;
  readonly random: () => number;
  readonly retention: Required<RetentionOptions>;
  /** Flow-control limits per queue (`JobQueueOptions.limits`), validated; the drain enforces them. */
  readonly limits?: LimitsByQueue;
}

/** True if `err` is DynamoDB's ConditionalCheckFailedException. */
export function isConditionFailed(err: unknown): err is Error & { Item?: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> } {
  return err instanceof Error && err.name === 'ConditionalCheckFailedException';
}
