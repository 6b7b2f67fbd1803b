/**
 * Soak: 20,000 jobs through the local stack (`POST /jobs` over HTTP, drained by the stack's worker
 * plus three more `Worker`s on the same queue: four in all). The process's heap, sampled after a
 * forced GC every 10% of the jobs, must stay flat once warmed up.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { Worker } from '../../../lib/index.ts';
import { startLocalStack } from '../../../lib/local/stack.ts';
import type { LocalStack } from '../../../lib/local/stack.ts';
import { ddbEndpoint, dropTable, testClient } from '../../helpers/ddb.ts';

const JOBS = Number(process.env.JOBTABLE_SOAK_JOBS ?? 20_000);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('soak: 20,000 jobs through the local stack with 4 workers', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'jobtable-soak-'));
  let stack: LocalStack | undefined;
  const extra: Worker[] = [];
  afterAll(async () => {
    for (const w of extra) await w.stop();
    await stack?.stop();
    if (stack) {
      const c = testClient();
      await dropTable(c, stack.tableName);
      c.destroy();
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(`completes ${JOBS} jobs with a flat heap`, async () => {
    let completed = 0;
    const t0 = Date.now();
    const handlers = { noop: () => null };
    const onEvent = (e: { kind: string }) => {
      if (e.kind === 'completed') completed++;
    };
    stack = await startLocalStack({
      port: 0, dynamoEndpoint: ddbEndpoint(), tableName: `soak-${Date.now()}`, dataDir, writeStateFile: false, shardCount: 8, concurrency: 8, pollIntervalMs: 1_000, handlers, onEvent,
    });
    for (let i = 0; i < 3; i++) {
      const w = new Worker(stack.queue, handlers, { concurrency: 8, pollIntervalMs: 1_000, onEvent });
      extra.push(w);
      void w.start();
    }
    const url = stack.url;
    const samples: Array<{ completed: number; heapMB: number; rssMB: number }> = [];
    const sample = () => {
      gc();
      const m = process.memoryUsage();
      samples.push({ completed, heapMB: Math.round(m.heapUsed / 2 ** 20), rssMB: Math.round(m.rss / 2 ** 20) });
      console.log('soak sample:', JSON.stringify({ ...samples[samples.length - 1], seconds: Math.round((Date.now() - t0) / 1000) }));
    };
    let next = 0;
    let httpErrors = 0;
    const producers = Array.from({ length: 8 }, async () => {
      while (next < JOBS) {
        const i = next++;
        const res = await fetch(`${url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'noop', payload: { i } }) });
        await res.arrayBuffer();
        if (res.status !== 201) httpErrors++;
      }
    });
    let nextSample = JOBS / 10;
    const sampler = (async () => {
      while (completed < JOBS) {
        if (completed >= nextSample) {
          sample();
          nextSample += JOBS / 10;
        }
        await sleep(200);
      }
    })();
    await Promise.all(producers);
    const deadline = Date.now() + 1_500_000;
    while (completed < JOBS && Date.now() < deadline) await sleep(500);
    await sampler;
    sample();
    console.log('soak:', JSON.stringify({ jobs: JOBS, completed, httpErrors, samples }));
    expect(httpErrors).toBe(0);
    expect(completed).toBe(JOBS);
    const stats = await stack.queue.listJobs({ status: 'pending', limit: 10 });
    expect(stats.jobs).toEqual([]);
    // Flat: after warm-up (the first 20%), the heap grows by less than 25 MB to the end.
    const warm = samples.find((s) => s.completed >= JOBS / 5) ?? samples[0]!;
    const last = samples[samples.length - 1]!;
    expect(last.heapMB - warm.heapMB).toBeLessThan(25);
  }, 1_800_000);
});
