/** How the CLI shows jobs to people. */
import type { Job } from '../types.ts';
import { formatFields, formatTable } from './output.ts';

const time = (d: Date | null) => (d ? d.toISOString() : '-');
const json = (v: unknown) => (v === null || v === undefined ? '-' : JSON.stringify(v, null, 2));

/** One job, field by field. */
export function formatJob(job: Job): string {
  const p = job.progress;
  return formatFields([
    ['id', job.id],
    ['type', job.type],
    ['queue', job.queue],
    ['group', job.group ?? '-'],
    ['status', job.status],
    ['priority', String(job.priority)],
    ['attempts', `${job.attempts} of ${job.maxAttempts}`],
    ['progress', p ? `${p.current}${p.total !== undefined ? `/${p.total}` : ''}${p.message ? ` ${p.message}` : ''}` : '-'],
    ['created', time(job.createdAt)],
    ['due', time(job.runAt)],
    ['started', time(job.startedAt)],
    ['finished', time(job.finishedAt)],
    ['lease until', time(job.leaseUntil)],
    ['expires', time(job.expiresAt)],
    ['error', job.error ?? '-'],
    ['waits for', waitsFor(job)],
    ['parent', job.parentId ?? '-'],
    ['payload', json(job.payload)],
    ['result', json(job.result)],
  ]);
}

/** What a job waits (or waited) for: `200 children: 150 done, 2 failed, 48 left (on failure: fail)`. */
export function waitsFor(job: Job): string {
  const d = job.dependencies;
  if (!d) return '-';
  const what = d.kind === 'children' ? `${d.total} children` : `${d.total} jobs (${(d.ids ?? []).join(', ')})`;
  return `${what}: ${d.done} done, ${d.failed} failed, ${d.left} left (on failure: ${d.onFailure})${d.incomplete ? ', enqueue incomplete' : ''}`;
}

/** The status cell of a list: a waiting job says how many it still waits for. */
const statusCell = (j: Job) => (j.status === 'waiting' && j.dependencies ? `waiting ${j.dependencies.left}/${j.dependencies.total}` : j.status);

/** Jobs as a table. */
export function formatJobTable(jobs: readonly Job[]): string {
  return formatTable(
    ['ID', 'TYPE', 'STATUS', 'PRIO', 'ATTEMPTS', 'DUE', 'ERROR'],
    jobs.map((j) => [j.id, j.type, statusCell(j), String(j.priority), `${j.attempts}/${j.maxAttempts}`, time(j.runAt), (j.error ?? '').slice(0, 60)]),
  );
}

/** True once a job will not change on its own. */
export const isFinished = (job: Job) => job.status === 'completed' || job.status === 'failed' || job.status === 'cancelled';

/**
 * One line about a job that was waited for: `Job <id> completed -> <result>`, or `Job <id>
 * failed: <error>` (an error from an earlier attempt of a completed job is not shown as its outcome).
 */
export function outcomeLine(job: Job): string {
  const error = job.error && job.status !== 'completed' ? `: ${job.error}` : '';
  const result = job.result !== null ? ` -> ${JSON.stringify(job.result)}` : '';
  return `Job ${job.id} ${job.status}${error}${result}`;
}
