/** An application table for effects tests: counters keyed by `pk`, changed by the handlers. */
import { CreateTableCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBClient, TransactWriteItem } from '@aws-sdk/client-dynamodb';

/** Creates an application table keyed by `pk` (a string). */
export async function createAppTable(c: DynamoDBClient, name: string): Promise<void> {
  await c.send(
    new CreateTableCommand({ TableName: name, BillingMode: 'PAY_PER_REQUEST', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }] }),
  );
}

/** An action adding 1 to the `n` of counter `pk` in `table`. */
export function addOne(table: string, pk: string): TransactWriteItem {
  return { Update: { TableName: table, Key: { pk: { S: pk } }, UpdateExpression: 'ADD n :one', ExpressionAttributeValues: { ':one': { N: '1' } } } };
}

/** The counter's value (0 if absent). */
export async function counter(c: DynamoDBClient, table: string, pk: string): Promise<number> {
  const r = await c.send(new GetItemCommand({ TableName: table, Key: { pk: { S: pk } }, ConsistentRead: true }));
  return Number(r.Item?.n?.N ?? 0);
}
