/** Example job: build a report in steps. Shows progress, heartbeats and the abort signal. */
import type { HandlerFn } from 'jobtable';

/** Payload of `generate_report`. */
export interface GenerateReportPayload {
  readonly reportType: string;
  /** Steps to "process". @default 5 */
  readonly steps?: number;
  /** Milliseconds per step. @default 200 */
  readonly stepMs?: number;
}

/**
 * Waits `ms`, or rejects with the signal's reason as soon as it aborts. The abort listener is
 * removed when the wait ends either way, so a long loop of waits does not pile up listeners.
 */
function step(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Works through the steps, reporting progress after each and heartbeating to keep the lease. */
export const generateReport: HandlerFn<GenerateReportPayload, { reportType: string; url: string; steps: number }> = async (payload, ctx) => {
  const steps = payload.steps ?? 5;
  const stepMs = payload.stepMs ?? 200;
  for (let i = 1; i <= steps; i++) {
    await step(stepMs, ctx.signal);
    await ctx.progress(i, steps, `step ${i} of ${steps}`);
    if (i % 10 === 0) await ctx.heartbeat();
  }
  return { reportType: payload.reportType, url: `/reports/${encodeURIComponent(payload.reportType)}-${ctx.job.id}.pdf`, steps };
};
