/**
 * A long-running worker: drains one queue over and over, sleeping when nothing is due until the
 * next known due time, a `wake()` (prompt pickup), or its poll interval. Used by `npm start`, the
 * `jobtable work` command and tests; a Lambda uses `processJobs` once per invocation instead.
 */
import type { JobQueue } from '../queue.ts';
import type { Handlers, JobTypeMap, ProcessJobsOptions, ProcessReport } from '../types.ts';
import { drain } from './drain.ts';
import { validateProcessArgs } from './process-options.ts';

/** Options of {@link Worker}. */
export interface WorkerOptions extends Omit<ProcessJobsOptions, 'signal'> {
  /**
   * Longest sleep when nothing is due and no wake-up comes. Each look is one sweep (2 queries per
   * shard), so 10 s with 16 shards is 3.2 queries/s while idle; `wake()` gives prompt pickup.
   * @default 10000
   */
  readonly pollIntervalMs?: number;
}

/**
 * Runs the drain of `processJobs` in polling mode until stopped, with prompt pickup: `wake()`
 * ends its idle wait at once.
 *
 * @example
 * const worker = new Worker(queue, handlers, { concurrency: 8 });
 * const done = worker.start();
 * // ... queue.enqueue(...) then worker.wake() for prompt pickup
 * await worker.stop(); // stops claiming, lets running jobs finish (or releases them)
 */
export class Worker<M extends JobTypeMap = Record<string, any>> {
  private controller: AbortController | undefined;
  private running: Promise<ProcessReport> | undefined;
  /** Drain waits in progress, resolved by `wake()`. */
  private readonly waiters = new Set<() => void>();
  /** A `wake()` that came while the drain was not waiting: its next wait returns at once. */
  private wakePending = false;
  private readonly shardHints = new Set<number>();

  constructor(
    readonly queue: JobQueue<M>,
    readonly handlers: Handlers<M>,
    readonly options: WorkerOptions = {},
  ) {}

  /** True while started and not stopped. */
  get isRunning(): boolean {
    return this.running !== undefined;
  }

  /** Starts the loop; resolves with the report when the worker stops. */
  start(): Promise<ProcessReport> {
    if (this.running) return this.running;
    const options = { ...this.options, pollIntervalMs: this.options.pollIntervalMs ?? 10_000 };
    try {
      validateProcessArgs(this.handlers, options);
    } catch (err) {
      return Promise.reject(err);
    }
    this.controller = new AbortController();
    const running = drain(this.queue.store, this.handlers as Handlers, { ...options, signal: this.controller.signal }, {
      wakeup: (signal) => this.nextWake(signal),
      takeShardHints: () => this.takeShardHints(),
    });
    this.running = running;
    // If the drain ends on its own (e.g. DynamoDB unreachable), the worker can be started again.
    running.then(
      () => undefined,
      () => undefined,
    ).finally(() => {
      if (this.running === running && !this.controller?.signal.aborted) this.running = undefined;
    });
    return running;
  }

  private nextWake(signal: AbortSignal): Promise<void> {
    if (this.wakePending) {
      this.wakePending = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const done = () => {
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private takeShardHints(): number[] {
    const hints = [...this.shardHints];
    this.shardHints.clear();
    return hints;
  }

  /**
   * Tells an idle worker that work may be due now (prompt pickup). Cheap; safe to call often.
   * @param shards where the new jobs were written (`EnqueuedJob.shard`): read first, then all shards
   */
  wake(shards?: readonly number[]): void {
    for (const shard of shards ?? []) this.shardHints.add(shard);
    if (this.waiters.size === 0) {
      this.wakePending = true;
      return;
    }
    for (const resolve of [...this.waiters]) resolve();
  }

  /**
   * Stops claiming; running jobs get `shutdownGraceMs` to finish, then are aborted and released
   * back to pending. Resolves with the final report.
   */
  async stop(): Promise<ProcessReport | undefined> {
    if (!this.running) return undefined;
    this.controller?.abort();
    this.wake();
    const report = await this.running;
    this.running = undefined;
    return report;
  }
}
