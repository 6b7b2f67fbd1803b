/** Validation of the drain's arguments, shared by `JobQueue.processJobs` and `Worker`. */
import { ValidationError } from '../errors.ts';
import { MAX_LEASE_GRACE_MS } from '../model/state.ts';
import { LIMITS, validateInteger, validateName } from '../model/validate.ts';
import type { ProcessJobsOptions } from '../types.ts';

/**
 * Checks the arguments of `processJobs` (and of a `Worker`), so a typo fails loudly instead of
 * draining nothing.
 * @throws ValidationError naming the field
 */
export function validateProcessArgs(handlers: unknown, o: ProcessJobsOptions): void {
  if (!handlers || typeof handlers !== 'object') throw new ValidationError('handlers', 'an object mapping job types to handlers');
  if (typeof o !== 'object' || o === null) throw new ValidationError('options', 'an object');
  if (o.queue !== undefined) validateName(o.queue, 'queue', LIMITS.queueMaxLength);
  const int = (v: number | undefined, field: string, min: number, max: number) => v === undefined || validateInteger(v, field, min, max);
  int(o.concurrency, 'concurrency', 1, 1_000);
  int(o.batchSize, 'batchSize', 1, 100);
  int(o.maxJobs, 'maxJobs', 0, Number.MAX_SAFE_INTEGER);
  int(o.timeBudgetMs, 'timeBudgetMs', 0, Number.MAX_SAFE_INTEGER);
  int(o.finishBy, 'finishBy', 0, Number.MAX_SAFE_INTEGER);
  int(o.leaseGraceMs, 'leaseGraceMs', 0, MAX_LEASE_GRACE_MS);
  int(o.waitForDueWithinMs, 'waitForDueWithinMs', 0, LIMITS.timeoutMsMax);
  int(o.pollIntervalMs, 'pollIntervalMs', 0, LIMITS.timeoutMsMax);
  int(o.shutdownGraceMs, 'shutdownGraceMs', 0, LIMITS.timeoutMsMax);
  if (o.workerId !== undefined && (typeof o.workerId !== 'string' || o.workerId.length === 0 || o.workerId.length > 128)) {
    throw new ValidationError('workerId', 'a string of 1 to 128 characters');
  }
}
