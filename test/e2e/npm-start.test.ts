/**
 * `npm start` as a real process tree (npm, then `node dist/lib/cli/bin.js start --handlers
 * functions/jobs/index.ts`): it starts its own DynamoDB Local, creates the table, serves the API,
 * runs jobs, and stops cleanly on SIGTERM, on a terminal's Ctrl-C (SIGINT to the whole process
 * group) and on SIGINT sent to the npm process alone. A job running at the stop is released
 * (pending, attempt not consumed) or completed, never left `processing`.
 *
 * `--ignore-scripts` skips `prestart` (the build): the suite already built `dist/`, and a clean
 * build under running tests would delete files they import.
 */
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JobQueue } from '../../lib/queue.ts';
import { localClient } from '../../lib/local/dynamodb-local.ts';
import { stateFilePath } from '../../lib/local/state-file.ts';
import { tableNameForStage } from '../../lib/schema.ts';
import { waitFor } from '../helpers/ddb.ts';
import { http } from './stack.ts';

/** A running `npm start`, in its own process group (as a terminal runs a foreground job). */
interface NpmStart {
  readonly child: ChildProcess;
  readonly url: string;
  readonly exited: Promise<number | null>;
  output(): string;
}

async function npmStart(dataDir: string, extra: string[] = []): Promise<NpmStart> {
  const child = spawn('npm', ['start', '--ignore-scripts', '--silent', '--', '--data-dir', dataDir, ...extra], {
    env: { ...process.env, PORT: '0', NODE_NO_WARNINGS: '1', JOBTABLE_TABLE_NAME: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = (await waitFor((): string | undefined => /dashboard\s+(http:\/\/127\.0\.0\.1:\d+)\//.exec(out)?.[1], 100_000, 100)) as string;
  return { child, url, exited, output: () => out };
}

/** Kills what is left of a started tree (after a failed assertion). */
function cleanUp(s: NpmStart | undefined): void {
  if (s && s.child.exitCode === null) {
    try {
      process.kill(-s.child.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/** Starts a report that runs ~10 s (past the 5 s shutdown grace) and waits until it is processing. */
async function startLongJob(url: string): Promise<string> {
  const { json } = await http(url, 'POST', '/jobs', { type: 'generate_report', payload: { reportType: 'stop-test', steps: 40, stepMs: 250 } });
  await waitFor(async () => (await http(url, 'GET', `/jobs/${json.id}`)).json?.status === 'processing', 20_000);
  return json.id as string;
}

/** After a stop: the job is not stuck, on a fresh DynamoDB Local over the same data dir. */
async function jobAfterRestart(dataDir: string, id: string) {
  const { startDynamoDbLocal } = await import('../../lib/local/dynamodb-local.ts');
  const ddb = await startDynamoDbLocal({ dataDir });
  const client = localClient(ddb.endpoint);
  try {
    return await new JobQueue({ tableName: tableNameForStage('local'), client }).getJob(id);
  } finally {
    client.destroy();
    await ddb.stop();
  }
}

describe('npm start', () => {
  it('runs the whole stack in one process and stops cleanly on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'jobtable-start-'));
    let s: NpmStart | undefined;
    try {
      s = await npmStart(dataDir, ['--in-memory']);
      const state = JSON.parse(readFileSync(stateFilePath(dataDir), 'utf8'));
      expect(state).toMatchObject({ url: s.url, tableName: tableNameForStage('local'), queues: ['default'] });

      const { json } = await http(s.url, 'POST', '/jobs', { type: 'send_email', payload: { to: 'x@example.com', subject: 's' } });
      await waitFor(async () => (await http(s!.url, 'GET', `/jobs/${json.id}`)).json?.status === 'completed', 20_000);
      await waitFor(() => s!.output().includes(`completed ${json.id} send_email`), 10_000);

      process.kill(state.pid, 'SIGTERM');
      expect(await s.exited).toBe(0);
      expect(s.output()).toContain('Stopped.');
      expect(existsSync(stateFilePath(dataDir))).toBe(false);
      const client = localClient(state.dynamoEndpoint);
      await expect(client.send(new ListTablesCommand({}))).rejects.toThrow();
      client.destroy();
    } finally {
      cleanUp(s);
    }
    // Starting a JVM (DynamoDB Local) takes ~10 s on an idle 2-core machine, far longer when the
    // rest of the suite runs beside it: a generous bound, so that only a real hang fails.
  }, 150_000);

  it.each([
    ['Ctrl-C in a terminal (SIGINT to the whole process group)', (s: NpmStart) => process.kill(-s.child.pid!, 'SIGINT')],
    ['SIGINT to the npm process alone', (s: NpmStart) => process.kill(s.child.pid!, 'SIGINT')],
  ])('%s releases the running job before DynamoDB Local stops', async (_name, interrupt) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'jobtable-sigint-'));
    let s: NpmStart | undefined;
    try {
      s = await npmStart(dataDir);
      const id = await startLongJob(s.url);
      interrupt(s);
      await s.exited;
      await waitFor(() => !existsSync(stateFilePath(dataDir)), 20_000);
      expect(s.output()).toContain('Stopped.');
      expect(s.output()).not.toMatch(/ECONNREFUSED/);
      const job = await jobAfterRestart(dataDir, id);
      expect(job?.status === 'pending' ? job.attempts : job?.status).toBe(job?.status === 'pending' ? 0 : 'completed');
    } finally {
      cleanUp(s);
    }
  }, 180_000);
});
