/** `jobtable redrive`: put every dead letter (or cancelled job) matching a filter back to pending, with a progress bar. */
import { ValidationError } from '../../errors.ts';
import type { RedriveFilter, RedriveProgress } from '../../types.ts';
import type { Command, CommandContext, Values } from '../command.ts';
import { intOption, out, strOption } from '../command.ts';
import { CliError, EXIT } from '../exit.ts';
import { parseDuration, ProgressBar } from '../output.ts';

/** The flag that sets each filter field (so that an error names what the user typed). */
const FLAG_OF: Record<string, string> = {
  'filter.status': '--status',
  'filter.queue': '--queue',
  'filter.type': '--type',
  'filter.group': '--group',
  'filter.errorContains': '--error',
  'filter.finishedAfter': '--since',
  'filter.finishedBefore': '--until',
  'filter.createdAfter': '--created-since',
  'filter.createdBefore': '--created-until',
  cursor: '--cursor',
  'options.cursor': '--cursor',
};

/** The time flags and the filter fields they set. */
const TIME_FLAGS = [
  ['since', 'finishedAfter'],
  ['until', 'finishedBefore'],
  ['created-since', 'createdAfter'],
  ['created-until', 'createdBefore'],
] as const;

/**
 * A time flag: a duration ago (`90s`, `30m`, `1h`, `7d`) or an ISO-8601 time.
 * @throws CliError naming the flag
 */
function timeFlag(values: Values, name: string, nowMs: number): string | undefined {
  const raw = strOption(values, name);
  if (raw === undefined) return undefined;
  const ago = parseDuration(raw);
  if (ago !== null) return new Date(nowMs - ago).toISOString();
  if (/^\d{4}-\d{2}-\d{2}/.test(raw) && Number.isFinite(Date.parse(raw))) return new Date(Date.parse(raw)).toISOString();
  throw new CliError(`--${name} must be a duration ago (30s, 5m, 1h, 7d) or an ISO-8601 time, got "${raw}"`, EXIT.usage);
}

/** The filter the flags describe; times resolved to ISO instants (so a resume names the same ones). */
function filterOf(values: Values, nowMs: number): RedriveFilter {
  const f: Record<string, unknown> = {};
  const set = (field: string, v: unknown) => v !== undefined && (f[field] = v);
  set('status', strOption(values, 'status'));
  set('queue', strOption(values, 'queue'));
  set('type', strOption(values, 'type'));
  set('group', strOption(values, 'group'));
  set('errorContains', strOption(values, 'error'));
  for (const [flag, field] of TIME_FLAGS) set(field, timeFlag(values, flag, nowMs));
  return f as RedriveFilter;
}

