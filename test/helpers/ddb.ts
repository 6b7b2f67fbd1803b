/** Shared test helpers: a client for the run's DynamoDB Local and a fresh table per test file. */
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { createJobsTable, JobQueue } from '../../lib/index.ts';
import type { JobQueueOptions, JobTypeMap } from '../../lib/index.ts';
import { localClient } from '../../lib/local/dynamodb-local.ts';

/** The endpoint of the DynamoDB Local started by the global setup. */
export function ddbEndpoint(): string {
  return inject('ddbEndpoint');
}

/** A client for the run's DynamoDB Local. */
export function testClient(): DynamoDBClient {
  return localClient(ddbEndpoint());
}

/** Creates a uniquely named jobs table and returns its name. */
export async function freshTable(client: DynamoDBClient, prefix = 'jobs'): Promise<string> {
  const name = `${prefix}-${randomUUID().slice(0, 8)}`;
  await createJobsTable(client, name);
  return name;
}

/** Deletes a table (best effort). */
export async function dropTable(client: DynamoDBClient, name: string): Promise<void> {
  await client.send(new DeleteTableCommand({ TableName: name })).catch(() => {});
}

/** A queue on a fresh table, plus its client and a cleanup. */
export async function freshQueue<M extends JobTypeMap = Record<string, any>>(
  options: Partial<Omit<JobQueueOptions, 'tableName' | 'client'>> = {},
): Promise<{ queue: JobQueue<M>; client: DynamoDBClient; tableName: string; cleanup: () => Promise<void> }> {
  const client = testClient();
  const tableName = await freshTable(client);
  const queue = new JobQueue<M>({ tableName, client, ...options });
  return { queue, client, tableName, cleanup: async () => { await dropTable(client, tableName); client.destroy(); } };
}

/** Waits until `check` returns a truthy value, polling; fails after `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T> | T, timeoutMs = 10_000, intervalMs = 25): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Sleeps. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
