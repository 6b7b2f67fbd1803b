/**
 * Scripted SDK attempts: a client middleware inside the SDK's retry loop (like faults.ts) that
 * gives the n-th attempt of matching calls the n-th step of a script.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { faultError } from './faults.ts';

/**
 * What one attempt does: `pass` (normal); `after500`/`afterReset` (applied by DynamoDB, then a
 * 500 or a reset); `before500` (a 500 before sending); `throttle` (refused, nothing applied).
 */
export type Step = 'pass' | 'after500' | 'afterReset' | 'before500' | 'throttle';

/** The steps played so far. */
export interface ScriptLog {
  seen: number;
  readonly steps: Step[];
}

/** Adds the script to `client`: the n-th matching attempt gets `steps[n]` (then `pass`). */
export function script(client: DynamoDBClient, match: (command: string, input: any) => boolean, steps: readonly Step[]): ScriptLog {
  const log: ScriptLog = { seen: 0, steps: [] };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? 'unknown';
      if (!match(command, args.input)) return next(args);
      const step = steps[log.seen++] ?? 'pass';
      log.steps.push(step);
      if (step === 'pass') return next(args);
      if (step === 'before500') throw faultError('http500', command);
      if (step === 'throttle') throw faultError('throttle', command);
      await next(args).catch(() => {});
      throw faultError(step === 'after500' ? 'http500' : 'econnreset', command);
    },
    { step: 'deserialize', name: `jobtableScript${Math.random().toString(36).slice(2)}`, priority: 'high' },
  );
  return log;
}

/**
 * Adds a network outage: the first matching attempt is applied by DynamoDB and its answer lost
 * (a reset), then every matching attempt fails with a 500 before sending until `untilMs` (epoch ms).
 */
export function landThenOutage(client: DynamoDBClient, match: (command: string, input: any) => boolean, untilMs: number): { hits: number } {
  const log = { hits: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? 'unknown';
      if (!match(command, args.input) || Date.now() >= untilMs) return next(args);
      if (log.hits++ > 0) throw faultError('http500', command);
      await next(args).catch(() => {});
      throw faultError('econnreset', command);
    },
    { step: 'deserialize', name: `jobtableOutage${Math.random().toString(36).slice(2)}`, priority: 'high' },
  );
  return log;
}
