/** `jobtable enqueue`: one job from arguments, or many from a JSON-lines file. */
import { readFileSync } from 'node:fs';
import { ValidationError } from '../../errors.ts';
import { parseEnqueueRequest } from '../../local/enqueue-request.ts';
import { validateEnqueue } from '../../model/validate.ts';
import type { EnqueueOptions, EnqueueRequest, Job } from '../../types.ts';
import type { Command, CommandContext } from '../command.ts';
import { durationOption, intOption, out, strOption } from '../command.ts';
import { CliError, EXIT } from '../exit.ts';
import { outcomeLine } from '../job-view.ts';
import { ProgressBar } from '../output.ts';
import { waitForJobs } from '../wait.ts';

/** Jobs written per `enqueueMany` call, so that the bar moves. */
const CHUNK = 100;

function parseJson(text: string, field: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ValidationError(field, 'valid JSON', `not valid JSON: ${(err as Error).message}`);
  }
}

/** Reads a JSON-lines file and validates every line before anything is written. */
function readJobsFile(path: string, defaults: EnqueueOptions): EnqueueRequest[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${path}: ${(err as Error).message}`, EXIT.usage);
  }
  const now = Date.now();
  const jobs: EnqueueRequest[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const prefix = `line ${i + 1}: `;
    const req = parseEnqueueRequest(parseJson(line, `${prefix}body`), prefix);
    const options = { ...defaults, ...req.options };
    validateEnqueue(req.type, req.payload, options, now, prefix);
    jobs.push({ type: req.type as string, payload: req.payload, options });
  });
  if (jobs.length === 0) throw new CliError(`${path} has no jobs (one JSON object per line)`, EXIT.usage);
  return jobs;
}

/**
 * `--debounce-key` and `--debounce-window` as the `debounce` option; one without the other is
 * passed on half-empty, so the validator names the missing field (`options.debounce.windowMs`).
 */
function debounceOption(v: CommandContext['values']): Pick<EnqueueOptions, 'debounce'> {
  const key = strOption(v, 'debounce-key');
  const windowMs = durationOption(v, 'debounce-window');
  if (key === undefined && windowMs === undefined) return {};
  return { debounce: { key: key as string, windowMs: windowMs as number } };
}

/** Failed jobs whose errors are printed after a batch's summary. */
const SHOWN_FAILURES = 5;

/**
 * What `--wait` prints: for one job its outcome (result or error, as `watch <id>` does); for many
 * the counts by status, then the errors of the first few that did not complete.
 */
function waitSummary(ids: readonly string[], jobs: readonly Job[], byStatus: Record<string, number>, allFinished: boolean): string {
  const gaveUp = allFinished ? '' : ' (gave up waiting)';
  if (ids.length === 1) return jobs[0] ? `${outcomeLine(jobs[0])}${gaveUp}` : `Job ${ids[0]} is gone (expired or deleted)`;
  const failed = jobs.filter((j) => j.status === 'failed' || j.status === 'cancelled').slice(0, SHOWN_FAILURES);
  const counts = Object.entries(byStatus).map(([s, n]) => `${n} ${s}`).join(', ');
  return [`${ids.length} jobs: ${counts}${gaveUp}`, ...failed.map(outcomeLine)].join('\n');
}

/** `jobtable enqueue` */
export const enqueueCommand: Command = {
  name: 'enqueue',
  usage: 'enqueue <type> [payload-json] [options] | enqueue --file jobs.jsonl [options]',
  summary: 'add a job (or many from a JSON-lines file)',
  options: {
    file: { type: 'string', short: 'f' },
    delay: { type: 'string' },
    'run-at': { type: 'string' },
    priority: { type: 'string', short: 'p' },
    queue: { type: 'string', short: 'q' },
    'max-attempts': { type: 'string' },
    timeout: { type: 'string' },
    'idempotency-key': { type: 'string' },
    'depends-on': { type: 'string' },
    'on-dependency-failure': { type: 'string' },
    group: { type: 'string', short: 'g' },
    'debounce-key': { type: 'string' },
    'debounce-window': { type: 'string' },
    wait: { type: 'boolean', short: 'w' },
    'wait-timeout': { type: 'string' },
  },
  help: [
    '--file, -f <path>        one job per line: {"type", "payload", "delayMs"?, "priority"?, ...}',
    '--delay <duration>       start no earlier than this from now (500, 30s, 5m, 1h)',
    '--run-at <iso-time>      start no earlier than this time (with Z or an offset, e.g. 2030-01-01T09:00:00Z)',
    '--priority, -p <n>       -1000 to 1000, higher first (default 10)',
    '--queue, -q <name>       (default "default")',
    '--max-attempts <n>       (default 3)',
    '--timeout <duration>     per attempt (default 60s)',
    '--idempotency-key <key>  the same key returns the existing job',
    '--depends-on <ids>       comma-separated job ids: the job waits (status waiting) until they finished',
    '--on-dependency-failure <fail|continue>  what a failed dependency does to it (default fail)',
    '--group, -g <group>      the job group (a tenant, a customer): what per-group limits and FIFO count',
    '--debounce-key <key>     debounce: enqueues of one key leave one job, with the last payload',
    '--debounce-window <dur>  ... run once the key has been quiet this long (with --debounce-key)',
    '--wait, -w               wait until the job(s) finish; exit 1 unless all completed',
    '--wait-timeout <dur>     give up waiting after this long',
  ],
  async run(ctx: CommandContext) {
    const v = ctx.values;
    const delayMs = durationOption(v, 'delay');
    const timeoutMs = durationOption(v, 'timeout');
    const priority = intOption(v, 'priority', -1_000_000, 1_000_000);
    const maxAttempts = intOption(v, 'max-attempts', -1_000_000, 1_000_000);
    const defaults: EnqueueOptions = {
      ...(delayMs !== undefined ? { delayMs } : {}),
      ...(strOption(v, 'run-at') !== undefined ? { runAt: strOption(v, 'run-at')! } : {}),
      ...(priority !== undefined ? { priority } : {}),
      ...(strOption(v, 'queue') !== undefined ? { queue: strOption(v, 'queue')! } : {}),
      ...(maxAttempts !== undefined ? { maxAttempts } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(strOption(v, 'idempotency-key') !== undefined ? { idempotencyKey: strOption(v, 'idempotency-key')! } : {}),
      ...(strOption(v, 'depends-on') !== undefined ? { dependsOn: strOption(v, 'depends-on')!.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
      ...(strOption(v, 'on-dependency-failure') !== undefined ? { onDependencyFailure: strOption(v, 'on-dependency-failure') as EnqueueOptions['onDependencyFailure'] } : {}),
      ...(strOption(v, 'group') !== undefined ? { group: strOption(v, 'group')! } : {}),
      ...debounceOption(v),
    };
    const file = strOption(v, 'file');
    let ids: string[];
    let queueWhere: string;
    if (file) {
      if (ctx.positionals.length) throw new CliError('give either --file or <type> [payload], not both', EXIT.usage);
      const jobs = readJobsFile(file, defaults);
      const conn = ctx.connect();
      queueWhere = conn.where;
      const bar = new ProgressBar(ctx.io.stderr, 'enqueued', jobs.length);
      ids = [];
      for (let i = 0; i < jobs.length; i += CHUNK) {
        ids.push(...(await conn.queue.enqueueMany(jobs.slice(i, i + CHUNK))));
        bar.update(ids.length);
      }
      bar.finish();
    } else {
      const type = ctx.positionals[0];
      if (type === undefined) throw new CliError('missing <type> (or --file)', EXIT.usage);
      if (ctx.positionals.length > 2) throw new CliError('too many arguments: quote the payload JSON', EXIT.usage);
      const payload = ctx.positionals[1] === undefined ? {} : parseJson(ctx.positionals[1], 'payload');
      validateEnqueue(type, payload, defaults, Date.now());
      const conn = ctx.connect();
      queueWhere = conn.where;
      ids = [await conn.queue.enqueue(type, payload, defaults)];
    }
    if (!v.wait) {
      if (ctx.json) out(ctx.io, JSON.stringify(file ? { ids } : { id: ids[0] }));
      else out(ctx.io, file ? `Enqueued ${ids.length} jobs on ${queueWhere}` : `Enqueued ${ctx.positionals[0]} job ${ids[0]} on ${queueWhere}`);
      return EXIT.ok;
    }
    const waitTimeout = durationOption(v, 'wait-timeout');
    const { jobs, allFinished } = await waitForJobs(ctx.connect().queue, ids, ctx.io, { signal: ctx.signal, ...(waitTimeout !== undefined ? { timeoutMs: waitTimeout } : {}) });
    const byStatus: Record<string, number> = {};
    for (const j of jobs) byStatus[j.status] = (byStatus[j.status] ?? 0) + 1;
    const ok = allFinished && (byStatus.completed ?? 0) === ids.length;
    if (ctx.json) out(ctx.io, JSON.stringify(file ? { ids, statuses: byStatus } : { id: ids[0], job: jobs[0] ?? null }));
    else out(ctx.io, waitSummary(ids, jobs, byStatus, allFinished));
    return ok ? EXIT.ok : EXIT.failed;
  },
};
