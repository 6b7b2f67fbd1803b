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

/** What the bar shows: `done` of `total` and a suffix. */
export interface BarState {
  readonly done: number;
  readonly total: number;
  readonly detail: string;
}

/**
 * The bar of a wait. Many jobs: how many finished. One job: its own reported progress (step 5 of
 * 8 is 5/8), full once it completed; without reported steps, 0/1 until it finishes.
 */
export function barState(count: number, jobs: readonly Job[]): BarState {
  const finished = jobs.filter(isFinished).length;
  if (count !== 1) return { done: finished, total: count, detail: '' };
  const job = jobs[0];
  if (!job) return { done: 0, total: 1, detail: ' not found' };
  const p = job.progress;
  const detail = ` ${job.status}${p?.message ? ` (${p.message})` : ''}`;
  if (!p?.total) return { done: isFinished(job) ? 1 : 0, total: 1, detail };
  return { done: job.status === 'completed' ? p.total : Math.min(p.current, p.total), total: p.total, detail };
}

/**
 * Polls the jobs (BatchGetItem, 100 ids a request) until all are finished, the timeout passes or
 * the signal aborts; draws on stderr a bar of finished jobs, or of a single job's own progress.
 */
export async function waitForJobs(queue: JobQueue, ids: readonly string[], io: Io, options: WaitOptions): Promise<WaitResult> {
  const bar = new ProgressBar(io.stderr, ids.length === 1 ? 'progress' : 'finished', ids.length);
  const end = options.timeoutMs !== undefined ? Date.now() + options.timeoutMs : Infinity;
  let jobs: Job[] = [];
  for (;;) {
    jobs = await getJobs(queue.store, ids);
    const finished = jobs.filter(isFinished).length;
    const state = barState(ids.length, jobs);
    bar.update(state.done, state.detail, state.total);
    if (finished === ids.length || Date.now() >= end || options.signal.aborted) {
      bar.finish(state.detail);
      return { jobs, allFinished: finished === ids.length };
    }
    await sleep(options.intervalMs ?? 500, options.signal);
  }
}
