/**
 * The event a wake-up, a kick and the minute tick send to the worker: plain data (no SDK
 * import), shared by the runtime and the CDK construct's tick schedules.
 */
import type { WakeEvent, WakeReason } from '../types.ts';

/** Builds a {@link WakeEvent}. */
export function wakeEvent(queue: string, reason: WakeReason, shards?: readonly number[]): WakeEvent {
  return { source: 'jobtable.wake', queue, reason, ...(shards?.length ? { shards } : {}) };
}

/** True if `event` is a {@link WakeEvent}. */
export function isWakeEvent(event: unknown): event is WakeEvent {
  const e = event as Partial<WakeEvent> | null;
  return typeof e === 'object' && e !== null && e.source === 'jobtable.wake' && typeof e.queue === 'string';
}
