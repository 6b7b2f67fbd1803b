/** Example job: a call that fails on its first attempts. Shows retries, backoff and `onFailed`. */
import type { HandlerObject } from 'jobtable';

/** Payload of `flaky`. */
export interface FlakyPayload {
  /** Fail this many attempts before succeeding. @default 1 */
  readonly failTimes?: number;
}

/** Throws (a retryable error) while `attempt <= failTimes`, then succeeds. */
export const flaky: HandlerObject<FlakyPayload, { succeededOnAttempt: number }> = {
  handler: (payload, ctx) => {
    const failTimes = payload.failTimes ?? 1;
    if (ctx.attempt <= failTimes) throw new Error(`simulated upstream failure on attempt ${ctx.attempt} of ${failTimes + 1} needed`);
    return { succeededOnAttempt: ctx.attempt };
  },
  onFailed: (error, job) => {
    console.error(JSON.stringify({ level: 'ERROR', message: 'flaky job failed for good', jobId: job.id, error: error.message }));
  },
};
