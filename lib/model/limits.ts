/**
 * Flow-control limits of a queue, declared in code where the queue is configured, and the pure
 * arithmetic behind them: validation, the ids of the limit items, and the GCRA step of a rate
 * limit. Every worker of a queue must be given the same limits (the CDK construct carries them to
 * every Lambda in one environment variable); see docs/design.md, "Flow control".
 */
import { LimitsError } from '../errors.ts';
import { LIMITS, validateName } from './validate.ts';

/** At most `limit` job starts per `intervalMs`, spaced evenly (no burst at interval edges). */
export interface RateLimit {
  /** Starts per interval, at least 1. */
  readonly limit: number;
  /** The interval in ms, 1 ms to 1 day. */
  readonly intervalMs: number;
}

/** The limits of each group of a queue (every group gets its own, counted apart). */
export interface GroupLimits {
  /** Jobs of one group running at once, across all workers. */
  readonly concurrency?: number;
  /** Starts of one group's jobs, across all workers. */
  readonly rate?: RateLimit;
  /**
   * FIFO per group: jobs of one group start in enqueue order, one at a time; a retrying job holds
   * its group until it completes or dead-letters. Producers decide at enqueue, so every producer of
   * the queue must be given it; workers follow what each job's item says. See docs/design.md,
   * "FIFO per group". @default false
   */
  readonly fifo?: boolean;
}

/**
 * The limits of one queue, enforced across every worker. Jobs without a group count only towards
 * the queue-wide limits. 
 */
export interface QueueLimits {
  /** Jobs of the queue running at once, across all workers. */
  readonly concurrency?: number;
  /** Starts of the queue's jobs, across all workers. */
  readonly rate?: RateLimit;
  /** Limits applied to each group of the queue apart. */
  readonly group?: GroupLimits;
}

/** Limits per queue name. */
export type LimitsByQueue = Readonly<Record<string, QueueLimits>>;

/**
 * Largest concurrency limit. A concurrency item holds one entry (~50 bytes) per running job, and
 * each write costs 1 write unit per KB of it: 20 holders fit in 1 unit, 100 take 5 (docs/design.md).
 */
export const MAX_CONCURRENCY_LIMIT = 100;
/**
 * Largest rate of one key, in starts per second: one item takes at most 1,000 writes a second,
 * and each start writes it once (plus the writes of races lost under contention).
 */
export const MAX_RATE_PER_SECOND = 500;
/** Longest rate interval: one day. */
export const MAX_RATE_INTERVAL_MS = 86_400_000;

const LIMIT_KEYS = ['concurrency', 'rate', 'group'];
const GROUP_KEYS = ['concurrency', 'rate', 'fifo'];
const RATE_KEYS = ['limit', 'intervalMs'];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(o: Record<string, unknown>, allowed: readonly string[], field: string): void {
  for (const key of Object.keys(o)) {
    if (!allowed.includes(key)) throw new LimitsError(`${field}.${key}`, `one of ${allowed.join(', ')}`, `unknown limit "${key.slice(0, 40)}"`);
  }
}

function integer(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new LimitsError(field, `an integer from ${min} to ${max}`, `got ${typeof value === 'number' ? value : typeof value}`);
  }
  return value;
}

function validateRate(value: unknown, field: string): RateLimit {
  if (!isObject(value)) throw new LimitsError(field, 'an object { limit, intervalMs }');
  checkKeys(value, RATE_KEYS, field);
  const intervalMs = integer(value.intervalMs, `${field}.intervalMs`, 1, MAX_RATE_INTERVAL_MS);
  const limit = integer(value.limit, `${field}.limit`, 1, Number.MAX_SAFE_INTEGER);
  if ((limit * 1000) / intervalMs > MAX_RATE_PER_SECOND) {
    throw new LimitsError(`${field}.limit`, `at most ${MAX_RATE_PER_SECOND} starts per second per key (one DynamoDB item takes 1,000 writes/s)`, `${limit} per ${intervalMs} ms is ${Math.round((limit * 1000) / intervalMs)} per second`);
  }
  return { limit, intervalMs };
}

