/**
 * The local scheduler as a service of the local stack (`lib/local/stack.ts`): one object that
 * the stack's queue takes as its `scheduler` (and whose `onEnqueued` it calls), and a
 * `LocalService` that starts the timers with the stack and routes every wake-up to the stack's
 * worker of that queue, with the shard hints of a kick.
 */
import { LocalScheduler } from '../scheduler/local.ts';
import type { LocalSchedulerOptions } from '../scheduler/local.ts';
import type { LocalService, LocalStackContext } from './stack.ts';

/** The scheduler and the service that runs it. */
export interface LocalScheduling {
  /** Pass as the stack's `scheduler` (the queue's scheduler and `onEnqueued` hook). */
  readonly scheduler: LocalScheduler;
  /** Pass in the stack's `services`. */
  readonly service: LocalService;
}

/**
 * Builds the local emulation of EventBridge Scheduler, the stream trigger and TTL for the stack.
 * @example
 * const { scheduler, service } = localScheduling();
 * await startLocalStack({ scheduler, services: [service] });
 */
export function localScheduling(options: Omit<LocalSchedulerOptions, 'wake'> = {}): LocalScheduling {
  let stack: LocalStackContext | undefined;
  const scheduler = new LocalScheduler({
    ...options,
    wake: (e) => {
      if (e.reason === 'tick') stack?.wake();
      else stack?.workers.get(e.queue)?.wake(e.shards);
    },
  });
  const service: LocalService = {
    name: 'scheduler (prompt pickup, wake-ups, recurring schedules, minute tick, TTL sweep)',
    start(ctx) {
      stack = ctx;
      scheduler.start(ctx.queue);
    },
    async stop() {
      await scheduler.stop();
      stack = undefined;
    },
  };
  return { scheduler, service };
}
