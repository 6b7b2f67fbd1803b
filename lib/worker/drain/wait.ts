/** Waiting inside the drain: for the first of several things, and for "something changed". */

/** Resolves early when new work may be due; the waiter aborts `signal` once it stops waiting. */
export type Wakeup = (signal: AbortSignal) => Promise<void>;

/**
 * Waits for the first of: `ms` elapsing, a wake-up, `abortSignal`, or any of `others`; then
 * removes every timer and listener it set (a long-running worker waits millions of times).
 */
export async function waitForAny(ms: number, wakeup: Wakeup | undefined, abortSignal: AbortSignal | undefined, others: Promise<unknown>[] = []): Promise<void> {
  // Only a wake-up needs telling when the wait is over (an abort makes a costly DOMException).
  const done = wakeup ? new AbortController() : undefined;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const waits: Promise<unknown>[] = [...others];
  if (Number.isFinite(ms)) waits.push(new Promise<void>((r) => (timer = setTimeout(r, Math.max(0, ms)))));
  if (wakeup) waits.push(wakeup(done!.signal));
  if (abortSignal) {
    if (abortSignal.aborted) return;
    waits.push(
      new Promise<void>((r) => {
        onAbort = () => r();
        abortSignal.addEventListener('abort', onAbort, { once: true });
      }),
    );
  }
  try {
    if (waits.length > 0) await Promise.race(waits);
  } finally {
    if (timer) clearTimeout(timer);
    if (onAbort) abortSignal!.removeEventListener('abort', onAbort);
    done?.abort();
  }
}

/**
 * "Something changed" (a claim, a read or a job ended): {@link next} resolves at the following
 * {@link notify}. The drain checks its state, then waits for the next change.
 */
export class Notifier {
  /** One promise shared by every waiter until the next change, so waiting leaks nothing. */
  private pending: { readonly promise: Promise<void>; readonly resolve: () => void } | undefined;

  /** A promise for the next {@link notify}. */
  next(): Promise<void> {
    if (!this.pending) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.pending = { promise, resolve };
    }
    return this.pending.promise;
  }

  /** Resolves the pending {@link next}. */
  notify(): void {
    const pending = this.pending;
    this.pending = undefined;
    pending?.resolve();
  }
}
