/**
 * A read-only guard on a DynamoDB client: every command that is not a read is refused before it
 * is signed or sent, with a {@link ReadOnlyError}. The dashboard's `--read-only` mode refuses writes
 * at its routes too; this guard makes a forgotten route, or a future one, unable to write anyway.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ReadOnlyError } from '../errors.ts';

/** The DynamoDB commands a read-only dashboard may send: reads of items, of the index and of the table's description. */
export const READ_COMMANDS: ReadonlySet<string> = new Set([
  'GetItemCommand',
  'BatchGetItemCommand',
  'QueryCommand',
  'ScanCommand',
  'DescribeTableCommand',
  'DescribeTimeToLiveCommand',
]);

/** Makes `client` refuse every command outside {@link READ_COMMANDS}; returns the same client. */
export function guardReadOnly(client: DynamoDBClient): DynamoDBClient {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName ?? 'unknown command');
      if (!READ_COMMANDS.has(name)) throw new ReadOnlyError(`DynamoDB ${name.replace(/Command$/, '')}`);
      return next(args);
    },
    { step: 'initialize', name: 'jobtableReadOnly', priority: 'high' },
  );
  return client;
}
