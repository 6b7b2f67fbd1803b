/**
 * The jobs table's CreateTable request, from the schema in `lib/schema.ts`. Plain data with a
 * type-only SDK import, so the CDK construct derives its table from it without loading the SDK.
 */
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { TABLE } from '../schema.ts';

/** The CreateTable request for a jobs table (on-demand billing). */
export function jobsTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: TABLE.partitionKey, AttributeType: 'S' },
      { AttributeName: TABLE.indexPartitionKey, AttributeType: 'S' },
      { AttributeName: TABLE.indexSortKey, AttributeType: 'S' },
    ],
    KeySchema: [{ AttributeName: TABLE.partitionKey, KeyType: 'HASH' }],
    GlobalSecondaryIndexes: [
      {
        IndexName: TABLE.indexName,
        KeySchema: [
          { AttributeName: TABLE.indexPartitionKey, KeyType: 'HASH' },
          { AttributeName: TABLE.indexSortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...TABLE.indexProjection] },
      },
    ],
  };
}
