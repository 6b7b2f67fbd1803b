/** Waiting for jobs to finish, with a progress bar: `enqueue --wait` and `watch <id>`. */
import type { JobQueue } from '../queue.ts';
import { getJobs } from '../store/get-job.ts';
import type { Job } from '../types.ts';
import { sleep } from './command.ts';
import type { Io } from './command.ts';
import { isFinished } from './job-view.ts';
import { ProgressBar } from './output.ts';

/** Options of {@link waitForJobs}. */
export interface WaitOptions {
  /** @default 500 */
  readonly intervalMs?: number;
  /** Give up after this long. @default no limit */
  readonly timeoutMs?: number;
  readonly signal: AbortSignal;
}

/** What waiting saw: the jobs as last read, and whether all of them finished. */
export interface WaitResult {
  readonly jobs: Job[];
  readonly allFinished: boolean;
}

/**
 * Polls the jobs (BatchGetItem, 100 ids a request) until all are finished, the timeout passes or
 * the signal aborts; draws a bar of finished jobs (and a single job's own progress) on stderr.
 */
export async function waitForJobs(queue: JobQueue, ids: readonly string[], io: Io, options: WaitOptions): Promise<WaitResult> {
  const bar = new ProgressBar(io.stderr, 'finished', ids.length);
  const end = options.timeoutMs !== undefined ? Date.now() + options.timeoutMs : Infinity;
  let jobs: Job[] = [];
  for (;;) {
    jobs = await getJobs(queue.store, ids);
    const finished = jobs.filter(isFinished).length;
    const one = ids.length === 1 ? jobs[0] : undefined;
    const detail = one ? ` ${one.status}${one.progress?.total ? ` (step ${one.progress.current}/${one.progress.total})` : ''}` : '';
    bar.update(finished, detail);
    if (finished === ids.length || Date.now() >= end || options.signal.aborted) {
      bar.finish(detail);
      return { jobs, allFinished: finished === ids.length };
    }
    await sleep(options.intervalMs ?? 500, options.signal);
  }
}
