/** Validation of the drain's arguments, shared by `JobQueue.processJobs` and `Worker`. */
import { ValidationError } from '../errors.ts';
import { MAX_LEASE_GRACE_MS } from '../model/state.ts';
import { LIMITS, validateInteger, validateName } from '../model/validate.ts';
import { validateLimits } from '../model/limits.ts';
import type { ProcessJobsOptions } from '../types.ts';

/**
 * Checks a handler map given to a worker that is deployed or started on its own (the worker
 * Lambda, `jobtable start|work --handlers`): a non-empty object whose every value is a function or
 * an object `{ handler, onFailed? }`. A bad map is refused at start-up, not discovered job by job.
 * @throws ValidationError naming `handlers` or `handlers.<type>`
 */
export function validateHandlerMap(handlers: unknown): void {
  if (typeof handlers !== 'object' || handlers === null || Array.isArray(handlers)) {
    throw new ValidationError('handlers', 'an object mapping job types to handlers', `got ${Array.isArray(handlers) ? 'an array' : handlers === null ? 'null' : typeof handlers}`);
  }
  const entries = Object.entries(handlers);
  if (entries.length === 0) throw new ValidationError('handlers', 'at least one job type', 'the handler map is empty');
  for (const [type, h] of entries) {
    const ok = typeof h === 'function' || (typeof h === 'object' && h !== null && typeof (h as { handler?: unknown }).handler === 'function');
    if (!ok) throw new ValidationError(`handlers.${type}`, 'a function or an object { handler, onFailed? }');
  }
}

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
  int(o.workerBudgetMs, 'workerBudgetMs', 0, Number.MAX_SAFE_INTEGER);
  int(o.leaseGraceMs, 'leaseGraceMs', 0, MAX_LEASE_GRACE_MS);
  int(o.waitForDueWithinMs, 'waitForDueWithinMs', 0, LIMITS.timeoutMsMax);
  int(o.pollIntervalMs, 'pollIntervalMs', 0, LIMITS.timeoutMsMax);
  int(o.shutdownGraceMs, 'shutdownGraceMs', 0, LIMITS.timeoutMsMax);
  if (o.limits !== undefined) validateLimits(o.limits);
  if (o.workerId !== undefined && (typeof o.workerId !== 'string' || o.workerId.length === 0 || o.workerId.length > 128)) {
    throw new ValidationError('workerId', 'a string of 1 to 128 characters');
  }
}
