/** Example job: send an email (simulated). Shows a typed payload, a result and a permanent error. */
import { PermanentJobError } from 'jobtable';
import type { HandlerFn } from 'jobtable';

/** Payload of `send_email`. */
export interface SendEmailPayload {
  readonly to: string;
  readonly subject: string;
  readonly body?: string;
}

/**
 * Sends the email (here: pretends to, after a short delay) and returns when it was sent. An
 * address that can never work fails the job at once (`PermanentJobError`): retrying it would only
 * spend attempts.
 */
export const sendEmail: HandlerFn<SendEmailPayload, { to: string; sentAt: string }> = async (payload, ctx) => {
  if (typeof payload.to !== 'string' || !payload.to.includes('@')) throw new PermanentJobError(`payload.to is not an email address: ${String(payload.to)}`);
  await new Promise((r) => setTimeout(r, 50));
  ctx.signal.throwIfAborted();
  return { to: payload.to, sentAt: new Date().toISOString() };
};
