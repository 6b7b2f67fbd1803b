/**
 * Resending a write past the SDK's own retries. The SDK gives up after a few attempts within
 * about a second; a write that must not be abandoned (a job's outcome, a claim that may have
 * landed) is resent here with backoff until a deadline. Only requests that are safe to resend
 * unchanged come here: conditional writes that recognise their own earlier landing (the same
 * fencing token or write id).
 */
import type { StoreContext } from './context.ts';

/** Error names DynamoDB uses for "slow down": the request was refused, so nothing was applied. */
const THROTTLING = new Set(['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded', 'LimitExceededException']);

/**
 * True for an error after which the request may or may not have been applied: no HTTP answer at
 * all (a reset, a timeout), a 5xx, or a 2xx whose body never arrived whole (the connection was
 * reset mid-body: the SDK reports the 200 status it had read). Only a 4xx answer means DynamoDB
 * refused the request.
 */
export function isOutcomeUnknown(err: unknown): boolean {
  if (!(err instanceof Error)) return true;
  // A later attempt's refusal (throttling) does not undo an earlier attempt that may have landed;
  // a condition failure is a definite answer about the item, so resending it cannot help.
  if (hadUnknownAttempt(err) && err.name !== 'ConditionalCheckFailedException') return true;
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status === undefined || status < 400 || status >= 500;
}

/** Final errors of calls in which some SDK attempt (not necessarily the last) had an unknown outcome. */
const afterUnknownAttempt = new WeakSet<object>();

/** True if `err` ended a call watched by {@link watchAttempts} in which some attempt's outcome was unknown. */
export function hadUnknownAttempt(err: unknown): boolean {
  return typeof err === 'object' && err !== null && afterUnknownAttempt.has(err);
}

/** The part of an SDK command {@link watchAttempts} needs. */
interface WithMiddleware {
  readonly middlewareStack: {
    add(
      middleware: (next: (args: any) => Promise<any>) => (args: any) => Promise<any>,
      options: { step: 'finalizeRequest'; priority: 'low'; name: string },
    ): void;
  };
}

/**
 * Watches each of the SDK's attempts of `command` (a middleware inside its retry loop): once an
 * attempt's outcome was unknown (a 5xx, a lost or cut answer), every later error of the call is
 * marked, so {@link hadUnknownAttempt} and {@link isOutcomeUnknown} see it even when the last
 * attempt was refused (throttled) or failed its condition. Without this, a write that landed on
 * its first attempt and was throttled on its retries reads as "nothing written". Returns `command`.
 */
export function watchAttempts<C extends WithMiddleware>(command: C): C {
  let unknownSeen = false;
  command.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (err) {
        if (isOutcomeUnknown(err)) unknownSeen = true;
        if (unknownSeen && typeof err === 'object' && err !== null) afterUnknownAttempt.add(err);
        throw err;
      }
    },
    // finalizeRequest after the retry middleware (priority high): inside the SDK's retry loop.
    { step: 'finalizeRequest', priority: 'low', name: 'jobtableWatchAttempts' },
  );
  return command;
}

/**
 * True for DynamoDB's refusal of a plain write to an item that a transaction is changing at that
 * moment (such as an earlier owner's `completeWith` on the job's item): nothing was applied, and
 * the same write may succeed (or fail its condition) a moment later. The SDK does not retry it.
 * DynamoDB Local never answers with it (it serialises requests).
 */
export function isTransactionConflict(err: unknown): boolean {
  return err instanceof Error && err.name === 'TransactionConflictException';
}

/** True for an error worth resending: throttling, a transaction conflict, a 5xx, or no answer at all. */
export function isTransient(err: unknown): boolean {
  if (err instanceof Error && (THROTTLING.has(err.name) || (err as { $retryable?: unknown }).$retryable !== undefined)) return true;
  return isTransactionConflict(err) || isOutcomeUnknown(err);
}

/** Options of {@link resendUntil}. */
export interface ResendOptions {
  /** First pause between resends; doubles each time, with jitter. @default 50 */
  readonly baseDelayMs?: number;
  /** Longest pause. @default 1000 */
  readonly maxDelayMs?: number;
  /** Most resends, whatever the clock says (an injected clock may stand still). @default 40 */
  readonly maxResends?: number;
  /** Which errors to resend after. @default {@link isTransient} */
  readonly resendIf?: (err: unknown) => boolean;
  /** No resend once this is aborted (the worker shuts down). @default none */
  readonly stopSignal?: AbortSignal;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Runs `send`, and while it throws a transient error resends it with backoff, as long as the
 * next resend can start before `deadlineMs` (epoch ms on `ctx.clock`). The first send always
 * happens. Rethrows the last error when time or resends run out or `stopSignal` aborted, or at
 * once for a permanent one.
 */
export async function resendUntil<T>(ctx: StoreContext, deadlineMs: number, send: () => Promise<T>, options: ResendOptions = {}): Promise<T> {
  const base = options.baseDelayMs ?? 50;
  const maxDelay = options.maxDelayMs ?? 1_000;
  const maxResends = options.maxResends ?? 40;
  const resendIf = options.resendIf ?? isTransient;
  for (let resend = 0; ; resend++) {
    try {
      return await send();
    } catch (err) {
      if (!resendIf(err) || resend >= maxResends || options.stopSignal?.aborted) throw err;
      const cap = Math.min(maxDelay, base * 2 ** resend);
      const pause = cap / 2 + ctx.random() * (cap / 2);
      if (ctx.clock.now() + pause >= deadlineMs) throw err;
      await sleep(pause);
    }
  }
}
