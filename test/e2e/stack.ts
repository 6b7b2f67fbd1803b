/** A local stack for e2e tests: on the run's DynamoDB Local, with its own table and data dir. */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { handlers as exampleHandlers } from '../../functions/jobs/index.ts';
import { startLocalStack } from '../../lib/local/stack.ts';
import type { LocalStack, LocalStackOptions } from '../../lib/local/stack.ts';
import { ddbEndpoint, dropTable, testClient } from '../helpers/ddb.ts';

/** A started stack, its data dir, and a cleanup that stops it and drops its table. */
export interface TestStack {
  readonly stack: LocalStack;
  readonly dataDir: string;
  /** Items in the stack's table (a scan): to prove that a bad request wrote nothing. */
  itemCount(): Promise<number>;
  cleanup(): Promise<void>;
}

/**
 * Starts a stack on port 0 with a fresh table, a temporary data dir and quick polling, running
 * the example handlers of `functions/jobs/` unless told otherwise.
 */
export async function startTestStack(options: Partial<LocalStackOptions> = {}): Promise<TestStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'jobtable-e2e-'));
  const stack = await startLocalStack({
    handlers: exampleHandlers,
    port: 0,
    dynamoEndpoint: ddbEndpoint(),
    tableName: `e2e-${randomUUID().slice(0, 8)}`,
    dataDir,
    pollIntervalMs: 250,
    shardCount: 4,
    ...options,
  });
  return {
    stack,
    dataDir,
    async itemCount() {
      const res = await stack.client.send(new ScanCommand({ TableName: stack.tableName, Select: 'COUNT', ConsistentRead: true }));
      return res.Count ?? 0;
    },
    async cleanup() {
      await stack.stop();
      const client = testClient();
      await dropTable(client, stack.tableName);
      client.destroy();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** JSON over real HTTP. */
export async function http(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}
