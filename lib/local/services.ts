/**
 * The services `npm start` runs beside the workers. The scheduling issue adds its local
 * emulations here (minute tick, one-time wake-ups, recurring schedules, TTL deletion).
 */
import type { LocalService } from './stack.ts';

/** The default extra services of the local stack (none yet). */
export function defaultLocalServices(): LocalService[] {
  return [];
}
