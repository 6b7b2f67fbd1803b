/**
 * The JSON HTTP API of the local stack and of `jobtable dashboard`, as a `node:http` request
 * listener over a `JobQueue`:
 *
 * | route | answer |
 * | --- | --- |
 * | `POST /jobs` | 201 `{ id }` (with `dependsOn: [ids]` the job waits for them); a W3C `traceparent` (and `tracestate`) header is recorded as the job's trace context |
 * | `POST /jobs/parent` | fan-in: `{ type, payload, children: [{ type, payload, ... }], onChildFailure?, ... }`, 201 `{ id, childIds }` |
 * | `GET /jobs/:id` | the job, or 404 |
 * | `GET /jobs?status=&queue=&type=&group=&limit=&cursor=` | `{ jobs, cursor? }` (status defaults to pending, queue to default) |
 * | `POST /jobs/:id/cancel`, `POST /jobs/:id/retry` | 200 with the outcome and job, 404, or 409 if the job is in the wrong state |
 * | `POST /jobs/bulk` | `{ action, ids }` or `{ action, queue, type?, group? }`, `dryRun?`: retry failed / cancel pending jobs; a retry by filter also takes `status` (failed or cancelled), `errorContains`, `finishedAfter`/`Before`, `createdAfter`/`Before` and `cursor`, and is one step of a bulk redrive (up to 1,000 jobs examined; post `cursor` back until `complete`) |
 * | `GET /fifo?queue=&group=` | a FIFO group: `{ queue, group, last, head, headJobId, behind }` (head null: idle) |
 * | `GET /find?q=&queue=` | `{ matches }`: the job with that id, and the one with that idempotency key |
 * | `GET /queues` | every known queue with bounded counts (`?discover=1` rescans the index for queues) |
 * | `GET /limits?queue=` | the queue's flow-control limits: running / limit per group, due jobs waiting on a limit |
 * | `GET /activity?queue=` | outcomes per minute and by type over the last hour |
 * | `GET /stats?queue=` | exact counts by status (scans the table for completed jobs) and the oldest due job |
 * | `GET /meta` | table, job types, queues, read-only flag, refresh interval |
 * | `GET /` | the dashboard |
 *
 * Bad input gets 400 with `ValidationError.toJSON()` (it names the field), bodies over the limit
 * 413, unknown routes 404 and wrong methods 405; nothing is written for any of them. A read-only
 * listener answers every method but GET and HEAD with 403 `READ_ONLY`, before any route runs.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { JobTableError, PayloadTooLargeError, ReadOnlyError, ValidationError } from '../errors.ts';
import type { JobQueue } from '../queue.ts';
import type { EnqueueParentOptions, Job } from '../types.ts';
import { unavailableActivity } from './activity.ts';
import type { ActivitySource } from './activity.ts';
import { dashboardAssets } from './dashboard-assets.ts';
import { parseEnqueueRequest, parseParentRequest } from './enqueue-request.ts';
import { DEFAULT_BODY_LIMIT_BYTES, HttpError, readJsonBody, sendJson } from './http-io.ts';
import { findJobs, listFiltered, parseBulkRequest, QueueDirectory, queueOverview, runBulk } from './operator-api.ts';
import { traceFromHeaders } from './trace-headers.ts';
import { limitOverview } from './limit-overview.ts';
import { LIMITS, validateName } from '../model/validate.ts';

/** Options of {@link createApiListener}. */
export interface ApiOptions {
  /** The queue the API reads and writes. */
  readonly queue: JobQueue;
  /** Job types the workers can run (offered by the dashboard's enqueue form). */
  readonly jobTypes: readonly string[];
  /** Queues drained by the stack's workers, or named by the operator; more are discovered. @default ["default"] */
  readonly queues?: readonly string[];
  /** Refuse every write (403 `READ_ONLY`): only GET and HEAD are served. @default false */
  readonly readOnly?: boolean;
  /** Where `GET /activity` gets the last hour's outcomes. @default none (the dashboard says so) */
  readonly activity?: ActivitySource;
  /** How often the dashboard refreshes, in ms (told to it by `GET /meta`). @default 2000 */
  readonly refreshMs?: number;
  /** Largest request body. @default DEFAULT_BODY_LIMIT_BYTES (512 KiB) */
  readonly bodyLimitBytes?: number;
  /** Told about unexpected (500) errors. */
  readonly onError?: (error: unknown) => void;
}

const LIMITS_PARAMS = new Set(['queue']);
const LIST_PARAMS = new Set(['status', 'queue', 'type', 'group', 'limit', 'cursor']);
const QUEUE_PARAM = new Set(['queue']);
const FIND_PARAMS = new Set(['q', 'queue']);
const QUEUES_PARAMS = new Set(['discover']);
const FIFO_PARAMS = new Set(['queue', 'group']);

type Params = Record<string, string>;
type Handler = (req: IncomingMessage, res: ServerResponse, params: Params, url: URL) => Promise<void>;

