/**
 * Restart: DynamoDB Local with on-disk data is stopped mid-run (workers busy, producers writing)
 * and started again on the same port and data directory. Nothing the producers were told was
 * enqueued is lost, enqueues during the outage fail loudly (and the caller's retry with the same
 * idempotency key succeeds later), and the workers resume until every job is completed.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createJobsTable, JobQueue } from '../../../lib/index.ts';
import { freePort, localClient, startDynamoDbLocal } from '../../../lib/local/dynamodb-local.ts';
import type { DynamoDbLocal } from '../../../lib/local/dynamodb-local.ts';
import { ATTR } from '../../../lib/schema.ts';

const JOBS = Number(process.env.JOBTABLE_RESTART_JOBS ?? 600);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('restart: DynamoDB Local with on-disk data stopped and started mid-run', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'jobtable-restart-'));
  let ddb: DynamoDbLocal | undefined;
  afterAll(async () => {
    await ddb?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(`loses nothing of ${JOBS} jobs and resumes`, async () => {
    const port = await freePort();
    ddb = await startDynamoDbLocal({ port, dataDir });
    const client = localClient(ddb.endpoint);
    const tableName = 'jobs-restart';
    await createJobsTable(client, tableName);
    const queue = new JobQueue({ tableName, client, shardCount: 4 });

    const runs = new Map<string, number>();
    let stop = false;
    let drainFailures = 0;
    const workers = Array.from({ length: 2 }, async () => {
      // A supervisor loop (a Lambda schedule or a process manager): a drain that gives up is restarted.
      while (!stop) {
        try {
          await queue.processJobs(
            { noop: async (_p: unknown, ctx: { job: { id: string } }) => { runs.set(ctx.job.id, (runs.get(ctx.job.id) ?? 0) + 1); await sleep(20); } },
            { concurrency: 8, pollIntervalMs: 300, leaseGraceMs: 200, timeBudgetMs: 5_000 },
          );
        } catch {
          drainFailures++;
          await sleep(500);
        }
      }
    });

    const acknowledged: string[] = [];
    let failedDuringOutage = 0;
    const enqueue = async (i: number) => {
      for (;;) {
        try {
          acknowledged.push(await queue.enqueue('noop', { i }, { idempotencyKey: `restart-${i}`, timeoutMs: 1_000 }));
          return;
        } catch {
          failedDuringOutage++;
          await sleep(300);
        }
      }
    };
    const producer = (async () => {
      for (let i = 0; i < JOBS; i++) await enqueue(i);
    })();

    // Stop the database once a third of the jobs are in.
    while (acknowledged.length < JOBS / 3) await sleep(50);
    const before = [...acknowledged];
    await ddb.stop();
    await sleep(2_000);
    ddb = await startDynamoDbLocal({ port, dataDir });

    // Everything acknowledged before the stop is still there.
    const check = localClient(ddb.endpoint);
    const scanIds = async () => {
      const ids = new Map<string, string>();
      let start: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
      do {
        const res = await check.send(new ScanCommand({ TableName: tableName, ConsistentRead: true, ...(start ? { ExclusiveStartKey: start } : {}) }));
        for (const it of res.Items ?? []) ids.set(it[ATTR.id]!.S!, it[ATTR.status]!.S!);
        start = res.LastEvaluatedKey;
      } while (start);
      return ids;
    };
    const afterRestart = await scanIds();
    expect(before.filter((id) => !afterRestart.has(id))).toEqual([]);

    await producer;
    // Work resumes: wait until everything is completed.
    const deadline = Date.now() + 600_000;
    let statuses = await scanIds();
    while ([...statuses.values()].some((s) => s !== 'completed') && Date.now() < deadline) {
      await sleep(1_000);
      statuses = await scanIds();
    }
    stop = true;
    await Promise.all(workers);
    check.destroy();
    client.destroy();

    console.log('restart:', JSON.stringify({ jobs: JOBS, acknowledgedBeforeStop: before.length, failedDuringOutage, drainFailures, maxRuns: Math.max(...runs.values()) }));
    expect(new Set(acknowledged).size).toBe(JOBS);
    expect(statuses.size).toBe(JOBS);
    expect(acknowledged.filter((id) => statuses.get(id) !== 'completed')).toEqual([]);
    expect(acknowledged.filter((id) => !runs.has(id))).toEqual([]);
    // The outage was real: callers saw errors while the database was down.
    expect(failedDuringOutage).toBeGreaterThan(0);
  }, 900_000);
});