function validateGroupLimits(value: unknown, field: string): GroupLimits {
  if (!isObject(value)) throw new LimitsError(field, 'an object { concurrency?, rate?, fifo? }');
  checkKeys(value, GROUP_KEYS, field);
  if (value.fifo !== undefined && typeof value.fifo !== 'boolean') throw new LimitsError(`${field}.fifo`, 'true or false');
  return {
    ...(value.fifo === true ? { fifo: true } : {}),
    ...(value.concurrency !== undefined ? { concurrency: integer(value.concurrency, `${field}.concurrency`, 1, MAX_CONCURRENCY_LIMIT) } : {}),
    ...(value.rate !== undefined ? { rate: validateRate(value.rate, `${field}.rate`) } : {}),
  };
}

/** Checks one queue's limits; throws a {@link LimitsError} naming the field and the limit. */
export function validateQueueLimits(value: unknown, field = 'limits'): QueueLimits {
  if (!isObject(value)) throw new LimitsError(field, 'an object { concurrency?, rate?, group? }');
  checkKeys(value, LIMIT_KEYS, field);
  return {
    ...(value.concurrency !== undefined ? { concurrency: integer(value.concurrency, `${field}.concurrency`, 1, MAX_CONCURRENCY_LIMIT) } : {}),
    ...(value.rate !== undefined ? { rate: validateRate(value.rate, `${field}.rate`) } : {}),
    ...(value.group !== undefined ? { group: validateGroupLimits(value.group, `${field}.group`) } : {}),
  };
}

/** Checks a limits map (queue name to {@link QueueLimits}); throws a {@link LimitsError}. */
export function validateLimits(value: unknown, field = 'limits'): LimitsByQueue {
  if (!isObject(value)) throw new LimitsError(field, 'an object mapping queue names to { concurrency?, rate?, group? }');
  const out: Record<string, QueueLimits> = {};
  for (const [queue, limits] of Object.entries(value)) {
    validateName(queue, `${field} key`, LIMITS.queueMaxLength);
    out[queue] = validateQueueLimits(limits, `${field}.${queue}`);
  }
  return Object.freeze(out);
}

/** True if the limits limit anything (a queue without any costs exactly a plain job). */
export function hasLimits(limits: QueueLimits | undefined): limits is QueueLimits {
  return !!limits && (limits.concurrency !== undefined || limits.rate !== undefined || limits.group?.concurrency !== undefined || limits.group?.rate !== undefined);
}

/** Prefix of every limit item's id: `limit#...` never collides with a job id (a UUID). */
export const LIMIT_ID_PREFIX = 'limit#';

/** What a limit item counts. */
export type LimitKind = 'concurrency' | 'rate';

/**
 * The id of the item holding one limit's state: `limit#<kind>#<queue>` for a queue-wide limit,
 * `limit#<kind>#<queue>#<group>` for one group's (neither names nor groups contain `#`).
 */
export function limitItemId(kind: LimitKind, queue: string, group?: string | null): string {
  return `${LIMIT_ID_PREFIX}${kind}#${queue}${group ? `#${group}` : ''}`;
}

/**
 * Spacing of the starts of one key: `(intervalMs + margin) / limit` (see {@link rateMarginMs}).
 * Workers start a job at their own clock's idea of its slot, and a start may come a little after
 * it; without a margin, two starts exactly `intervalMs` apart could land within one interval as
 * seen by an observer. Costs at most 5% of the rate.
 */
export function rateSpacingMs(rate: RateLimit): number {
  return (rate.intervalMs + rateMarginMs(rate)) / rate.limit;
}

/**
 * The rate's margin: 5% of its interval, at most 100 ms. A worker starts a job no later than 80%
 * of it after the job's slot (else it takes another slot), so any `intervalMs` window of observed
 * starts holds at most `limit` of them, even with the start delayed by a slow claim or a busy
 * event loop.
 */
export function rateMarginMs(rate: RateLimit): number {
  return Math.min(100, rate.intervalMs * 0.05);
}

/** How late after its slot a job may still start on it (see {@link rateMarginMs}). */
export function rateLatenessMs(rate: RateLimit): number {
  return rateMarginMs(rate) * 0.8;
}

/** How far ahead a worker may reserve a start slot (and wait for it, holding its claim slot). */
export function maxReserveMs(rate: RateLimit): number {
  return Math.min(1_000, Math.max(rateSpacingMs(rate), rate.intervalMs / 2));
}

