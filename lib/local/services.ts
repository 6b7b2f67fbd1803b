/**
 * What `npm start` adds to the local stack beyond the workers. The scheduling issue fills this in
 * with its local emulations (minute tick, one-time wake-ups, recurring schedules, TTL deletion),
 * e.g. `const { scheduler, service } = localScheduling(); return { scheduler, services: [service] };`.
 */
import { localScheduling } from './scheduling.ts';
import type { LocalStackOptions } from './stack.ts';

/** The stack options `npm start` takes from here. */
export type LocalExtras = Pick<LocalStackOptions, 'services' | 'scheduler'>;

/**
 * The default extras of the local stack: the local scheduler (prompt pickup with shard hints,
 * one-time wake-ups, recurring schedules, the minute tick and the TTL sweep; see lib/scheduler).
 */
export function defaultLocalExtras(): LocalExtras {
  const { scheduler, service } = localScheduling();
  return { scheduler, services: [service] };
}
