/**
 * `jobtable/local`: the whole queue on one machine, with no AWS account. DynamoDB Local's
 * lifecycle, the local stack (workers running your handlers, the HTTP API and dashboard), and the
 * local emulation of EventBridge Scheduler, the stream trigger and TTL.
 * @example
 * import { startLocalStack, localScheduling } from 'jobtable/local';
 * import { handlers } from './jobs.ts';
 * const { scheduler, service } = localScheduling();
 * const stack = await startLocalStack({ handlers, scheduler, services: [service], inMemory: true });
 */
export { startLocalStack } from './stack.ts';
export type { LocalService, LocalStack, LocalStackContext, LocalStackOptions } from './stack.ts';
export { localScheduling } from './scheduling.ts';
export type { LocalScheduling } from './scheduling.ts';
export { defaultLocalExtras } from './services.ts';
export type { LocalExtras } from './services.ts';
export { freePort, LOCAL_CLIENT_CONFIG, localClient, startDynamoDbLocal } from './dynamodb-local.ts';
export type { DynamoDbLocal, DynamoDbLocalOptions } from './dynamodb-local.ts';
export { LocalScheduler } from '../scheduler/local.ts';
export type { LocalSchedulerOptions } from '../scheduler/local.ts';
