/**
 * Creates the jobs table, its index and TTL from the schema in `lib/schema.ts` (the CDK
 * construct declares the same). Idempotent: an existing table is left as it is.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { validateTableName } from '../model/validate.ts';
import { TABLE } from '../schema.ts';
import { jobsTableDefinition } from './table-definition.ts';

export { jobsTableDefinition };

/**
 * Creates the jobs table with its status/run_at index and TTL, and waits until it is active.
 * Does nothing to a table that already exists, except turning TTL on if it is off.
 *
 * @example
 * await createJobsTable(new DynamoDBClient({ endpoint: 'http://127.0.0.1:8000' }), 'jobs');
 */
export async function createJobsTable(client: DynamoDBClient, tableName: string): Promise<void> {
  validateTableName(tableName);
  try {
    await client.send(new CreateTableCommand(jobsTableDefinition(tableName)));
  } catch (err) {
    if (!(err instanceof Error && err.name === 'ResourceInUseException')) throw err;
  }
  await waitUntilTableExists({ client, maxWaitTime: 60, minDelay: 1 }, { TableName: tableName });
  const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
  const status = ttl.TimeToLiveDescription?.TimeToLiveStatus;
  if (status !== 'ENABLED' && status !== 'ENABLING') {
    await client.send(
      new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { AttributeName: TABLE.ttlAttribute, Enabled: true } }),
    );
  }
}

/** True if the table exists. */
export async function tableExists(client: DynamoDBClient, tableName: string): Promise<boolean> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return true;
  } catch (err) {
    if (err instanceof Error && err.name === 'ResourceNotFoundException') return false;
    throw err;
  }
}
