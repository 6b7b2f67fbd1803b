/**
 * Helpers for tests of `jobtable dashboard` against a table that is not the local stack's: a
 * "stand-in for AWS" table on the run's DynamoDB Local, made like the CDK construct makes it (the
 * same definition, plus the NEW_IMAGE stream), and the real `jobtable` binary serving it.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { CreateTableCommand, ScanCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { jobsTableDefinition } from '../../lib/store/create-table.ts';
import { ddbEndpoint } from '../helpers/ddb.ts';

/** Creates a jobs table as the CDK construct does (with its stream); returns its name. */
export async function createStandInTable(client: DynamoDBClient, withStream = true): Promise<string> {
  const name = `jobtable-standin-${randomUUID().slice(0, 8)}-jobs`;
  await client.send(new CreateTableCommand({ ...jobsTableDefinition(name), ...(withStream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' } } : {}) }));
  await waitUntilTableExists({ client, maxWaitTime: 60, minDelay: 1 }, { TableName: name });
  return name;
}

/** Every item of a table, sorted by id, as JSON: to prove that nothing was written. */
export async function tableSnapshot(client: DynamoDBClient, tableName: string): Promise<string> {
  const items: unknown[] = [];
  let start: Record<string, any> | undefined;
  do {
    const res = await client.send(new ScanCommand({ TableName: tableName, ConsistentRead: true, ...(start ? { ExclusiveStartKey: start } : {}) }));
    items.push(...(res.Items ?? []));
    start = res.LastEvaluatedKey;
  } while (start);
  return JSON.stringify(items.sort((a: any, b: any) => (a.id.S < b.id.S ? -1 : 1)));
}

/** A running `jobtable dashboard` child process. */
export interface DashboardProcess {
  readonly url: string;
  readonly child: ChildProcess;
  readonly stderr: () => string;
  stop(): Promise<number | null>;
}

/** Starts `jobtable dashboard --table <tableName>` on a free port with `extra` arguments, credentials of DynamoDB Local. */
export function startDashboard(tableName: string, extra: string[] = []): Promise<DashboardProcess> {
  const args = ['dist/lib/cli/bin.js', 'dashboard', '--table', tableName, '--endpoint', ddbEndpoint(), '--region', 'local', '--port', '0', '--json', ...extra];
  const child = spawn('node', args, {
    env: { ...process.env, NODE_NO_WARNINGS: '1', JOBTABLE_TABLE_NAME: '', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_PROFILE: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dashboard did not start: ${stderr}`)), 45_000);
    child.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString();
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      if (!line) return;
      clearTimeout(timer);
      resolve({
        url: JSON.parse(line).url,
        child,
        stderr: () => stderr,
        stop: async () => {
          child.kill('SIGINT');
          return exited;
        },
      });
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`dashboard exited with ${code}: ${stderr}`));
    });
  });
}
