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

/** Works through the steps, reporting progress after each and heartbeating to keep the lease. */
export const generateReport: HandlerFn<GenerateReportPayload, { reportType: string; url: string; steps: number }> = async (payload, ctx) => {
  const steps = payload.steps ?? 5;
  const stepMs = payload.stepMs ?? 200;
  for (let i = 1; i <= steps; i++) {
    await new Promise((resolve, reject) => {
      const t = setTimeout(resolve, stepMs);
      ctx.signal.addEventListener('abort', () => (clearTimeout(t), reject(ctx.signal.reason)), { once: true });
    });
    await ctx.progress(i, steps, `step ${i} of ${steps}`);
    if (i % 10 === 0) await ctx.heartbeat();
  }
  return { reportType: payload.reportType, url: `/reports/${encodeURIComponent(payload.reportType)}-${ctx.job.id}.pdf`, steps };
};
