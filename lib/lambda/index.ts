/**
 * `jobtable/lambda`: the Lambda handlers as factories. Each reads its configuration from the
 * environment the `JobTable` construct sets (`lib/env.ts`), on its first invocation.
 * @example
 * import { createWorkerHandler } from 'jobtable/lambda';
 * import { handlers } from './jobs.ts';
 * export const handler = createWorkerHandler(handlers);
 */
export { createWorkerHandler, LAMBDA_MAX_TIMEOUT_MS, MAX_WAIT_FOR_DUE_MS, SAFETY_MARGIN_MS } from './worker.ts';
export type { WorkerContext, WorkerHandler, WorkerHandlerOptions, WorkerResult } from './worker.ts';
export { createEnqueueHandler, requestIdempotencyKey } from './enqueue.ts';
export type { EnqueueHandler, EnqueueHandlerOptions } from './enqueue.ts';
export { createStreamHandler } from './stream.ts';
export type { StreamHandler, StreamHandlerOptions, StreamResult } from './stream.ts';
export { createScheduleTargetHandler } from './schedule-target.ts';
export type { ScheduleTargetHandler, ScheduleTargetHandlerOptions } from './schedule-target.ts';
