/**
 * The JSON shape of one enqueue request, shared by `POST /jobs` and the CLI's JSON-lines files:
 * `{ type, payload, runAt?, delayMs?, priority?, queue?, maxAttempts?, timeoutMs?, backoff?, idempotencyKey?, group?, debounce?, dependsOn?, onDependencyFailure? }`
 * (`debounce`: `{ key, windowMs }`).
 */
import { ValidationError } from '../errors.ts';
import type { EnqueueOptions } from '../types.ts';

/** Fields besides `type` and `payload`: exactly the enqueue options. */
export const ENQUEUE_REQUEST_OPTIONS = ['runAt', 'delayMs', 'priority', 'queue', 'maxAttempts', 'timeoutMs', 'backoff', 'idempotencyKey', 'debounce', 'group', 'dependsOn', 'onDependencyFailure'] as const;

/** A parsed request; `type`, `payload` and the option values are checked by `JobQueue.enqueue`. */
export interface EnqueueRequestBody {
  readonly type: unknown;
  readonly payload: unknown;
  readonly options: EnqueueOptions;
}

/**
 * Splits a request object into type, payload and options, rejecting anything else.
 * @param prefix a path prefix for error fields, e.g. `line 3: `
 * @throws ValidationError naming the field
 */
export function parseEnqueueRequest(body: unknown, prefix = ''): EnqueueRequestBody {
  const allowed = new Set<string>(['type', 'payload', ...ENQUEUE_REQUEST_OPTIONS]);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ValidationError(`${prefix}body`, `a JSON object with ${[...allowed].join(', ')}`);
  }
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if (!allowed.has(key)) throw new ValidationError(`${prefix}${key}`, `one of ${[...allowed].join(', ')}`, `unknown field "${key.slice(0, 60)}"`);
  }
  if (!('payload' in b)) throw new ValidationError(`${prefix}payload`, 'a JSON value (use {} for none)', 'is missing');
  const options: Record<string, unknown> = {};
  for (const key of ENQUEUE_REQUEST_OPTIONS) if (b[key] !== undefined) options[key] = b[key];
  return { type: b.type, payload: b.payload, options: options as EnqueueOptions };
}

/**
 * Parses `POST /jobs/parent`: the parent's request (as {@link parseEnqueueRequest}, without
 * `dependsOn`), plus `children` (an array of requests `{ type, payload, ...options }`) and
 * `onChildFailure`.
 * @throws ValidationError naming the field (`children[3].priority`)
 */
export function parseParentRequest(body: unknown): EnqueueRequestBody & { readonly children: EnqueueRequestBody[]; readonly onChildFailure: unknown } {
  const b = (typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {}) as Record<string, unknown>;
  const { children, onChildFailure, ...rest } = b;
  const parent = parseEnqueueRequest(typeof body === 'object' && body !== null && !Array.isArray(body) ? rest : body);
  if (!Array.isArray(children)) throw new ValidationError('children', 'an array of { type, payload, ...options }', 'is missing or not an array');
  return { ...parent, children: children.map((c, i) => parseEnqueueRequest(c, `children[${i}].`)), onChildFailure };
}
