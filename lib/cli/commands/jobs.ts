/** `jobtable get | list | cancel | retry`: reading and managing jobs. */
import type { JobStatus } from '../../types.ts';
import type { Command } from '../command.ts';
import { intOption, out, positional, strOption } from '../command.ts';
import { CliError, EXIT } from '../exit.ts';
import { formatJob, formatJobTable } from '../job-view.ts';

/** `jobtable get <id>` */
export const getCommand: Command = {
  name: 'get',
  usage: 'get <id>',
  summary: 'show a job',
  options: {},
  help: [],
  async run(ctx) {
    const id = positional(ctx, 0, 'id');
    const job = await ctx.connect().queue.getJob(id);
    if (!job) throw new CliError(`No job ${id}`, EXIT.failed, { code: 'NOT_FOUND', id });
    out(ctx.io, ctx.json ? JSON.stringify(job) : formatJob(job));
    return EXIT.ok;
  },
};

/** `jobtable list` */
export const listCommand: Command = {
  name: 'list',
  usage: 'list [--status <status>] [--queue <name>] [--group <group>] [--limit <n>] [--cursor <c>]',
  summary: 'list jobs by status, a page at a time',
  options: { status: { type: 'string', short: 's', default: 'pending' }, queue: { type: 'string', short: 'q' }, group: { type: 'string', short: 'g' }, limit: { type: 'string', short: 'n' }, cursor: { type: 'string' } },
  help: ['--status, -s <status>   waiting, pending, processing, completed, failed or cancelled (default pending)', '--queue, -q <name>', '--group, -g <group>     only jobs of this group (a page may then hold fewer)', '--limit, -n <n>         page size, 1 to 1000 (default 50)', '--cursor <c>            the cursor printed by the previous page'],
  async run(ctx) {
    const v = ctx.values;
    const limit = intOption(v, 'limit', -1_000_000, 1_000_000);
    const page = await ctx.connect().queue.listJobs({
      status: strOption(v, 'status') as JobStatus,
      ...(strOption(v, 'queue') !== undefined ? { queue: strOption(v, 'queue')! } : {}),
      ...(limit !== undefined ? { limit } : {}),
      ...(strOption(v, 'cursor') !== undefined ? { cursor: strOption(v, 'cursor')! } : {}),
      ...(strOption(v, 'group') !== undefined ? { group: strOption(v, 'group')! } : {}),
    });
    if (ctx.json) out(ctx.io, JSON.stringify(page));
    else {
      out(ctx.io, page.jobs.length ? formatJobTable(page.jobs) : `No ${strOption(v, 'status')} jobs.`);
      if (page.cursor) ctx.io.stderr.write(`More: jobtable list --status ${strOption(v, 'status')} --cursor ${page.cursor}\n`);
    }
    return EXIT.ok;
  },
};

function actionCommand(action: 'cancel' | 'retry'): Command {
  const rule = action === 'cancel' ? 'only pending jobs can be cancelled' : 'only failed or cancelled jobs can be retried';
  return {
    name: action,
    usage: `${action} <id>`,
    summary: action === 'cancel' ? 'cancel a pending job' : 'put a failed or cancelled job back to pending',
    options: {},
    help: [],
    async run(ctx) {
      const id = positional(ctx, 0, 'id');
      const { queue } = ctx.connect();
      const done = action === 'cancel' ? await queue.cancelJob(id) : await queue.retryJob(id);
      const job = await queue.getJob(id);
      const key = action === 'cancel' ? 'cancelled' : 'retried';
      if (!done) {
        if (!job) throw new CliError(`No job ${id}`, EXIT.failed, { code: 'NOT_FOUND', id, [key]: false });
        throw new CliError(`Job ${id} is ${job.status}: ${rule}`, EXIT.failed, { code: 'CONFLICT', id, status: job.status, [key]: false });
      }
      out(ctx.io, ctx.json ? JSON.stringify({ id, [key]: true, job }) : `${action === 'cancel' ? 'Cancelled' : 'Retried'} job ${id} (now ${job?.status ?? 'gone'})`);
      return EXIT.ok;
    },
  };
}

/** `jobtable cancel <id>` */
export const cancelCommand = actionCommand('cancel');
/** `jobtable retry <id>` */
export const retryCommand = actionCommand('retry');