/**
 * How far ahead of now a start is granted at the earliest: the writes that follow the grant (the
 * job's claim) then land before the start, and the job starts on its slot rather than late (a late
 * start pushes the key's later ones back, see `rateLatenessMs`). 1.5 times what those writes took
 * lately (`observedMs`), at least 100 ms, at most 80% of the reservation window.
 */
export function startLeadMs(rate: RateLimit, observedMs = 0): number {
  return Math.min(Math.max(100, 1.5 * observedMs), maxReserveMs(rate) * 0.8);
}

/**
 * When a worker refused for a key whose next start is at `nextStartMs` asks again: the lead
 * (`leadMs`, see {@link startLeadMs}) plus half the reservation window before it (at least half
 * the window, at most all of it). The request must land while the next start is still a lead
 * ahead, or that start goes unused: this leaves it half a window for the wake-up, the pick of a
 * candidate and the write (with only a fifth, a group at 20 per second lost up to 15 of its 190
 * starts in 10 s). Asking before the whole window is free also lets one write take a few starts
 * (a batch) rather than every refused worker racing for each single start.
 */
export function rateRetryAtMs(rate: RateLimit, nextStartMs: number, leadMs = startLeadMs(rate)): number {
  const reserve = maxReserveMs(rate);
  return nextStartMs - Math.min(reserve, Math.max(reserve / 2, leadMs + reserve * 0.5));
}

/**
 * How late after its slot a job gives the slot up and takes another start rather than start late.
 * Up to this, a job more than {@link rateLatenessMs} late starts at once and leaves one slot unused
 * (a hole) at the key's next start or now, whichever is later (see `pushRateBack`): every window
 * of `intervalMs` that holds the late start then also holds that hole or the late job's own
 * missed slot, provided the hole lies before the missed slot plus `intervalMs`. The key's next
 * start is at most `maxReserveMs` plus a spacing ahead, so that holds up to
 * `intervalMs - maxReserveMs - 2 x spacing` late (395 ms at 20 per second); past it (or if that is
 * under the allowed lateness, as for one start per interval), the job takes a new start.
 */
export function rateRetakeAfterMs(rate: RateLimit): number {
  return Math.max(rateLatenessMs(rate), rate.intervalMs - maxReserveMs(rate) - 2 * rateSpacingMs(rate));
}

/**
 * How much later a job that started `lateMs` after its slot moves the key's next start (from the
 * later of it and now): one spacing, a hole, up to {@link rateRetakeAfterMs}; past it (a job that
 * could not take a new start) its lateness too, erring towards fewer starts.
 */
export function rateHoleMs(rate: RateLimit, lateMs: number): number {
  return lateMs <= rateRetakeAfterMs(rate) ? rateSpacingMs(rate) : lateMs - rateLatenessMs(rate) + rateSpacingMs(rate);
}

/** The GCRA step: what taking up to `count` starts at `nowMs` from a key whose theoretical arrival time is `tat` gives. */
export type RateStep = { readonly kind: 'granted'; readonly startsAtMs: readonly number[]; readonly newTat: number } | { readonly kind: 'denied'; readonly retryAtMs: number };

/**
 * GCRA (generic cell rate algorithm) without burst: the key's theoretical arrival time `tat` is
 * when its next start may happen. Starts are granted at `max(tat, now + lead)` (see
 * {@link startLeadMs}) and every spacing after it, as many of `count` as fall at most
 * `maxReserveMs` ahead (the workers then wait until each); `tat` moves on past the last. None
 * within reach: denied until a few come within reach (see {@link rateRetryAtMs}). Starts are
 * whole ms, rounded up (never early); `tat` keeps the exact spacing, fractions of a ms included
 * (rounding it up at every grant cost a key granted one start at a time 1% of its rate). Pure.
 */
export function rateStep(rate: RateLimit, tat: number | null, nowMs: number, count = 1, leadMs = startLeadMs(rate)): RateStep {
  const first = Math.max(tat ?? nowMs, nowMs + leadMs);
  const reserve = maxReserveMs(rate);
  if (first - nowMs > reserve) return { kind: 'denied', retryAtMs: rateRetryAtMs(rate, first, leadMs) };
  const spacing = rateSpacingMs(rate);
  const startsAtMs: number[] = [];
  for (let i = 0; i < count && first + i * spacing - nowMs <= reserve; i++) startsAtMs.push(Math.ceil(first + i * spacing));
  return { kind: 'granted', startsAtMs, newTat: first + startsAtMs.length * spacing };
}
