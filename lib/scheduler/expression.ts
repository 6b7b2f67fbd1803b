/**
 * Schedule expressions in EventBridge Scheduler syntax: `rate(value unit)`, `cron(6 fields)` and
 * `at(yyyy-mm-ddThh:mm:ss)`. Parsing, validation and "when does it fire next". Pure (no I/O, no
 * timers): the local scheduler arms its timers from {@link nextFireMs}.
 *
 * Cron fields are EventBridge's: minutes, hours, day-of-month, month, day-of-week (1-7 = SUN-SAT,
 * or SUN-SAT), year; wildcards `, - * / ? L W #`; exactly one of day-of-month and day-of-week is
 * `?`. Evaluation is delegated to `croner` (7-part mode with Quartz weekday numbering).
 */
import { Cron } from 'croner';
import { ValidationError } from '../errors.ts';

/** A parsed `rate()` expression. */
export interface RateExpression {
  readonly kind: 'rate';
  /** The period in milliseconds. */
  readonly periodMs: number;
}

/** A parsed `cron()` expression. */
export interface CronExpression {
  readonly kind: 'cron';
  /** The six EventBridge fields. */
  readonly fields: readonly string[];
}

/** A parsed `at()` expression (a one-time schedule). */
export interface AtExpression {
  readonly kind: 'at';
  /** The local date-time as written, `yyyy-mm-ddThh:mm:ss`. */
  readonly dateTime: string;
}

/** Any parsed schedule expression. */
export type ScheduleExpression = RateExpression | CronExpression | AtExpression;

/** Options of {@link parseScheduleExpression}. */
export interface ParseOptions {
  /** Accept `rate(N second(s))`: local emulation only (EventBridge's minimum is one minute). @default false */
  readonly allowSeconds?: boolean;
  /** Accept `at()`. Recurring schedules do not. @default false */
  readonly allowAt?: boolean;
  /** The field named in errors. @default "expression" */
  readonly field?: string;
}

const UNIT_MS: Record<string, number> = { second: 1_000, minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const RATE_RULE = 'rate(value unit) with a positive integer value and unit minute(s), hour(s) or day(s) (singular for 1, plural otherwise)';
const CRON_RULE = 'cron(minutes hours day-of-month month day-of-week year), with exactly one of day-of-month and day-of-week set to ?';
const EXPRESSION_RULE = `${RATE_RULE}, or ${CRON_RULE}`;

/**
 * Parses and validates an expression.
 * @throws ValidationError naming `options.field` and the rule broken
 * @example
 * parseScheduleExpression('rate(5 minutes)') // { kind: 'rate', periodMs: 300000 }
 * parseScheduleExpression('cron(0 2 * * ? *)') // { kind: 'cron', fields: ['0', '2', '*', '*', '?', '*'] }
 */
export function parseScheduleExpression(expression: unknown, options: ParseOptions = {}): ScheduleExpression {
  const field = options.field ?? 'expression';
  if (typeof expression !== 'string') throw new ValidationError(field, EXPRESSION_RULE, `expected a string, got ${typeof expression}`);
  const expr = expression.trim();
  const rate = /^rate\((.*)\)$/.exec(expr);
  if (rate) return parseRate(rate[1]!.trim(), field, options.allowSeconds ?? false);
  const cron = /^cron\((.*)\)$/.exec(expr);
  if (cron) return parseCron(cron[1]!.trim(), field);
  const at = /^at\((.*)\)$/.exec(expr);
  if (at && options.allowAt) {
    const dateTime = at[1]!.trim();
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(dateTime) || Number.isNaN(Date.parse(`${dateTime}Z`))) {
      throw new ValidationError(field, 'at(yyyy-mm-ddThh:mm:ss)', `"${dateTime}" is not a date-time of that form`);
    }
    return { kind: 'at', dateTime };
  }
  throw new ValidationError(field, EXPRESSION_RULE, `"${expr.slice(0, 80)}" is neither a rate() nor a cron() expression`);
}

