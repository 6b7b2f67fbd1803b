/**
 * The local adapter of the scheduler port: timers in this process emulate what EventBridge
 * Scheduler, the stream trigger and DynamoDB TTL do in AWS, behind the same interfaces:
 * - prompt pickup: {@link LocalScheduler.onEnqueued} (pass it as `JobQueueOptions.onEnqueued`)
 *   runs the same plan as the stream Lambda (`planWakeups`): a kick now for due jobs, a
 *   coalesced one-time wake-up at the start of the minute for delayed ones;
 * - recurring schedules: `rate()` and `cron()` (time zones included) fire on timers and enqueue
 *   through `fireRecurring`, keyed like in AWS; `rate(N seconds)` only with `allowSecondRates`;
 * - the minute tick: wakes every known queue once per `tickMs`;
 * - TTL deletion: sweeps expired items every `ttlSweepMs`.
 * Schedules live in memory: they are lost when the process stops.
 */
import { iso } from '../model/codec.ts';
import type { StoreContext } from '../store/context.ts';
import type { Clock, EnqueuedJob } from '../types.ts';
import { nextFireMs, parseScheduleExpression } from './expression.ts';
import type { ScheduleExpression } from './expression.ts';
import { wakeEvent } from './port.ts';
import type { RecurringSchedule, Scheduler, WakeEvent, WakeReason } from './port.ts';
import { fireRecurring } from './recurring.ts';
import type { Enqueuer } from './recurring.ts';
import { sweepExpiredJobs } from './ttl-sweeper.ts';
import { planWakeups, wakeScheduleName } from './wakeups.ts';
import type { WakeupPlanOptions } from './wakeups.ts';

/** Options of {@link LocalScheduler}. */
export interface LocalSchedulerOptions {
  /** Called for every kick, wake-up and tick: wake the worker of `event.queue` (e.g. `worker.wake(event.shards)`). */
  readonly wake: (event: WakeEvent) => void;
  /** Interval of the minute tick; 0 turns it off. @default 60000 */
  readonly tickMs?: number;
  /** Queues the tick wakes besides those seen in enqueues and schedules. @default ["default"] */
  readonly queues?: readonly string[];
  /** Accept `rate(N seconds)` (tests and demos; EventBridge's minimum is a minute). @default false */
  readonly allowSecondRates?: boolean;
  /** Interval of the TTL sweep; 0 turns it off. @default 60000 */
  readonly ttlSweepMs?: number;
  /** Wake-up bucketing, as in AWS. @default { bucketMs: 60000, minLeadMs: 5000 } */
  readonly plan?: WakeupPlanOptions;
  /** Receives errors of background work (a failed recurring enqueue, a failed sweep). @default console.error */
  readonly onError?: (error: Error) => void;
  /** @default the system clock */
  readonly clock?: Clock;
}

/** What the local scheduler needs from the queue once started. */
export interface LocalSchedulerTarget extends Enqueuer {
  readonly store: Pick<StoreContext, 'client' | 'tableName'>;
}

/** A cancellable timer. */
interface Timer {
  cancel(): void;
}

/** setTimeout takes at most 2^31-1 ms; longer waits are re-armed in steps. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Timers that emulate EventBridge Scheduler, the stream trigger and TTL locally.
 * @example
 * const scheduler = new LocalScheduler({ wake: (e) => worker.wake(e.shards) });
 * const queue = new JobQueue({ tableName, client, scheduler, onEnqueued: scheduler.onEnqueued });
 * const worker = new Worker(queue, handlers);
 * scheduler.start(queue); worker.start();
 */
export class LocalScheduler implements Scheduler {
  readonly allowSecondRates: boolean;
  private readonly clock: Clock;
  private readonly recurring = new Map<string, { schedule: RecurringSchedule; expr: ScheduleExpression; startMs: number; timer?: Timer }>();
  private readonly wakeups = new Map<string, Timer>();
  private readonly queues = new Set<string>();
  private readonly intervals: NodeJS.Timeout[] = [];
  private target: LocalSchedulerTarget | undefined;
  private sweeping: Promise<number> | undefined;

  constructor(private readonly options: LocalSchedulerOptions) {
    this.allowSecondRates = options.allowSecondRates ?? false;
    this.clock = options.clock ?? { now: () => Date.now() };
    for (const q of options.queues ?? ['default']) this.queues.add(q);
  }

  /** True between `start()` and `stop()`. */
  get isRunning(): boolean {
    return this.target !== undefined;
  }

  /**
   * Prompt pickup: pass as `JobQueueOptions.onEnqueued`. Kicks queues with due jobs now and arms
   * wake-ups for delayed ones (also before `start()`: wake-ups only need the `wake` callback).
   */
  readonly onEnqueued = (jobs: readonly EnqueuedJob[]): void => {
    const plan = planWakeups(
      jobs.map((j) => ({ queue: j.queue, runAtMs: j.runAt.getTime(), shard: j.shard })),
      this.clock.now(),
      this.options.plan,
    );
    for (const k of plan.kick) this.wake(k.queue, 'enqueued', k.shards);
    for (const w of plan.wakeAt) void this.wakeAt(w.queue, w.atMs);
  };

