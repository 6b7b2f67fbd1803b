/**
 * A deployment serving three queues, where a worker process dies mid-job in each one (issue 10,
 * item 4): nothing but the minute tick of each queue (the worker Lambda's handler, invoked with
 * that queue's tick event, as its schedule does) is left to finish them. Every job finishes, each
 * by its own queue's tick, and no tick touches another queue's job.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ENV } from '../../lib/env.ts';
import { createWorkerHandler } from '../../lib/lambda/worker.ts';
import { queueFromEnv } from '../../lib/queue-from-env.ts';
import { JobQueue } from '../../lib/queue.ts';
import { wakeEvent } from '../../lib/scheduler/wake-event.ts';
import { ddbEndpoint, dropTable, freshTable, testClient } from '../helpers/ddb.ts';

const QUEUES = ['default', 'mail', 'reports'] as const;

/** Starts a worker process on `queue` whose handler hangs; resolves once it runs `id`, then SIGKILLs it. */
async function killMidJob(tableName: string, queue: string, id: string): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/hanging-worker.ts', ddbEndpoint(), tableName, queue], { stdio: ['ignore', 'pipe', 'inherit'] });
  const started = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      const line = buf.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve((JSON.parse(line) as { started: string }).started);
    });
    child.once('exit', (code) => reject(new Error(`worker exited early (${code})`)));
  });
  expect(started).toBe(id);
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
}

describe('a worker dies in each queue of a multi-queue deployment', () => {
  const client = testClient();
  let tableName: string;
  beforeAll(async () => {
    tableName = await freshTable(client, 'multiq');
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true); // Powertools' log lines and EMF
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await dropTable(client, tableName);
    client.destroy();
  });

  it('every job finishes, each by the tick of its own queue', async () => {
    const queue = new JobQueue({ tableName, client });
    const ids: Record<string, string> = {};
    for (const q of QUEUES) {
      ids[q] = await queue.enqueue('hang', { q }, { queue: q, timeoutMs: 1_000 });
      await killMidJob(tableName, q, ids[q]!);
    }
    for (const q of QUEUES) expect(await queue.getJob(ids[q]!)).toMatchObject({ status: 'processing', attempts: 1 });

    const env = { [ENV.tableName]: tableName, [ENV.queues]: QUEUES.join(','), [ENV.dynamoEndpoint]: ddbEndpoint() };
    const ranBy: Record<string, string> = {};
    const tick = createWorkerHandler({ hang: (p: { q: string }, ctx) => ((ranBy[p.q] = ctx.job.queue), { rescued: true }) }, { env, queue: queueFromEnv(env, { client }) });
    const deadline = Date.now() + 900_000;
    const context = { awsRequestId: 'tick', getRemainingTimeInMillis: () => deadline - Date.now() };
    // Past the leases (1 s timeout + 2 s grace), each queue's tick finishes its own queue's job only.
    await new Promise((r) => setTimeout(r, 3_500));
    for (const q of QUEUES) {
      const report = await tick(wakeEvent(q, 'tick'), context);
      expect(report).toMatchObject({ queue: q, claimed: 1, completed: 1 });
    }
    expect(ranBy).toEqual({ default: 'default', mail: 'mail', reports: 'reports' });
    for (const q of QUEUES) expect(await queue.getJob(ids[q]!)).toMatchObject({ status: 'completed', attempts: 2, result: { rescued: true } });
  });
});
