/**
 * The whole queue on one machine: DynamoDB Local, the jobs table, a worker per queue running the
 * job registry, the HTTP API and dashboard, and any extra services (the scheduling emulations:
 * minute tick, one-time wake-ups, recurring schedules, TTL deletion). `npm start` runs it; tests
 * and other tools reuse it through {@link startLocalStack}.
 */
import type { LimitsByQueue } from '../model/limits.ts';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ValidationError } from '../errors.ts';
import { JobQueue } from '../queue.ts';
import { DEFAULT_SHARD_COUNT, tableNameForStage } from '../schema.ts';
import { createJobsTable } from '../store/create-table.ts';
import type { Scheduler } from '../scheduler/port.ts';
import type { EnqueuedJob, Handlers, WorkerEvent } from '../types.ts';
import { Worker } from '../worker/worker.ts';
import { localClient, startDynamoDbLocal } from './dynamodb-local.ts';
import type { DynamoDbLocal } from './dynamodb-local.ts';
import { ActivityLog, observeWorkerEvents } from './activity.ts';
import { createApiListener } from './http-api.ts';
import { DEFAULT_DATA_DIR, readStackState, removeStackState, writeStackState } from './state-file.ts';

/** What a {@link LocalService} gets when the stack starts it. */
export interface LocalStackContext {
  /** The queue (facade) on the stack's table. */
  readonly queue: JobQueue;
  /** The client of the stack's DynamoDB. */
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly dynamoEndpoint: string;
  /** One worker per queue served. */
  readonly workers: ReadonlyMap<string, Worker>;
  /** Wakes the worker of `queue` (or all workers), e.g. when a scheduled job falls due. */
  wake(queue?: string): void;
}

/**
 * A service that runs beside the workers, such as a local emulation of EventBridge Scheduler or
 * of DynamoDB TTL. Started after the workers, in order; stopped before them, in reverse order.
 */
export interface LocalService {
  /** Shown in the start-up output. */
  readonly name: string;
  start(stack: LocalStackContext): void | Promise<void>;
  stop(): void | Promise<void>;
}

/** Options of {@link startLocalStack}. */
export interface LocalStackOptions {
  /**
   * HTTP port; 0 picks a free one.
   * @default 3000
   */
  readonly port?: number;
  /**
   * Address the HTTP server binds to.
   * @default "127.0.0.1"
   */
  readonly host?: string;
  /**
   * Where DynamoDB Local keeps its database and the stack its state file (`endpoint.json`).
   * @default "./.data"
   */
  readonly dataDir?: string;
  /**
   * Keep the database in memory (lost on exit) instead of under `dataDir`.
   * @default false
   */
  readonly inMemory?: boolean;
  /**
   * Use this DynamoDB endpoint (e.g. an already running DynamoDB Local) instead of starting one;
   * the stack then does not stop it.
   */
  readonly dynamoEndpoint?: string;
  /** @default tableNameForStage('local'): "jobtable-local-jobs" */
  readonly tableName?: string;
  /** @default DEFAULT_SHARD_COUNT (16) */
  readonly shardCount?: number;
  /**
   * Your job handlers (required): each worker runs them, and an enqueue of a type they do not
   * know is refused at once instead of failing later.
   */
  readonly handlers: Handlers<any>;
  /** Queues to run a worker for. @default ["default"] */
  readonly queues?: readonly string[];
  /** Jobs each worker runs at once. @default 4 */
  readonly concurrency?: number;
  /**
   * Flow-control limits per queue (see `QueueLimits`, e.g. `{ orders: { group: { fifo: true, concurrency: 2 } } }`);
   * `jobtable start` reads `JOBTABLE_LIMITS`, and the CLI's other commands read them from the state file. @default none
   */
  readonly limits?: LimitsByQueue;
  /**
   * Longest idle sleep of a worker. Jobs enqueued through the stack wake it at once; jobs written
   * by another process (the CLI) are seen within this interval.
   * @default 1000
   */
  readonly pollIntervalMs?: number;
  /** How long running jobs may finish on stop before they are released. @default 5000 */
  readonly shutdownGraceMs?: number;
  /** Extra services (scheduling and TTL emulations). */
  readonly services?: readonly LocalService[];
  /**
   * The queue's scheduler (recurring schedules), e.g. the local emulation of EventBridge
   * Scheduler. If it has an `onEnqueued` hook, the queue calls that instead of waking the
   * worker itself (the hook is then in charge of prompt pickup and of delayed jobs' wake-ups).
   */
  readonly scheduler?: Scheduler & { readonly onEnqueued?: (jobs: readonly EnqueuedJob[]) => void };
  /** Largest HTTP request body. @default 512 KiB */
  readonly bodyLimitBytes?: number;
  /** Receives worker events. */
  readonly onEvent?: (event: WorkerEvent, queue: string) => void;
  /** Receives unexpected HTTP errors. */
  readonly onError?: (error: unknown) => void;
  /**
   * Write `<dataDir>/endpoint.json` so that the CLI finds the stack.
   * @default true
   */
  readonly writeStateFile?: boolean;
}