  /** Starts the recurring schedules, the minute tick and the TTL sweep, enqueueing into `target`. */
  start(target: LocalSchedulerTarget): void {
    if (this.target) return;
    this.target = target;
    for (const name of this.recurring.keys()) this.arm(name);
    const tickMs = this.options.tickMs ?? 60_000;
    if (tickMs > 0) this.intervals.push(unref(setInterval(() => this.tick(), tickMs)));
    const sweepMs = this.options.ttlSweepMs ?? 60_000;
    if (sweepMs > 0) this.intervals.push(unref(setInterval(() => void this.sweepTtl().catch((e) => this.error(e)), sweepMs)));
  }

  /** Stops every timer (schedules are kept, and re-armed by a later `start()`). */
  async stop(): Promise<void> {
    this.target = undefined;
    for (const i of this.intervals.splice(0)) clearInterval(i);
    for (const r of this.recurring.values()) r.timer?.cancel();
    for (const t of this.wakeups.values()) t.cancel();
    this.wakeups.clear();
    await this.sweeping?.catch(() => 0);
  }

  /** Wakes every known queue now (what the minute tick does). */
  tick(): void {
    for (const q of [...this.queues].sort()) this.wake(q, 'tick');
  }

  /** Deletes expired items now (what the periodic sweep does). Returns how many. */
  async sweepTtl(): Promise<number> {
    if (!this.target) return 0;
    if (this.sweeping) return this.sweeping;
    this.sweeping = sweepExpiredJobs(this.target.store, this.clock.now()).finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  async putRecurring(schedule: RecurringSchedule): Promise<void> {
    const expr = parseScheduleExpression(schedule.expression, { allowSeconds: this.allowSecondRates });
    const old = this.recurring.get(schedule.name);
    old?.timer?.cancel();
    this.recurring.set(schedule.name, { schedule, expr, startMs: this.clock.now() });
    this.queues.add(schedule.options.queue);
    if (this.target) this.arm(schedule.name);
  }

  async deleteRecurring(name: string): Promise<boolean> {
    const r = this.recurring.get(name);
    if (!r) return false;
    r.timer?.cancel();
    this.recurring.delete(name);
    return true;
  }

  async listRecurring(): Promise<RecurringSchedule[]> {
    return [...this.recurring.values()].map((r) => r.schedule).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async wakeAt(queue: string, atMs: number): Promise<void> {
    this.queues.add(queue);
    const name = wakeScheduleName(queue, atMs);
    if (this.wakeups.has(name)) return; // coalesced, like a ConflictException in AWS
    this.wakeups.set(
      name,
      this.timerAt(atMs, () => {
        this.wakeups.delete(name); // ActionAfterCompletion: DELETE
        this.wake(queue, 'wake-up');
      }),
    );
  }

  private wake(queue: string, reason: WakeReason, shards?: readonly number[]): void {
    this.queues.add(queue);
    try {
      this.options.wake(wakeEvent(queue, reason, shards));
    } catch (err) {
      this.error(err);
    }
  }

  /** Arms the next firing of a recurring schedule after now. */
  private arm(name: string, afterMs = this.clock.now()): void {
    const r = this.recurring.get(name);
    if (!r || !this.target) return;
    const next = nextFireMs(r.expr, afterMs, { startMs: r.startMs, timezone: r.schedule.timezone });
    if (next === null) return;
    r.timer = this.timerAt(next, () => {
      if (this.recurring.get(name) !== r || !this.target) return;
      const { schedule } = r;
      fireRecurring(this.target, { schedule: schedule.name, type: schedule.type, payload: schedule.payload, options: schedule.options, scheduledTime: iso(next) }).catch((e) => this.error(e));
      this.arm(name, next);
    });
  }

  /** A timer that fires at `atMs` (never before), however far away; cancellable. */
  private timerAt(atMs: number, fn: () => void): Timer {
    let handle: NodeJS.Timeout | undefined;
    let cancelled = false;
    const arm = () => {
      const wait = Math.min(Math.max(0, atMs - this.clock.now()), MAX_TIMER_MS);
      handle = unref(setTimeout(() => {
        if (cancelled) return;
        if (this.clock.now() >= atMs) fn();
        else arm();
      }, wait));
    };
    arm();
    return { cancel: () => ((cancelled = true), clearTimeout(handle)) };
  }

  private error(err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err));
    if (this.options.onError) this.options.onError(e);
    else console.error('[jobtable scheduler]', e);
  }
}

function unref<T extends NodeJS.Timeout>(t: T): T {
  t.unref?.();
  return t;
}
