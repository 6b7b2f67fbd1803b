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
    ['payload', json(job.payload)],
    ['result', json(job.result)],
  ]);
}

/** Jobs as a table. */
export function formatJobTable(jobs: readonly Job[]): string {
  return formatTable(
    ['ID', 'TYPE', 'STATUS', 'PRIO', 'ATTEMPTS', 'DUE', 'ERROR'],
    jobs.map((j) => [j.id, j.type, j.status, String(j.priority), `${j.attempts}/${j.maxAttempts}`, time(j.runAt), (j.error ?? '').slice(0, 60)]),
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
