/**
 * The `jobtable` command line: parses global and command options (`node:util` parseArgs), runs
 * the command, and turns errors into one clear line and an exit code (see `exit.ts`).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { JobTableError, ValidationError } from '../errors.ts';
import type { Command, Io } from './command.ts';
import { out } from './command.ts';
import { dashboardCommand } from './commands/dashboard.ts';
import { enqueueCommand } from './commands/enqueue.ts';
import { cancelCommand, getCommand, listCommand, retryCommand } from './commands/jobs.ts';
import { redriveCommand } from './commands/redrive.ts';
import { startCommand } from './commands/start.ts';
import { statsCommand, watchCommand } from './commands/stats.ts';
import { workCommand } from './commands/work.ts';
import { connect } from './connect.ts';
import type { Connection } from './connect.ts';
import { CliError, EXIT } from './exit.ts';

/** Every command. */
export const COMMANDS: readonly Command[] = [startCommand, enqueueCommand, getCommand, listCommand, cancelCommand, retryCommand, redriveCommand, statsCommand, watchCommand, workCommand, dashboardCommand];

const GLOBAL_OPTIONS = {
  json: { type: 'boolean' },
  table: { type: 'string' },
  region: { type: 'string' },
  endpoint: { type: 'string' },
  'data-dir': { type: 'string' },
  'shard-count': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const GLOBAL_HELP = [
  '--json                 machine-readable output on stdout',
  '--table <name>         a jobs table in AWS (credentials from the standard AWS chain)',
  '--region <region>      its region (default from AWS_REGION / your profile)',
  '--endpoint <url>       a DynamoDB endpoint (default: the running local stack)',
  '--data-dir <dir>       where the local stack keeps its state (default ./.data)',
  '--shard-count <n>      write shards per queue (default 16; must match producers)',
];

function usage(command?: Command): string {
  if (command) {
    return [`Usage: jobtable ${command.usage}`, '', command.summary, '', ...(command.help.length ? ['Options:', ...command.help.map((h) => `  ${h}`), ''] : []), 'Global options:', ...GLOBAL_HELP.map((h) => `  ${h}`)].join('\n');
  }
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'Usage: jobtable <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Global options:',
    ...GLOBAL_HELP.map((h) => `  ${h}`),
    '',
    'By default the CLI talks to the local stack started by `npm start`. Exit codes: 0 ok, 1 refused or failed, 2 bad input, 3 queue unreachable, 130 interrupted.',
    'Run `jobtable <command> --help` for its options.',
  ].join('\n');
}

/** True for errors that mean "cannot reach the queue". */
function isUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return (
    ['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'ECONNRESET'].includes(code) ||
    ['ResourceNotFoundException', 'CredentialsProviderError', 'UnrecognizedClientException', 'AccessDeniedException'].includes(err.name) ||
    /Region is missing|Could not load credentials/i.test(err.message)
  );
}

/**
 * Names enqueue options as the flags that set them (`options.maxAttempts` -> `--max-attempts`),
 * or as the JSON field of a jobs file line (`line 3: options.priority` -> `line 3: priority`).
 */
export function asFlags(message: string): string {
  return message.replace(/(line \d+: )options\./g, '$1').replace(/\boptions\.([A-Za-z]+)/g, (_m, name: string) => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`).replace(/^delay-ms$/, 'delay').replace(/^timeout-ms$/, 'timeout')}`);
}

function report(io: Io, json: boolean, err: unknown): number {
  let code: number = EXIT.failed;
  let body: Record<string, unknown>;
  if (err instanceof CliError) {
    code = err.exitCode;
    body = { name: 'CliError', message: err.message, ...err.details };
  } else if (err instanceof ValidationError) {
    code = EXIT.usage;
    body = err.toJSON();
  } else if (err instanceof JobTableError) {
    body = err.toJSON();
  } else if (isUnavailable(err)) {
    code = EXIT.unavailable;
    const e = err as Error;
    body = { name: e.name, code: 'UNAVAILABLE', message: `cannot reach the queue: ${e.message || e.name}` };
  } else {
    const e = err instanceof Error ? err : new Error(String(err));
    body = { name: e.name, message: e.message };
  }
  io.stderr.write(json ? `${JSON.stringify({ error: body })}\n` : `jobtable: ${asFlags(String(body.message))}\n`);
  return code;
}

