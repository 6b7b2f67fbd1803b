/**
 * Fault injection for the reliability suite: a client middleware placed inside the SDK's retry
 * loop that makes a fraction of DynamoDB calls fail with a throttling error, an HTTP 500 or a
 * connection reset, either before the request is sent or AFTER the server applied it (the caller
 * sees an error for a write that happened). The SDK's standard retry strategy retries all three.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** The kinds of injected fault. */
export type FaultKind = 'throttle' | 'http500' | 'econnreset';

/** Options of {@link injectFaults}. */
export interface FaultOptions {
  /** Fraction of calls that fail, 0 to 1. @default 0.05 */
  readonly rate?: number;
  /** Of the failed calls, the fraction that fail after the server applied the request. @default 0.5 */
  readonly afterRate?: number;
  /** Source of randomness. @default Math.random */
  readonly random?: () => number;
  /** Only these commands fail (e.g. `UpdateItemCommand`). @default all data-plane commands */
  readonly commands?: readonly string[];
}

/** What was injected, by command and kind. */
export interface FaultLog {
  /** Faults thrown before the request reached DynamoDB. */
  before: number;
  /** Faults thrown after DynamoDB applied the request. */
  after: number;
  readonly byCommand: Record<string, number>;
  readonly byKind: Record<FaultKind, number>;
  /** The inputs of the calls that failed after DynamoDB applied them, by command. */
  readonly appliedThenFailed: Record<string, unknown[]>;
}

const KINDS: readonly FaultKind[] = ['throttle', 'http500', 'econnreset'];
const CONTROL_PLANE = /Table|TimeToLive/;

/** Builds an error the SDK classifies exactly like the real one. */
export function faultError(kind: FaultKind, command: string): Error {
  const metadata = { httpStatusCode: kind === 'throttle' ? 400 : kind === 'http500' ? 500 : undefined, attempts: 1, totalRetryDelay: 0 };
  if (kind === 'throttle') {
    return Object.assign(new Error(`injected: ${command} throttled`), { name: 'ProvisionedThroughputExceededException', $fault: 'client', $metadata: metadata });
  }
  if (kind === 'http500') {
    return Object.assign(new Error(`injected: ${command} internal server error`), { name: 'InternalServerError', $fault: 'server', $metadata: metadata });
  }
  return Object.assign(new Error(`injected: ${command} socket hang up`), { name: 'Error', code: 'ECONNRESET', $metadata: {} });
}

/**
 * Adds the fault middleware to `client` and returns the live log of injected faults.
 * @example
 * const log = injectFaults(client, { rate: 0.05 });
 */
export function injectFaults(client: DynamoDBClient, options: FaultOptions = {}): FaultLog {
  const rate = options.rate ?? 0.05;
  const afterRate = options.afterRate ?? 0.5;
  const random = options.random ?? Math.random;
  const only = options.commands ? new Set(options.commands) : null;
  const log: FaultLog = { before: 0, after: 0, byCommand: {}, byKind: { throttle: 0, http500: 0, econnreset: 0 }, appliedThenFailed: {} };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? 'unknown';
      if (CONTROL_PLANE.test(command) || (only && !only.has(command)) || random() >= rate) return next(args);
      const kind = KINDS[Math.floor(random() * KINDS.length)]!;
      log.byCommand[command] = (log.byCommand[command] ?? 0) + 1;
      log.byKind[kind]++;
      if (random() < afterRate) {
        // The nasty case: the server applied the request, the caller sees an error.
        await next(args).catch(() => {});
        log.after++;
        (log.appliedThenFailed[command] ??= []).push(args.input);
      } else log.before++;
      throw faultError(kind, command);
    },
    // The deserialize step runs inside the retry middleware (finalizeRequest), so the SDK retries.
    { step: 'deserialize', name: 'jobtableFaultInjection', priority: 'high' },
  );
  return log;
}

/** How a {@link FaultRule} hits a matching call. */
export type RuleMode =
  /** Fail without sending: the request never reaches DynamoDB. */
  | 'before'
  /** Send, let DynamoDB apply it, then fail: the caller sees an error for a write that happened. */
  | 'after'
  /** Send, let DynamoDB apply it, then hold the response for `delayMs` (a slow round trip). */
  | 'slow';

/** A targeted fault: the next `times` calls that `match` are hit. */
export interface FaultRule {
  /** Which calls: by command name (`UpdateItemCommand`) and input. */
  readonly match: (command: string, input: any) => boolean;
  readonly mode: RuleMode;
  /** How many matching calls to hit (each SDK attempt is one call). @default 1 */
  readonly times?: number;
  /** Error kind for `before`/`after`. @default 'http500' */
  readonly kind?: FaultKind;
  /** Response delay for `slow`. @default 2500 */
  readonly delayMs?: number;
}

/** What a rule did so far. */
export interface RuleLog {
  /** Matching calls hit. */
  hits: number;
  /** Every matching call seen (hit or not), by its input. */
  readonly seen: unknown[];
}

/**
 * Adds one targeted fault rule to `client`, inside the SDK's retry loop like {@link injectFaults}.
 * @example
 * // every SDK attempt of the next completion write fails after it was applied
 * addFaultRule(client, { match: isOutcomeWrite('completed'), mode: 'after', times: 3 });
 */
export function addFaultRule(client: DynamoDBClient, rule: FaultRule): RuleLog {
  const log: RuleLog = { hits: 0, seen: [] };
  const times = rule.times ?? 1;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? 'unknown';
      if (!rule.match(command, args.input)) return next(args);
      log.seen.push(args.input);
      if (log.hits >= times) return next(args);
      log.hits++;
      if (rule.mode === 'before') throw faultError(rule.kind ?? 'http500', command);
      if (rule.mode === 'slow') {
        const out = await next(args);
        await new Promise((r) => setTimeout(r, rule.delayMs ?? 2_500));
        return out;
      }
      await next(args).catch(() => {});
      throw faultError(rule.kind ?? 'http500', command);
    },
    { step: 'deserialize', name: `jobtableFaultRule${Math.random().toString(36).slice(2)}`, priority: 'high' },
  );
  return log;
}

type UpdateInput = { UpdateExpression?: string; ExpressionAttributeValues?: Record<string, { S?: string }> };

/** Matches the outcome write of a claimed job: `completed`, `retry` (back to pending later) or `failed`. */
export function isOutcomeWrite(outcome: 'completed' | 'retry' | 'failed'): FaultRule['match'] {
  const marker = outcome === 'completed' ? ':completed' : outcome === 'failed' ? ':failed' : ':error';
  return (command, input: UpdateInput) => {
    const values = input.ExpressionAttributeValues;
    if (command !== 'UpdateItemCommand' || !values?.[':fence_write'] || !values[marker]) return false;
    return outcome !== 'retry' || !values[':failed']; // a final failure carries an error too
  };
}

/** Matches a claim (the conditional update that takes a due job). */
export const isClaim: FaultRule['match'] = (command, input: UpdateInput) =>
  command === 'UpdateItemCommand' && !!input.ExpressionAttributeValues?.[':token'] && !!input.ExpressionAttributeValues?.[':processing'];

/** Matches a heartbeat (a fenced write of the lease alone). */
export const isHeartbeat: FaultRule['match'] = (command, input: UpdateInput) =>
  command === 'UpdateItemCommand' && !!input.ExpressionAttributeValues?.[':fence_write'] && !!input.ExpressionAttributeValues?.[':lease'];
