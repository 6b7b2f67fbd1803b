/** `jobtable work`: a worker loop over the job registry, on the local stack's table or one in AWS. */
import type { WorkerEvent } from '../../types.ts';
import { Worker } from '../../worker/worker.ts';
import type { Command } from '../command.ts';
import { durationOption, intOption, out, strOption } from '../command.ts';
import { CliError, EXIT } from '../exit.ts';
import { loadHandlers } from '../load-handlers.ts';
import { formatDuration } from '../output.ts';

/** One line about a worker event, for people. */
export function describeEvent(e: WorkerEvent): string {
  switch (e.kind) {
    case 'claimed':
      return `claimed   ${e.job.id} ${e.job.type} (attempt ${e.job.attempts}, waited ${formatDuration(e.pickupDelayMs)})`;
    case 'completed':
      return `completed ${e.job.id} ${e.job.type} in ${formatDuration(e.durationMs)}`;
    case 'retrying':
      return `retrying  ${e.job.id} ${e.job.type} at ${e.retryAt.toISOString()}: ${e.error.message}`;
    case 'failed':
      return `failed    ${e.job.id} ${e.job.type}: ${e.error.message}`;
    case 'stale':
      return `stale     ${e.job.id} ${e.job.type}: lost the claim, outcome discarded`;
    case 'error':
      return `error     ${e.job?.id ?? ''} ${e.error.message}`;
    case 'limited':
      return `limited   ${e.jobId}${e.group ? ` group ${e.group}` : ''}: ${e.scope} ${e.limit} limit, retry at ${e.retryAt.toISOString()}`;
  }
}

/** A worker event as one JSON line. */
export function eventJson(e: WorkerEvent, queue?: string): string {
  const { job, ...rest } = e as WorkerEvent & { job?: { id: string; type: string } };
  const error = 'error' in rest && rest.error instanceof Error ? rest.error.message : undefined;
  return JSON.stringify({ ...rest, ...(queue ? { queue } : {}), ...(job ? { jobId: job.id, type: job.type } : {}), ...(error ? { error } : {}) });
}

/** The `--handlers` option, which `start` and `work` require. */
export function requireHandlersOption(values: Record<string, unknown>): string {
  const path = values.handlers;
  if (typeof path !== 'string' || path.length === 0) {
    throw new CliError('--handlers <module> is required: the module whose named export `handlers` maps job types to handlers', EXIT.usage);
  }
  return path;
}

/** `jobtable work` */
export const workCommand: Command = {
  name: 'work',
  usage: 'work --handlers <module> [--queue <name>] [--concurrency <n>] [--max-jobs <n>] [--max-time <duration>] [--poll-interval <duration>]',
  summary: 'run jobs with your handlers module until stopped (Ctrl-C) or a limit',
  options: {
    handlers: { type: 'string' },
    queue: { type: 'string', short: 'q' },
    concurrency: { type: 'string', short: 'c' },
    'max-jobs': { type: 'string' },
    'max-time': { type: 'string' },
    'poll-interval': { type: 'string' },
    drain: { type: 'boolean' },
  },
  help: [
    '--handlers <module>         your handlers module (named export `handlers`; .js, .mjs, .ts)',
    '--queue, -q <name>          (default "default")',
    '--concurrency, -c <n>       jobs at once (default 4)',
    '--max-jobs <n>              stop after claiming n jobs',
    '--max-time <duration>       stop claiming after this long (30s, 5m)',
    '--poll-interval <duration>  longest idle sleep (default 1s)',
    '--drain                     exit as soon as nothing is due',
  ],
  async run(ctx) {
    const v = ctx.values;
    const queueName = strOption(v, 'queue') ?? 'default';
    const concurrency = intOption(v, 'concurrency', 1, 1_000) ?? 4;
    const maxJobs = intOption(v, 'max-jobs', 1, Number.MAX_SAFE_INTEGER);
    const maxTime = durationOption(v, 'max-time');
    const pollIntervalMs = v.drain ? 0 : (durationOption(v, 'poll-interval') ?? 1_000);
    const handlers = await loadHandlers(requireHandlersOption(v));
    const conn = ctx.connect();
    const worker = new Worker(conn.queue, handlers, {
      queue: queueName,
      concurrency,
      pollIntervalMs,
      ...(maxJobs !== undefined ? { maxJobs } : {}),
      ...(maxTime !== undefined ? { timeBudgetMs: maxTime } : {}),
      onEvent: (e) => out(ctx.io, ctx.json ? eventJson(e) : describeEvent(e)),
    });
    if (!ctx.json) ctx.io.stderr.write(`Working queue "${queueName}" on ${conn.where} (concurrency ${concurrency}); Ctrl-C stops.\n`);
    const done = worker.start();
    const onAbort = () => void worker.stop();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const report = await done;
    ctx.signal.removeEventListener('abort', onAbort);
    if (ctx.json) out(ctx.io, JSON.stringify({ report }));
    else
      ctx.io.stderr.write(
        `Stopped (${report.stoppedBecause}): ${report.claimed} claimed, ${report.completed} completed, ${report.retried} retried, ${report.failed} failed in ${formatDuration(report.durationMs)}\n`,
      );
    return EXIT.ok;
  },
};