type OptionSpec = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

/**
 * One clear line for a command line that `parseArgs` refused: the unknown option, the option
 * missing its value, or the flag given a value, with where to look (exit code 2). Node's own
 * message is used only for a case not recognised here.
 */
export function parseError(args: readonly string[], options: NonNullable<OptionSpec>, commandName: string, err: Error): CliError {
  const see = `(see: jobtable ${commandName} --help)`;
  const { tokens } = parseArgs({ args: [...args], options, allowPositionals: true, strict: false, tokens: true });
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    const spec = options[t.name];
    if (!spec) return new CliError(`unknown option ${t.rawName} for "${commandName}" ${see}`, EXIT.usage, { code: 'USAGE', option: t.rawName });
    if (spec.type === 'string' && t.value === undefined) return new CliError(`option ${t.rawName} needs a value ${see}`, EXIT.usage, { code: 'USAGE', option: t.rawName });
    if (spec.type === 'string' && !t.inlineValue && t.value?.startsWith('-')) {
      return new CliError(`option ${t.rawName} needs a value; for a value that starts with "-" write ${t.rawName}=${t.value}`, EXIT.usage, { code: 'USAGE', option: t.rawName });
    }
    if (spec.type === 'boolean' && t.value !== undefined) return new CliError(`option ${t.rawName} takes no value ${see}`, EXIT.usage, { code: 'USAGE', option: t.rawName });
  }
  return new CliError(`${err.message.replace(/\.\s.*$/s, '')} ${see}`, EXIT.usage, { code: 'USAGE' });
}

/** The package's version, from its package.json (two levels above `lib/cli/` in the source and in `dist/`). */
function packageVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'jobtable' && pkg.version) return pkg.version;
    } catch {
      /* not there: try the next */
    }
  }
  return 'unknown';
}

/**
 * Runs the CLI with `argv` (without `node` and the script) and resolves to the exit code.
 * @example
 * process.exitCode = await runCli(['stats', '--json'], process, signal);
 */
export async function runCli(argv: readonly string[], io: Io, signal: AbortSignal): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v' || name === 'version') {
    out(io, packageVersion());
    return EXIT.ok;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    out(io, usage());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  const json = argv.includes('--json');
  if (!command) return report(io, json, new CliError(`unknown command "${name}". Commands: ${COMMANDS.map((c) => c.name).join(', ')}`, EXIT.usage));
  let connection: Connection | undefined;
  try {
    let parsed;
    const options = { ...GLOBAL_OPTIONS, ...command.options };
    try {
      parsed = parseArgs({ args: [...rest], options, allowPositionals: true, strict: true });
    } catch (err) {
      throw parseError(rest, options, command.name, err as Error);
    }
    const v = parsed.values as Record<string, string | boolean | undefined>;
    if (v.help) {
      out(io, usage(command));
      return EXIT.ok;
    }
    const shardText = v['shard-count'] as string | undefined;
    const shardCount = shardText === undefined ? undefined : Number(shardText);
    if (shardCount !== undefined && !(Number.isInteger(shardCount) && shardCount >= 1 && shardCount <= 100)) throw new CliError(`--shard-count must be an integer from 1 to 100`, EXIT.usage);
    return await command.run({
      values: parsed.values,
      positionals: parsed.positionals,
      io,
      json,
      signal,
      connect: () =>
        (connection ??= connect({
          ...(typeof v.table === 'string' ? { table: v.table } : {}),
          ...(typeof v.region === 'string' ? { region: v.region } : {}),
          ...(typeof v.endpoint === 'string' ? { endpoint: v.endpoint } : {}),
          ...(typeof v['data-dir'] === 'string' ? { dataDir: v['data-dir'] } : {}),
          ...(shardCount !== undefined ? { shardCount } : {}),
        })),
    });
  } catch (err) {
    return report(io, json, err);
  } finally {
    connection?.close();
  }
}
