/**
 * The AWS "kick": an asynchronous invoke of the worker function with a {@link WakeEvent}, so a
 * due job starts now instead of at the next minute tick. Used by the stream Lambda.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { wakeEvent } from './port.ts';
import type { WakeReason } from './port.ts';

/** Wakes the worker of a queue. */
export type Kick = (queue: string, reason?: WakeReason, shards?: readonly number[]) => Promise<void>;

/**
 * A {@link Kick} that invokes `functionName` asynchronously (`InvocationType: 'Event'`): the call
 * returns once Lambda has queued the event (~20-50 ms), not when the drain ends.
 * @example
 * const kick = lambdaKick(new LambdaClient({}), process.env.JOBTABLE_WAKE_TARGET_ARN!);
 * await kick('default');
 */
export function lambdaKick(client: LambdaClient, functionName: string): Kick {
  const encoder = new TextEncoder();
  return async (queue, reason = 'enqueued', shards) => {
    const payload = encoder.encode(JSON.stringify(wakeEvent(queue, reason, shards)));
    await client.send(new InvokeCommand({ FunctionName: functionName, InvocationType: 'Event', Payload: payload }));
  };
}
