/** Small HTTP helpers of the local API: JSON responses and a size-capped JSON body reader. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { JobTableError, ValidationError } from '../errors.ts';

/** Largest request body the local API reads. @default 512 KiB */
export const DEFAULT_BODY_LIMIT_BYTES = 512 * 1024;

/** An error with the HTTP status and JSON body to answer it with. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
  ) {
    super(String(body.message ?? `HTTP ${status}`));
  }

  /** An error response from a typed jobtable error (its `toJSON()` is the body). */
  static of(status: number, error: JobTableError, headers?: Record<string, string>): HttpError {
    return new HttpError(status, error.toJSON(), headers);
  }
}

/** Sends `body` as JSON with `status`; API responses are never cached. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(text);
}

function tooLarge(limitBytes: number, bytes: number | null): HttpError {
  const err = new ValidationError('body', `at most ${limitBytes} bytes`, bytes === null ? `the request body is over ${limitBytes} bytes` : `the request body is ${bytes} bytes, over ${limitBytes}`);
  return HttpError.of(413, err, { connection: 'close' });
}

/**
 * Reads a request body of at most `limitBytes` and parses it as JSON. A declared or actual size
 * over the limit is a 413 (the rest of the body is discarded, unread); text that is not JSON a
 * 400 naming the field `body`.
 */
export async function readJsonBody(req: IncomingMessage, limitBytes: number): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limitBytes) {
    req.resume();
    throw tooLarge(limitBytes, declared);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes) over = true;
    if (!over) chunks.push(chunk);
  }
  if (over) throw tooLarge(limitBytes, size);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw HttpError.of(400, new ValidationError('body', 'a JSON object', 'the request body is empty'));
  try {
    return JSON.parse(text);
  } catch (err) {
    throw HttpError.of(400, new ValidationError('body', 'a JSON object', `not valid JSON: ${(err as Error).message}`));
  }
}
