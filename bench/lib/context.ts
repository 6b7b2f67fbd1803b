/** What every benchmark part gets: the shared DynamoDB Local, sizes for the mode, and a logger. */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createJobsTable } from '../../lib/index.ts';
import type { EnqueueOptions, JobQueue } from '../../lib/index.ts';
import { localClient } from '../../lib/local/dynamodb-local.ts';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';

/** Sizes of one run. */
export interface BenchSizes {
  /** Calls per raw-bound and enqueue measurement. */
  readonly rawOps: number;
  /** Jobs of the end-to-end drain. */
  readonly e2eJobs: number;
  /** Worker-process counts of the end-to-end drain. */
  readonly e2eWorkers: readonly number[];
  /** Jobs of the cost measurement (happy path and retry path each). */
  readonly costJobs: number;
  /** Due jobs and delayed jobs of the pickup measurement. */
  readonly pickupDue: number;
  readonly pickupDelayed: number;
  /** How long the idle worker is watched, ms. */
  readonly idleWatchMs: number;
  /** Backlog sizes compared (small, large). */
  readonly backlogs: readonly [number, number];
  /** Claims measured on each backlog. */
  readonly backlogClaims: number;
}

/** The sizes the issue asks for. */
export const FULL_SIZES: BenchSizes = {
  rawOps: 3_000,
  e2eJobs: 5_000,
  e2eWorkers: [1, 4, 8],
  costJobs: 500,
  pickupDue: 200,
  pickupDelayed: 50,
  idleWatchMs: 30_000,
  backlogs: [1_000, 100_000],
  backlogClaims: 1_000,
};

/** Small sizes that keep the harness working in CI (asserting structure, not speed). */
export const QUICK_SIZES: BenchSizes = {
  rawOps: 60,
  e2eJobs: 60,
  e2eWorkers: [1, 2],
  costJobs: 10,
  pickupDue: 5,
  pickupDelayed: 2,
  idleWatchMs: 1_000,
  backlogs: [20, 100],
  backlogClaims: 20,
};

/** Concurrency of the raw bound and of single enqueues (the figure). */
export const CALLER_CONCURRENCY = 16;

/** Shards per queue in every benchmark (the library default). */
export const BENCH_SHARDS = 16;

/** Shared by the parts. */
export interface BenchContext {
  readonly endpoint: string;
  readonly sizes: BenchSizes;
  readonly quick: boolean;
  /** DynamoDB Local's process id, when the harness started it (for its CPU time). */
  readonly serverPid?: number;
  log(message: string): void;
}

/** A new client for the benchmark's DynamoDB Local (each part uses its own). */
export function benchClient(ctx: BenchContext): DynamoDBClient {
  return localClient(ctx.endpoint);
}

/** Creates a fresh jobs table; returns its name and a function that drops it. */
export async function benchTable(client: DynamoDBClient, label: string): Promise<{ tableName: string; drop: () => Promise<void> }> {
  const tableName = `bench-${label}-${randomUUID().slice(0, 8)}`;
  await createJobsTable(client, tableName);
  return {
    tableName,
    drop: async () => {
      await client.send(new DeleteTableCommand({ TableName: tableName })).catch(() => {});
    },
  };
}

/** CPU time (user + system) of process `pid` so far, in µs, from /proc; null where /proc is missing. */
export function processCpuMicros(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * (1_000_000 / CLOCK_TICKS_PER_SECOND);
  } catch {
    return null;
  }
}

/** Linux clock ticks per second (`getconf CLK_TCK`), the unit of /proc/<pid>/stat times. */
const CLOCK_TICKS_PER_SECOND = 100;

/** Enqueues `jobs` no-op jobs (payload `{ n }`), 1,000 per `enqueueMany` call (its limit). */
export async function enqueueNoops(queue: JobQueue, jobs: number, options?: EnqueueOptions): Promise<void> {
  for (let i = 0; i < jobs; i += 1_000) {
    await queue.enqueueMany(Array.from({ length: Math.min(1_000, jobs - i) }, (_, k) => ({ type: 'noop', payload: { n: i + k }, ...(options ? { options } : {}) })));
  }
}
