/**
 * Enqueue from another Lambda (or any AWS code) by invoking the enqueue function, so the caller
 * needs only `lambda:InvokeFunction` (`JobQueue.grantEnqueue`), not table access.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { randomUUID } from 'node:crypto';
import { errorFromJSON, JobTableError, ValidationError } from '../errors.ts';
import { idempotentJobId } from '../model/codec.ts';
import { validateTraceContext } from '../model/validate.ts';
import { activeTraceContext } from '../observability/tracing.ts';
import type { EnqueueOptions, EnqueueRequest, JobTypeMap, TraceContext } from '../types.ts';
import { toJobEvent } from './protocol.ts';
import type { EnqueueEvent, EnqueueJobEvent } from './protocol.ts';

/** Options of {@link LambdaJobClient}. */
export interface LambdaJobClientOptions {
  /** Name or ARN of the enqueue function (the stack outputs it). */
  readonly functionName: string;
  /** @default a new `LambdaClient` for the current region */
  readonly client?: LambdaClient;
}

/** How to invoke. */
export interface InvokeOptions {
  /**
   * `RequestResponse` waits for the ids and surfaces validation errors. `Event` queues the
   * invoke and returns at once, with the ids the jobs' keys determine (invalid input is only
   * logged by the function). Either way the client sets an idempotency key on every job that has
   * none, so that a resent invoke (the SDK's retry after a lost response, Lambda's retry of an
   * asynchronous invoke) never creates a second job.
   * @default "RequestResponse"
   */
  readonly invocationType?: 'RequestResponse' | 'Event';
  /**
   * The caller's W3C trace context, sent in the payload so that the enqueue function's span
   * continues it and the jobs record it (see `EnqueueOptions.trace`; a job's own `trace` option
   * wins for that job). Give it when you hold a `traceparent` but no OpenTelemetry span.
   * @default the active OpenTelemetry span's context, when `@opentelemetry/api` is installed and
   *   a span is active; else none
   */
  readonly trace?: TraceContext;
}

/** The trace context to send: the one given, else the active span's (null: none). */
async function callerTrace(invoke: InvokeOptions): Promise<TraceContext | null> {
  return invoke.trace !== undefined ? validateTraceContext(invoke.trace, 'invoke.trace') : activeTraceContext();
}

/** The job with the caller's trace context, unless it has its own. */
function withTrace(job: EnqueueJobEvent, trace: TraceContext | null): EnqueueJobEvent {
  return job.trace === undefined && trace ? { ...job, trace } : job;
}

/**
 * The job with an idempotency key: its own, or a fresh one made here, once per `enqueue` call.
 * The function's default key (`lambda:<awsRequestId>`) does not survive a resend of a synchronous
 * invoke (each run gets a new request id), so the client fixes the key before the first send;
 * the SDK then resends the same bytes. A caller that retries `enqueue` itself makes a new call
 * with a new key: pass your own `idempotencyKey` to make those retries safe too.
 */
function withClientKey(job: EnqueueJobEvent): EnqueueJobEvent {
  // A debounced job takes no idempotency key: debounced enqueues are meant to be repeated.
  return job.idempotencyKey === undefined && job.debounce === undefined ? { ...job, idempotencyKey: randomUUID() } : job;
}

/**
 * An asynchronous invoke returns the ids the jobs' keys determine, without an answer from the
 * function; the id of a debounced job (the key's pending job) or of a job with a group (a FIFO
 * job's id follows its position in the group) is known only once written.
 * @throws ValidationError naming the job
 */
