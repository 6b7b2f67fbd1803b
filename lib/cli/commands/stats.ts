/** `jobtable stats` and `jobtable watch`: counts by status, once or live; or one job until it finishes. */
import type { JobStats } from '../../types.ts';
import { JOB_STATUSES } from '../../types.ts';
import type { Command, CommandContext } from '../command.ts';
import { durationOption, intOption, out, sleep, strOption } from '../command.ts';
import { CliError, EXIT } from '../exit.ts';
import { formatDuration, formatTable } from '../output.ts';
import { outcomeLine } from '../job-view.ts';
import { waitForJobs } from '../wait.ts';

function formatStats(s: JobStats): string {
  const table = formatTable(['STATUS', 'JOBS'], [...JOB_STATUSES.map((st) => [st, String(s.counts[st])]), ['total', String(s.total)]]);
  return `queue ${s.queue} at ${s.countedAt.toISOString()}\n${table}\noldest due job waiting: ${s.oldestDueAgeMs === null ? 'none due' : formatDuration(s.oldestDueAgeMs)}`;
}

const queueOf = (ctx: CommandContext) => (strOption(ctx.values, 'queue') !== undefined ? { queue: strOption(ctx.values, 'queue')! } : {});

/** `jobtable stats` */
export const statsCommand: Command = {
  name: 'stats',
  usage: 'stats [--queue <name>]',
  summary: 'count jobs by status, and the age of the oldest due job',
  options: { queue: { type: 'string', short: 'q' } },
  help: ['--queue, -q <name>   (default "default")'],
  async run(ctx) {
    const stats = await ctx.connect().queue.stats(queueOf(ctx));
    out(ctx.io, ctx.json ? JSON.stringify(stats) : formatStats(stats));
    return EXIT.ok;
  },
};

/** `jobtable watch` */
export const watchCommand: Command = {
  name: 'watch',
  usage: 'watch [<id>] [--interval <duration>] [--timeout <duration>] [--iterations <n>]',
  summary: 'follow a job until it finishes (exit 1 unless it completed), or the counts (until Ctrl-C)',
  options: { queue: { type: 'string', short: 'q' }, interval: { type: 'string', short: 'i' }, timeout: { type: 'string' }, iterations: { type: 'string' } },
  help: ['--interval, -i <dur>  how often to look (default 1s)', '--timeout <dur>       give up on a job after this long (exit 1)', '--iterations <n>      counts: stop after n refreshes', '--queue, -q <name>    counts of this queue'],
  async run(ctx) {
    const intervalMs = durationOption(ctx.values, 'interval') ?? 1_000;
    const { queue } = ctx.connect();
    const id = ctx.positionals[0];
    if (id !== undefined) {
      const timeoutMs = durationOption(ctx.values, 'timeout');
      const first = await queue.getJob(id);
      if (!first) throw new CliError(`No job ${id}`, EXIT.failed, { code: 'NOT_FOUND', id });
      const { jobs, allFinished } = await waitForJobs(queue, [id], ctx.io, { intervalMs, signal: ctx.signal, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
      const job = jobs[0] ?? first;
      if (ctx.json) out(ctx.io, JSON.stringify(job));
      else out(ctx.io, outcomeLine(job));
      return allFinished && job.status === 'completed' ? EXIT.ok : EXIT.failed;
    }
    const iterations = intOption(ctx.values, 'iterations', 1, Number.MAX_SAFE_INTEGER) ?? Infinity;
    const live = !ctx.json && ctx.io.stdout.isTTY;
    for (let i = 0; i < iterations && !ctx.signal.aborted; i++) {
      if (i > 0) await sleep(intervalMs, ctx.signal);
      if (ctx.signal.aborted) break;
      const stats = await queue.stats(queueOf(ctx));
      if (ctx.json) out(ctx.io, JSON.stringify(stats));
      else out(ctx.io, `${live ? '\x1b[H\x1b[2J' : i > 0 ? '\n' : ''}${formatStats(stats)}`);
    }
    return EXIT.ok;
  },
};
