/** Example job: send an email (simulated). Shows a typed payload and a result. */
import type { HandlerFn } from 'jobtable';

/** Payload of `send_email`. */
export interface SendEmailPayload {
  readonly to: string;
  readonly subject: string;
  readonly body?: string;
}

/** Sends the email (here: pretends to, after a short delay) and returns when it was sent. */
export const sendEmail: HandlerFn<SendEmailPayload, { to: string; sentAt: string }> = async (payload, ctx) => {
  if (!payload.to || !payload.to.includes('@')) throw new Error(`payload.to is not an email address: ${String(payload.to)}`);
  await new Promise((r) => setTimeout(r, 50));
  ctx.signal.throwIfAborted();
  return { to: payload.to, sentAt: new Date().toISOString() };
};