function checkIdsKnowable(jobs: readonly EnqueueJobEvent[]): void {
  jobs.forEach((j, i) => {
    if (j.debounce !== undefined || j.group !== undefined) {
      throw new ValidationError(`jobs[${i}].${j.debounce !== undefined ? 'debounce' : 'group'}`, "not with invocationType 'Event'", "the id of a debounced job or a job with a group is known only once written: use invocationType 'RequestResponse'");
    }
  });
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * Typed like `JobQueue.enqueue`, over the enqueue Lambda.
 *
 * @example
 * import type { Jobs as JobTypes } from './jobs.ts'; // your handlers module's job map
 * const jobs = new LambdaJobClient<JobTypes>({ functionName: process.env.ENQUEUE_FUNCTION_NAME! });
 * const id = await jobs.enqueue('send_email', { to: 'a@example.com', subject: 'Hi' }, { delayMs: 60_000 });
 */
export class LambdaJobClient<M extends JobTypeMap = Record<string, any>> {
  private readonly client: LambdaClient;
  private readonly functionName: string;

  constructor(options: LambdaJobClientOptions) {
    if (!options || typeof options.functionName !== 'string' || options.functionName.length === 0) {
      throw new ValidationError('functionName', 'the name or ARN of the enqueue function');
    }
    this.functionName = options.functionName;
    this.client = options.client ?? new LambdaClient({});
  }

  /**
   * Enqueues one job; resolves to its id.
   * @throws ValidationError (with `field` and `limit`) for bad input; nothing is written
   * @throws JobTableError for other failures the function reported
   */
  async enqueue<K extends keyof M & string>(type: K, payload: M[K], options?: EnqueueOptions, invoke: InvokeOptions = {}): Promise<string> {
    const trace = await callerTrace(invoke);
    const event = withClientKey(toJobEvent(type, payload, options));
    if (invoke.invocationType === 'Event') return (await this.send({ jobs: [event] }, 'Event', trace))[0]!;
    const res = await this.invoke(withTrace(event, trace), 'RequestResponse');
    if (typeof res.id !== 'string') throw new JobTableError('The enqueue function returned no id', 'BAD_RESPONSE', { response: res });
    return res.id;
  }

  /**
   * Enqueues many jobs in one invoke (all validated first); resolves to their ids in input order.
   * Mind Lambda's payload limits (6 MB synchronous, 1 MB asynchronous) for large batches.
   * @throws ValidationError naming `jobs[i].<field>`; nothing is written
   */
  async enqueueMany<K extends keyof M & string>(jobs: readonly EnqueueRequest<K, M[K]>[], invoke: InvokeOptions = {}): Promise<string[]> {
    if (!Array.isArray(jobs)) throw new ValidationError('jobs', 'an array of { type, payload, options? }');
    const events = jobs.map((j) => toJobEvent(j.type, j.payload, j.options));
    return this.send({ jobs: events }, invoke.invocationType ?? 'RequestResponse', await callerTrace(invoke));
  }

  /** Sends a batch, with the caller's trace context (the parent of the function's batch span) if any. */
  private async send(event: { jobs: EnqueueJobEvent[] }, type: 'RequestResponse' | 'Event', trace: TraceContext | null): Promise<string[]> {
    const batch = { jobs: event.jobs.map(withClientKey), ...(trace ? { trace } : {}) };
    const keyed = batch.jobs;
    if (type === 'Event') {
      checkIdsKnowable(batch.jobs);
      await this.invoke(batch, 'Event');
      return keyed.map((j) => idempotentJobId(j.queue ?? 'default', j.idempotencyKey!));
    }
    const res = await this.invoke(batch, 'RequestResponse');
    if (!Array.isArray(res.ids)) throw new JobTableError('The enqueue function returned no ids', 'BAD_RESPONSE', { response: res });
    return res.ids as string[];
  }

  private async invoke(event: EnqueueEvent, type: 'RequestResponse' | 'Event'): Promise<Record<string, unknown>> {
    const out = await this.client.send(
      new InvokeCommand({ FunctionName: this.functionName, InvocationType: type, Payload: encoder.encode(JSON.stringify(event)) }),
    );
    if (type === 'Event') return {};
    const text = out.Payload ? decoder.decode(out.Payload) : '';
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      throw new JobTableError(`The enqueue function returned a response that is not JSON: ${text.slice(0, 200)}`, 'BAD_RESPONSE');
    }
    const obj = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    if (out.FunctionError) {
      // A thrown error: Lambda's response is { errorType, errorMessage, trace }.
      throw errorFromJSON({ name: obj.errorType ?? 'Error', message: obj.errorMessage ?? `Function error: ${out.FunctionError}`, code: 'FUNCTION_ERROR' });
    }
    if (typeof obj.error === 'object' && obj.error !== null) throw errorFromJSON(obj.error as Record<string, unknown>);
    return obj;
  }
}
