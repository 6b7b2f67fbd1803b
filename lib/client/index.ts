/** Clients for code outside the queue's own Lambdas, and the enqueue function's wire format. */
export { LambdaJobClient } from './lambda-client.ts';
export type { InvokeOptions, LambdaJobClientOptions } from './lambda-client.ts';
export { fromEnqueueEvent, toErrorResponse, toJobEvent } from './protocol.ts';
export type { EnqueueBatchEvent, EnqueueEvent, EnqueueJobEvent, EnqueueResponse } from './protocol.ts';
