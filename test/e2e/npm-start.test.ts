/**
 * `jobtable start` (what `npm start` runs) as a real process: it starts its own DynamoDB Local
 * (in memory), creates the table, serves the API, runs jobs, and on SIGTERM stops cleanly:
 * exit code 0, state file removed, DynamoDB Local gone.
 */
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localClient } from '../../lib/local/dynamodb-local.ts';
import { stateFilePath } from '../../lib/local/state-file.ts';
import { tableNameForStage } from '../../lib/schema.ts';
import { waitFor } from '../helpers/ddb.ts';
import { http } from './stack.ts';

describe('npm start', () => {
  it('runs the whole stack in one process and stops cleanly on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'jobtable-start-'));
    const child = spawn('node', ['bin/jobtable.js', 'start', '--in-memory', '--data-dir', dataDir], {
      env: { ...process.env, PORT: '0', NODE_NO_WARNINGS: '1', JOBTABLE_TABLE_NAME: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const url: string = await waitFor((): string | undefined => /dashboard\s+(http:\/\/127\.0\.0\.1:\d+)\//.exec(stdout)?.[1], 100_000, 100) as string;
      const state = JSON.parse(readFileSync(stateFilePath(dataDir), 'utf8'));
      expect(state).toMatchObject({ url, tableName: tableNameForStage('local'), pid: child.pid });

      const { json } = await http(url, 'POST', '/jobs', { type: 'send_email', payload: { to: 'x@example.com', subject: 's' } });
      await waitFor(async () => (await http(url, 'GET', `/jobs/${json.id}`)).json?.status === 'completed', 20_000);
      await waitFor(() => stdout.includes(`completed ${json.id} send_email`), 10_000);

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stdout).toContain('Stopped.');
      expect(existsSync(stateFilePath(dataDir))).toBe(false);
      const client = localClient(state.dynamoEndpoint);
      await expect(client.send(new ListTablesCommand({}))).rejects.toThrow();
      client.destroy();
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      if (stderr.trim()) console.error(stderr);
    }
    // Starting a JVM (DynamoDB Local) takes ~10 s on an idle 2-core machine, far longer when the
    // rest of the suite runs beside it: a generous bound, so that only a real hang fails.
  }, 150_000);
});