/** A route: a path template (`/jobs/:id/cancel`) and a handler per method. */
export interface Route {
  readonly path: string;
  readonly pattern: RegExp;
  readonly methods: Readonly<Record<string, Handler>>;
}

/** Matches a path template; `:id` captures one path segment. */
function route(path: string, methods: Record<string, Handler>): Route {
  const pattern = new RegExp(`^${path.replace(/[.]/g, '\\.').replace(':id', '([^/]+)')}$`);
  return { path, pattern, methods };
}

/** Methods that read; a read-only listener serves only these. */
const READ_METHODS = new Set(['GET', 'HEAD']);

const notFound = (message: string, context: Record<string, unknown> = {}) => HttpError.of(404, new JobTableError(message, 'NOT_FOUND', context));

/** The validator names enqueue options `options.<name>`; over HTTP they are top-level fields. */
function asRequestField(err: ValidationError): ValidationError {
  if (!err.field.startsWith('options.')) return err;
  const field = err.field.slice('options.'.length);
  const renamed = new ValidationError(field, err.limit);
  renamed.message = err.message.replace(`Invalid ${err.field}`, `Invalid ${field}`);
  return renamed;
}

function decodePathPart(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw HttpError.of(400, new ValidationError('id', 'a job id', 'is not valid percent-encoding'));
  }
}

/** Rejects query parameters the route does not know, so that a typo is not silently ignored. */
function checkParams(url: URL, allowed: ReadonlySet<string>): void {
  for (const key of url.searchParams.keys()) {
    if (!allowed.has(key)) throw HttpError.of(400, new ValidationError(key, `one of the query parameters ${[...allowed].join(', ')}`, `unknown query parameter "${key.slice(0, 60)}"`));
  }
}

/** Answers an action on a job (`cancel` or `retry`): 200 if it happened, else 404 or 409. */
async function jobAction(queue: JobQueue, res: ServerResponse, id: string, action: 'cancel' | 'retry'): Promise<void> {
  const done = action === 'cancel' ? await queue.cancelJob(id) : await queue.retryJob(id);
  const job = await queue.getJob(id);
  const key = action === 'cancel' ? 'cancelled' : 'retried';
  if (done) return sendJson(res, 200, { id, [key]: true, job });
  if (!job) throw notFound(`No job ${id}`, { id });
  const rule = action === 'cancel' ? 'only pending or waiting jobs can be cancelled' : 'only failed or cancelled jobs can be retried';
  const conflict = new JobTableError(`Job ${id} is ${job.status}: ${rule}`, 'CONFLICT', { id, status: job.status });
  throw new HttpError(409, { ...conflict.toJSON(), [key]: false });
}