/** A running local stack. */
export interface LocalStack extends LocalStackContext {
  /** The HTTP API and dashboard, e.g. `http://127.0.0.1:3000`. */
  readonly url: string;
  /** The worker of the first queue (`default` unless told otherwise). */
  readonly worker: Worker;
  /** Stops services, workers (running jobs finish or are released), HTTP and DynamoDB Local. */
  stop(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Starts the local stack.
 *
 * @example
 * import { startLocalStack } from 'jobtable/local';
 * import { handlers } from './jobs.ts';
 * const stack = await startLocalStack({ handlers, port: 0, inMemory: true });
 * await fetch(`${stack.url}/jobs`, { method: 'POST', body: JSON.stringify({ type: 'noop', payload: {} }) });
 * await stack.stop();
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  if (!options || typeof options.handlers !== 'object' || options.handlers === null) {
    throw new ValidationError('handlers', 'an object mapping job types to handlers', 'startLocalStack({ handlers }) needs your job handlers');
  }
  const handlers = options.handlers as Handlers;
  const dataDir = options.dataDir ?? DEFAULT_DATA_DIR;
  const writeState = options.writeStateFile ?? true;
  if (writeState) {
    const running = readStackState(dataDir);
    if (running && running.pid !== process.pid) {
      throw new Error(`A local stack is already running from ${dataDir} (pid ${running.pid}, ${running.url}); stop it first or use another --data-dir`);
    }
  }
  const cleanups: (() => Promise<void> | void)[] = [];
  const runCleanups = async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
  };
  try {
    let ddb: DynamoDbLocal | undefined;
    if (!options.dynamoEndpoint) {
      ddb = await startDynamoDbLocal(options.inMemory ? {} : { dataDir });
      cleanups.push(() => ddb!.stop());
    }
    const dynamoEndpoint = options.dynamoEndpoint ?? ddb!.endpoint;
    const client = localClient(dynamoEndpoint);
    cleanups.push(() => client.destroy());
    const tableName = options.tableName ?? tableNameForStage('local');
    const shardCount = options.shardCount ?? DEFAULT_SHARD_COUNT;
    await createJobsTable(client, tableName);

    const queueNames = options.queues?.length ? [...options.queues] : ['default'];
    const workers = new Map<string, Worker>();
    const wake = (queue?: string) => {
      if (queue === undefined) for (const w of workers.values()) w.wake();
      else workers.get(queue)?.wake();
    };
    const wakeQueuesOf = (jobs: readonly EnqueuedJob[]) => new Set(jobs.map((j) => j.queue)).forEach((q) => wake(q));
    const queue = new JobQueue({
      tableName,
      client,
      shardCount,
      // Refuse what no local worker would run: other queues and unknown job types.
      queues: queueNames,
      jobTypes: Object.keys(handlers),
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.scheduler ? { scheduler: options.scheduler } : {}),
      onEnqueued: options.scheduler?.onEnqueued ?? wakeQueuesOf,
    });
    // The dashboard's activity chart: what this stack's workers report, no table reads.
    const activity = new ActivityLog({ source: "this stack's workers" });
    for (const name of queueNames) {
      const observe = observeWorkerEvents(activity, name);
      const worker = new Worker(queue, handlers, {
        queue: name,
        concurrency: options.concurrency ?? 4,
        pollIntervalMs: options.pollIntervalMs ?? 1_000,
        shutdownGraceMs: options.shutdownGraceMs ?? 5_000,
        onEvent: (e: WorkerEvent) => {
          observe(e);
          options.onEvent?.(e, name);
        },
      });
      workers.set(name, worker);
      const done = worker.start();
      done.catch((err: unknown) => options.onError?.(err));
      cleanups.push(async () => {
        await worker.stop().catch(() => undefined);
      });
    }

    const context: LocalStackContext = { queue, client, tableName, dynamoEndpoint, workers, wake };
    for (const service of options.services ?? []) {
      await service.start(context);
      cleanups.push(() => service.stop());
    }

    const server = createServer(
      createApiListener({
        queue,
        jobTypes: Object.keys(handlers),
        queues: queueNames,
        activity,
        ...(options.bodyLimitBytes !== undefined ? { bodyLimitBytes: options.bodyLimitBytes } : {}),
        ...(options.onError ? { onError: options.onError } : {}),
      }),
    );
    const host = options.host ?? '127.0.0.1';
    const port = await listen(server, options.port ?? 3000, host);
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    if (writeState) {
      writeStackState(dataDir, { url, dynamoEndpoint, tableName, shardCount, queues: queueNames, jobTypes: Object.keys(handlers), ...(options.limits ? { limits: options.limits } : {}), pid: process.pid, startedAt: new Date().toISOString() });
      cleanups.push(() => removeStackState(dataDir));
    }

    let stopping: Promise<void> | undefined;
    return {
      ...context,
      url,
      worker: workers.get(queueNames[0]!)!,
      stop: () => (stopping ??= runCleanups()),
    };
  } catch (err) {
    await runCleanups();
    throw err;
  }
}
