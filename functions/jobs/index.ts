/**
 * The job handler registry: every job type the workers (Lambda and local) can run, and the map
 * of job types to payload types that types `JobQueue` and the handlers. Add your jobs here.
 */
import type { Handlers } from 'jobtable';
import { flaky } from './flaky.ts';
import type { FlakyPayload } from './flaky.ts';
import { generateReport } from './generate-report.ts';
import type { GenerateReportPayload } from './generate-report.ts';
import { sendEmail } from './send-email.ts';
import type { SendEmailPayload } from './send-email.ts';

/** Job types and their payloads. */
export type JobTypes = {
  send_email: SendEmailPayload;
  generate_report: GenerateReportPayload;
  flaky: FlakyPayload;
  /** Does nothing; for benchmarks and smoke tests. */
  noop: Record<string, unknown>;
};

/** The handlers, one per job type. */
export const handlers: Handlers<JobTypes> = {
  send_email: sendEmail,
  generate_report: generateReport,
  flaky,
  noop: () => ({ ok: true }),
};