/** Quotes a value for a POSIX shell when it needs it. */
const shellQuote = (v: string) => (/^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`);

/** The command that resumes this redrive: the same filter (times as instants) and its cursor. */
function resumeCommand(filter: RedriveFilter, dryRun: boolean, cursor: string): string {
  const flags: string[] = [];
  const add = (flag: string, v: unknown) => v !== undefined && flags.push(flag, shellQuote(String(v)));
  add('--status', filter.status);
  add('--queue', filter.queue);
  add('--type', filter.type);
  add('--group', filter.group);
  add('--error', filter.errorContains);
  for (const [flag, field] of TIME_FLAGS) add(`--${flag}`, filter[field]);
  return ['jobtable redrive', ...flags, ...(dryRun ? ['--dry-run'] : []), '--cursor', cursor].join(' ');
}

/** The closing line for people. */
function summary(p: RedriveProgress): string {
  const skipped = p.skipped ? `, ${p.skipped} skipped (changed state, or already put back by this redrive)` : '';
  if (p.dryRun) return `Dry run: ${p.matched} of ${p.examined} jobs examined match${p.complete ? '' : ' so far'}; nothing was changed.`;
  return `Redrove ${p.redriven} jobs${skipped}: ${p.matched} matched of ${p.examined} examined${p.complete ? '' : ' so far'} (redrive ${p.redriveId}).`;
}

/** Runs the redrive with a bar of jobs examined out of the candidates. */
async function runRedrive(ctx: CommandContext, filter: RedriveFilter, dryRun: boolean, cursor: string | undefined, maxJobs: number | undefined): Promise<RedriveProgress> {
  const bar = new ProgressBar(ctx.io.stderr, dryRun ? 'examined' : 'redrive', 0);
  const detail = (p: RedriveProgress) => (dryRun ? ` ${p.matched} match` : ` ${p.redriven} redriven${p.skipped ? `, ${p.skipped} skipped` : ''}`);
  try {
    const result = await ctx.connect().queue.redrive(filter, {
      dryRun,
      signal: ctx.signal,
      onProgress: (p) => bar.update(p.examined, detail(p), p.candidates),
      ...(cursor !== undefined ? { cursor } : {}),
      ...(maxJobs !== undefined ? { maxJobs } : {}),
    });
    bar.finish(detail(result));
    return result;
  } catch (err) {
    if (err instanceof ValidationError && FLAG_OF[err.field]) {
      const detail = err.message.replace(/^Invalid [\w.]+: /, '');
      throw new CliError(`${FLAG_OF[err.field]} must be ${err.limit}${detail === `must be ${err.limit}` ? '' : `: ${detail}`}`, EXIT.usage, { code: 'VALIDATION', field: err.field, limit: err.limit });
    }
    throw err;
  }
}

/** `jobtable redrive` */
export const redriveCommand: Command = {
  name: 'redrive',
  usage: 'redrive [--status failed|cancelled] [--queue <name>] [--type <type>] [--group <group>] [--error <text>] [--since <when>] [--until <when>] [--dry-run] [--cursor <c>] [--limit <n>]',
  summary: 'put every dead letter (or cancelled job) matching a filter back to pending, resumably',
  options: {
    status: { type: 'string', short: 's' },
    queue: { type: 'string', short: 'q' },
    type: { type: 'string', short: 't' },
    group: { type: 'string', short: 'g' },
    error: { type: 'string', short: 'e' },
    since: { type: 'string' },
    until: { type: 'string' },
    'created-since': { type: 'string' },
    'created-until': { type: 'string' },
    'dry-run': { type: 'boolean' },
    cursor: { type: 'string' },
    limit: { type: 'string', short: 'n' },
  },
  help: [
    '--status, -s <status>   failed (dead letters, the default) or cancelled',
    '--queue, -q <name>      (default "default")',
    '--type, -t <type>       only jobs of this type',
    '--group, -g <group>     only jobs of this group (read from the index: other groups cost nothing)',
    '--error, -e <text>      only jobs whose last error contains this text (case-sensitive)',
    '--since <when>          only jobs that failed at or after: a duration ago (30m, 1h, 7d) or an ISO time',
    '--until <when>          only jobs that failed before it',
    '--created-since <when>  only jobs enqueued at or after it; --created-until <when>: before it',
    '--dry-run               count the jobs that match; change nothing',
    '--limit, -n <n>         examine at most n jobs, then print the command that resumes',
    '--cursor <c>            resume an interrupted redrive (the command to run is printed)',
    'Each job is put back at most once per redrive, however often it is resumed. Ctrl-C stops after the current page.',
  ],
  async run(ctx) {
    const v = ctx.values;
    const filter = filterOf(v, Date.now());
    const dryRun = v['dry-run'] === true;
    const result = await runRedrive(ctx, filter, dryRun, strOption(v, 'cursor'), intOption(v, 'limit', 1, Number.MAX_SAFE_INTEGER));
    out(ctx.io, ctx.json ? JSON.stringify(result) : summary(result));
    if (result.cursor !== undefined) ctx.io.stderr.write(`${ctx.signal.aborted ? 'Interrupted. ' : ''}Resume with: ${resumeCommand(filter, dryRun, result.cursor)}\n`);
    return ctx.signal.aborted && !result.complete ? EXIT.interrupted : EXIT.ok;
  },
};
