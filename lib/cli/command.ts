/** The shape of a CLI command, and the helpers commands share to read their options. */
import type { ParseArgsConfig } from 'node:util';
import type { Connection } from './connect.ts';
import { CliError, EXIT } from './exit.ts';
import { parseDuration } from './output.ts';

/** Where a command writes. */
export interface Io {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** Parsed option values. */
export type Values = Record<string, string | boolean | string[] | boolean[] | undefined>;

/** What a command's `run` gets. */
export interface CommandContext {
  readonly values: Values;
  readonly positionals: readonly string[];
  readonly io: Io;
  /** `--json`: machine-readable output on stdout. */
  readonly json: boolean;
  /** Connects to the queue (see `connect.ts`); closed by the runner afterwards. */
  connect(): Connection;
  /** Aborted on Ctrl-C / SIGTERM. */
  readonly signal: AbortSignal;
}

/** One `jobtable <name>` command. */
export interface Command {
  readonly name: string;
  /** `jobtable <usage>` */
  readonly usage: string;
  readonly summary: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  /** Lines of option help. */
  readonly help: readonly string[];
  /** Resolves to the exit code. */
  run(ctx: CommandContext): Promise<number>;
}

/** Writes a line to stdout. */
export const out = (io: Io, text: string) => io.stdout.write(`${text}\n`);

/** Reads an integer option within [min, max]; undefined when absent. */
export function intOption(values: Values, name: string, min: number, max: number): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (typeof raw !== 'string' || !/^-?\d+$/.test(raw) || n < min || n > max) throw new CliError(`--${name} must be an integer from ${min} to ${max}, got "${String(raw)}"`, EXIT.usage);
  return n;
}

/** Reads a duration option (`500`, `500ms`, `30s`, `5m`, `1h`) in ms; undefined when absent. */
export function durationOption(values: Values, name: string): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const ms = typeof raw === 'string' ? parseDuration(raw) : null;
  if (ms === null) throw new CliError(`--${name} must be a duration such as 500, 500ms, 30s, 5m or 1h, got "${String(raw)}"`, EXIT.usage);
  return ms;
}

/** Reads a string option. */
export const strOption = (values: Values, name: string): string | undefined => (typeof values[name] === 'string' ? (values[name] as string) : undefined);

/** The one required positional argument `name` at `index`. */
export function positional(ctx: CommandContext, index: number, name: string): string {
  const v = ctx.positionals[index];
  if (v === undefined) throw new CliError(`missing <${name}>`, EXIT.usage);
  return v;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
