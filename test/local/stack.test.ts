/**
 * `startLocalStack` on DynamoDB Local: prompt pickup through `onEnqueued`, extra services started
 * and stopped around the workers, the state file, and a clean stop that leaves no job claimed.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JobQueue } from '../../lib/index.ts';
import { startLocalStack } from '../../lib/local/stack.ts';
import type { LocalService, LocalStackContext } from '../../lib/local/stack.ts';
import { stateFilePath } from '../../lib/local/state-file.ts';
import { ddbEndpoint, testClient, waitFor } from '../helpers/ddb.ts';
import { http, startTestStack } from '../e2e/stack.ts';
import { runCli } from '../e2e/cli-runner.ts';

describe('local stack', () => {
  it('wakes the worker on enqueue (no waiting for the poll), and serves several queues', async () => {
    const t = await startTestStack({ pollIntervalMs: 60_000, queues: ['default', 'mail'] });
    try {
      expect([...t.stack.workers.keys()]).toEqual(['default', 'mail']);
      // Let both workers settle into their (60 s) idle sleep first.
      await new Promise((r) => setTimeout(r, 1_500));
      const a = await t.stack.queue.enqueue('noop', {});
      const b = await t.stack.queue.enqueue('noop', {}, { queue: 'mail' });
      // Within 20 s, far sooner than the 60 s poll interval: only the enqueue's wake-up can do that.
      await waitFor(async () => (await t.stack.queue.getJob(a))?.status === 'completed' && (await t.stack.queue.getJob(b))?.status === 'completed', 20_000);
    } finally {
      await t.cleanup();
    }
  });

  it('writes its state file, runs services between the workers, and stops without leaving a job claimed', async () => {
    const calls: string[] = [];
    let seen: LocalStackContext | undefined;
    const service: LocalService = {
      name: 'probe',
      start(ctx) {
        seen = ctx;
        calls.push(`start:${[...ctx.workers.values()].every((w) => w.isRunning)}`);
      },
      stop() {
        calls.push(`stop:${[...seen!.workers.values()].every((w) => w.isRunning)}`);
      },
    };
    const t = await startTestStack({ shutdownGraceMs: 200, services: [service] });
    const state = JSON.parse(readFileSync(stateFilePath(t.dataDir), 'utf8'));
    expect(state).toMatchObject({ url: t.stack.url, dynamoEndpoint: ddbEndpoint(), tableName: t.stack.tableName, pid: process.pid, shardCount: 4 });
    expect(seen?.tableName).toBe(t.stack.tableName);

    // A long job is running when the stack stops.
    const id = await t.stack.queue.enqueue('generate_report', { reportType: 'long', steps: 200, stepMs: 100 });
    await waitFor(async () => (await t.stack.queue.getJob(id))?.status === 'processing', 20_000);
    const { url, tableName } = t.stack;
    await t.stack.stop();

    expect(calls).toEqual(['start:true', 'stop:true']);
    expect(existsSync(stateFilePath(t.dataDir))).toBe(false);
    await expect(fetch(`${url}/stats`)).rejects.toThrow();
    const client = testClient();
    const queue = new JobQueue({ client, tableName, shardCount: 4 });
    const job = await queue.getJob(id);
    // Released: pending again, no lease, the interrupted attempt not counted.
    expect(job).toMatchObject({ status: 'pending', leaseUntil: null, attempts: 0 });
    client.destroy();
    await t.cleanup();
  });

  it('hands enqueue notifications to the scheduler hook when one is given', async () => {
    const seen: string[] = [];
    let ctx: LocalStackContext | undefined;
    const scheduler = {
      allowSecondRates: true,
      putRecurring: async () => {},
      deleteRecurring: async () => false,
      listRecurring: async () => [],
      wakeAt: async () => {},
      onEnqueued: (jobs: readonly { id: string; queue: string }[]) => {
        for (const j of jobs) seen.push(j.id);
        for (const j of jobs) ctx?.wake(j.queue);
      },
    };
    const t = await startTestStack({ pollIntervalMs: 60_000, scheduler, services: [{ name: 'ctx', start: (c) => void (ctx = c), stop: () => {} }] });
    try {
      const id = await t.stack.queue.enqueue('noop', {});
      expect(seen).toEqual([id]);
      await waitFor(async () => (await t.stack.queue.getJob(id))?.status === 'completed', 20_000);
    } finally {
      await t.cleanup();
    }
  });

  it('refuses, with nothing written, a job for a queue no local worker serves or of a type no handler knows', async () => {
    const t = await startTestStack({ queues: ['default', 'mail'] });
    try {
      const queue = await http(t.stack.url, 'POST', '/jobs', { type: 'noop', payload: {}, queue: 'bulk' });
      expect(queue.status).toBe(400);
      expect(queue.json).toMatchObject({ code: 'VALIDATION', field: 'queue', limit: 'one of the served queues: default, mail' });
      const type = await http(t.stack.url, 'POST', '/jobs', { type: 'sned_email', payload: {} });
      expect(type.status).toBe(400);
      expect(type.json).toMatchObject({ field: 'type' });
      expect(type.json.message).toMatch(/no handler for job type "sned_email": known types are .*send_email/);
      // The CLI finds the stack's served queues and types in its state file.
      const cli = await runCli(t.dataDir, ['enqueue', 'noop', '{}', '--queue', 'bulk']);
      expect(cli.code).toBe(2);
      expect(cli.stderr).toMatch(/queue "bulk" has no worker here/);
      expect(await t.itemCount()).toBe(0);
      expect((await http(t.stack.url, 'POST', '/jobs', { type: 'noop', payload: {}, queue: 'mail' })).status).toBe(201);
    } finally {
      await t.cleanup();
    }
  });

  it('requires handlers', async () => {
    await expect(startLocalStack(undefined as never)).rejects.toThrow(/handlers/);
    await expect(startLocalStack({ handlers: null } as never)).rejects.toThrow(/startLocalStack\(\{ handlers \}\) needs your job handlers/);
  });

  it('refuses to start over a data dir whose stack is still running elsewhere', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'jobtable-busy-'));
    writeFileSync(stateFilePath(dataDir), JSON.stringify({ url: 'http://127.0.0.1:1', dynamoEndpoint: 'http://127.0.0.1:2', tableName: 't', shardCount: 16, pid: process.ppid, startedAt: '' }));
    await expect(startLocalStack({ handlers: { noop: () => null }, port: 0, dataDir, dynamoEndpoint: ddbEndpoint() })).rejects.toThrow(/already running/);
  });
});