/** The routes of the API over `options.queue` (exported so that tests can go through every one). */
export function apiRoutes(options: ApiOptions): Route[] {
  const { queue } = options;
  const limit = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  const directory = new QueueDirectory(queue, options.queues ?? ['default']);
  const activity = options.activity ?? unavailableActivity('Nothing observes this table: see docs/operators.md, "Activity".');
  const queueParam = (url: URL) => (url.searchParams.has('queue') ? url.searchParams.get('queue')! : 'default');

  return [
    route('/jobs', {
      POST: async (req, res) => {
        const { type, payload, options: opts } = parseEnqueueRequest(await readJsonBody(req, limit));
        const trace = await traceFromHeaders(req.headers);
        const id = await queue.enqueue(type as string, payload, trace ? { ...opts, trace } : opts);
        directory.add(opts.queue ?? 'default');
        sendJson(res, 201, { id }, { location: `/jobs/${id}` });
      },
      GET: async (_req, res, _p, url) => {
        checkParams(url, LIST_PARAMS);
        const q = url.searchParams;
        const rawLimit = q.get('limit') ?? '50';
        const page = await listFiltered(queue, {
          status: (q.get('status') ?? 'pending') as Job['status'],
          queue: queueParam(url),
          limit: /^\d+$/.test(rawLimit) ? Number(rawLimit) : (rawLimit as unknown as number),
          ...(q.get('cursor') ? { cursor: q.get('cursor')! } : {}),
          ...(q.has('type') ? { type: q.get('type')! } : {}),
          ...(q.has('group') ? { group: q.get('group')! } : {}),
        });
        const { rounds: _rounds, ...body } = page;
        sendJson(res, 200, body);
      },
    }),
    route('/jobs/parent', {
      POST: async (req, res) => {
        const body = parseParentRequest(await readJsonBody(req, limit));
        const trace = await traceFromHeaders(req.headers);
        const children = body.children.map((c) => ({ type: c.type as string, payload: c.payload, options: c.options }));
        const out = await queue.enqueueParent(body.type as string, body.payload, children, { ...body.options, ...(trace ? { trace } : {}), onChildFailure: body.onChildFailure } as EnqueueParentOptions);
        directory.add(body.options.queue ?? 'default');
        sendJson(res, 201, out, { location: `/jobs/${out.id}` });
      },
    }),
    route('/jobs/bulk', {
      POST: async (req, res) => sendJson(res, 200, await runBulk(queue, parseBulkRequest(await readJsonBody(req, limit)))),
    }),
    route('/jobs/:id', {
      GET: async (_req, res, p) => {
        const job = await queue.getJob(p.id!);
        if (!job) throw notFound(`No job ${p.id}`, { id: p.id });
        sendJson(res, 200, job);
      },
    }),
    route('/jobs/:id/cancel', { POST: async (_req, res, p) => jobAction(queue, res, p.id!, 'cancel') }),
    route('/jobs/:id/retry', { POST: async (_req, res, p) => jobAction(queue, res, p.id!, 'retry') }),
    route('/fifo', {
      GET: async (_req, res, _p, url) => {
        checkParams(url, FIFO_PARAMS);
        sendJson(res, 200, await queue.fifoGroup({ queue: queueParam(url), group: url.searchParams.get('group') as string }));
      },
    }),
    route('/find', {
      GET: async (_req, res, _p, url) => {
        checkParams(url, FIND_PARAMS);
        sendJson(res, 200, { matches: await findJobs(queue, url.searchParams.get('q') ?? '', queueParam(url)) });
      },
    }),
    route('/queues', {
      GET: async (_req, res, _p, url) => {
        checkParams(url, QUEUES_PARAMS);
        for (const q of activityQueues(activity)) directory.add(q);
        sendJson(res, 200, await queueOverview(queue, directory, url.searchParams.get('discover') === '1'));
      },
    }),
    route('/activity', {
      GET: async (_req, res, _p, url) => {
        checkParams(url, QUEUE_PARAM);
        sendJson(res, 200, activity.snapshot(url.searchParams.get('queue') ?? undefined));
      },
    }),
    route('/stats', {
      GET: async (_req, res, _p, url) => {
        checkParams(url, QUEUE_PARAM);
        const q = url.searchParams.get('queue');
        sendJson(res, 200, await queue.stats(q !== null ? { queue: q } : {}));
      },
    }),
    route('/limits', {
      GET: async (_req, res, _p, url) => {
        checkParams(url, LIMITS_PARAMS);
        const name = validateName(queueParam(url), 'queue', LIMITS.queueMaxLength);
        sendJson(res, 200, await limitOverview(queue.store, name, queue.store.limits?.[name] ?? null));
      },
    }),
    route('/meta', {
      GET: async (_req, res) =>
        sendJson(res, 200, {
          tableName: queue.tableName,
          jobTypes: options.jobTypes,
          queues: (await directory.list()).queues,
          readOnly: options.readOnly === true,
          refreshMs: options.refreshMs ?? 2_000,
        }),
    }),
    ...dashboardAssets().map(
      (asset): Route => ({
        path: asset.path,
        pattern: asset.pattern,
        methods: {
          GET: async (_req, res) => {
            res.writeHead(200, { 'content-type': asset.contentType, 'content-length': String(asset.body.length), ...asset.headers });
            res.end(asset.body);
          },
        },
      }),
    ),
  ];
}

/** Queues named in the activity of the last hour. */
function activityQueues(activity: ActivitySource): string[] {
  return activity.queues?.() ?? [];
}

/**
 * Makes the request listener of the HTTP API and dashboard.
 *
 * @example
 * const server = createServer(createApiListener({ queue, jobTypes: Object.keys(handlers) }));
 * server.listen(3000, '127.0.0.1');
 */
export function createApiListener(options: ApiOptions): RequestListener {
  const routes = apiRoutes(options);

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const handle = async () => {
      if (options.readOnly && !READ_METHODS.has(req.method ?? 'GET')) {
        req.resume();
        throw HttpError.of(403, new ReadOnlyError(`${req.method} ${url.pathname}`), { allow: 'GET, HEAD' });
      }
      for (const route of routes) {
        const m = route.pattern.exec(url.pathname);
        if (!m) continue;
        const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
        const handler = route.methods[method];
        if (!handler) {
          const allow = Object.keys(route.methods).join(', ');
          throw HttpError.of(405, new JobTableError(`${req.method} is not allowed on ${url.pathname} (allowed: ${allow})`, 'METHOD_NOT_ALLOWED', { allow }), { allow });
        }
        const params: Params = m[1] !== undefined ? { id: decodePathPart(m[1]) } : {};
        return handler(req, res, params, url);
      }
      throw notFound(`No route ${req.method} ${url.pathname}`, { path: url.pathname });
    };
    handle().catch((err: unknown) => {
      if (err instanceof HttpError) return sendJson(res, err.status, err.body, err.headers);
      if (err instanceof PayloadTooLargeError) return sendJson(res, 413, asRequestField(err).toJSON());
      if (err instanceof ValidationError) return sendJson(res, 400, asRequestField(err).toJSON());
      if (err instanceof ReadOnlyError) return sendJson(res, 403, err.toJSON());
      options.onError?.(err);
      const message = err instanceof Error ? err.message : String(err);
      sendJson(res, 500, { name: 'InternalError', code: 'INTERNAL', message });
    });
  };
}