function parseRate(body: string, field: string, allowSeconds: boolean): RateExpression {
  const rule = allowSeconds ? `${RATE_RULE} (seconds allowed locally)` : RATE_RULE;
  const m = /^(\d+)\s+([a-z]+?)(s?)$/.exec(body);
  if (!m) throw new ValidationError(field, rule, `"rate(${body})" is not of the form rate(value unit)`);
  const value = Number(m[1]);
  const unit = m[2]!;
  const plural = m[3] === 's';
  if (!(unit in UNIT_MS) || (unit === 'second' && !allowSeconds)) {
    throw new ValidationError(field, rule, `unit "${unit}${m[3]}" is not allowed${unit === 'second' ? ' (EventBridge Scheduler rates are at least one minute)' : ''}`);
  }
  if (!Number.isSafeInteger(value) || value < 1) throw new ValidationError(field, rule, `value ${m[1]} is not a positive integer`);
  if (plural !== value > 1) throw new ValidationError(field, rule, `use "${value} ${unit}${value > 1 ? 's' : ''}"`);
  return { kind: 'rate', periodMs: value * UNIT_MS[unit]! };
}

function parseCron(body: string, field: string): CronExpression {
  const fields = body.split(/\s+/);
  if (fields.length !== 6) throw new ValidationError(field, CRON_RULE, `${fields.length} fields given, 6 expected`);
  const [, , dom, , dow] = fields;
  if ((dom === '?') === (dow === '?')) {
    throw new ValidationError(field, CRON_RULE, 'exactly one of day-of-month and day-of-week must be ?');
  }
  try {
    croner(fields, 'UTC');
  } catch (err) {
    throw new ValidationError(field, CRON_RULE, (err as Error).message.replace(/^CronPattern: /, ''), { cause: err });
  }
  return { kind: 'cron', fields };
}

function croner(fields: readonly string[], timezone: string): Cron {
  // croner's 7-part form is `seconds minutes hours dom month dow year`; EventBridge has no seconds.
  return new Cron(`0 ${fields.join(' ')}`, { mode: '7-part', alternativeWeekdays: true, sloppyRanges: true, timezone, paused: true });
}

/**
 * Checks an IANA time zone name.
 * @throws ValidationError if the runtime does not know the zone
 */
export function validateTimezone(value: unknown, field = 'options.timezone'): string {
  const rule = 'an IANA time zone name such as "UTC" or "Europe/Paris"';
  if (typeof value !== 'string' || value.length === 0 || value.length > 50) throw new ValidationError(field, rule, `got ${JSON.stringify(value)}`);
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
  } catch (err) {
    throw new ValidationError(field, rule, `"${value}" is not a known time zone`, { cause: err });
  }
  return value;
}

/** Where a recurring expression starts counting: rates count whole periods from `startMs`. */
export interface FireContext {
  /** When the schedule was created (rates fire at start + k * period, k >= 1). */
  readonly startMs: number;
  /** @default "UTC" */
  readonly timezone?: string;
}

/**
 * The first firing strictly after `afterMs`, or null if the expression never fires again (a cron
 * whose years have passed). `at()` expressions are read as UTC.
 * @example
 * nextFireMs(parseScheduleExpression('cron(0 2 * * ? *)'), Date.parse('2026-01-01T03:00:00Z'), { startMs: 0 })
 * // Date.parse('2026-01-02T02:00:00Z')
 */
export function nextFireMs(expression: ScheduleExpression, afterMs: number, context: FireContext): number | null {
  switch (expression.kind) {
    case 'rate': {
      const periods = Math.floor((afterMs - context.startMs) / expression.periodMs) + 1;
      return context.startMs + Math.max(1, periods) * expression.periodMs;
    }
    case 'cron': {
      const next = croner(expression.fields, context.timezone ?? 'UTC').nextRun(new Date(afterMs));
      return next ? next.getTime() : null;
    }
    case 'at': {
      const ms = Date.parse(`${expression.dateTime}Z`);
      return ms > afterMs ? ms : null;
    }
  }
}

/** The `at()` expression of an instant, in UTC, to the second (rounded up). */
export function atExpression(ms: number): string {
  return `at(${new Date(Math.ceil(ms / 1000) * 1000).toISOString().slice(0, 19)})`;
}
