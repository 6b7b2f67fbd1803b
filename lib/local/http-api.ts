/**
 * The JSON HTTP API of the local stack, as a `node:http` request listener over a `JobQueue`:
 *
 * | route | answer |
 * | --- | --- |
 * | `POST /jobs` | 201 `{ id }` |
 * | `GET /jobs/:id` | the job, or 404 |
 * | `GET /jobs?status=&queue=&limit=&cursor=` | `{ jobs, cursor? }` (status defaults to pending, queue to default) |
 * | `POST /jobs/:id/cancel`, `POST /jobs/:id/retry` | 200 with the outcome and job, 404, or 409 if the job is in the wrong state |
 * | `GET /stats?queue=` | counts by status and the oldest due job |
 * | `GET /meta` | job types, queues served and the table |
 * | `GET /` | the dashboard |
 *
 * Bad input gets 400 with `ValidationError.toJSON()` (it names the field), bodies over the limit
 * 413, unknown routes 404 and wrong methods 405; nothing is written for any of them.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { JobTableError, PayloadTooLargeError, ValidationError } from '../errors.ts';
import type { JobQueue } from '../queue.ts';
import type { Job } from '../types.ts';
import { dashboardAssets } from './dashboard-assets.ts';
import { parseEnqueueRequest } from './enqueue-request.ts';
import { DEFAULT_BODY_LIMIT_BYTES, HttpError, readJsonBody, sendJson } from './http-io.ts';

/** Options of {@link createApiListener}. */
export interface ApiOptions {
  /** The queue the API reads and writes. */
  readonly queue: JobQueue;
  /** Job types the workers can run (offered by the dashboard's enqueue form). */
  readonly jobTypes: readonly string[];
  /** Queues drained by the stack's workers. @default ["default"] */
  readonly queues?: readonly string[];
  /** Largest request body. @default DEFAULT_BODY_LIMIT_BYTES (512 KiB) */
  readonly bodyLimitBytes?: number;
  /** Told about unexpected (500) errors. */
  readonly onError?: (error: unknown) => void;
}

const LIST_PARAMS = new Set(['status', 'queue', 'limit', 'cursor']);
const STATS_PARAMS = new Set(['queue']);

type Params = Record<string, string>;
type Handler = (req: IncomingMessage, res: ServerResponse, params: Params, url: URL) => Promise<void>;
interface Route {
  readonly pattern: RegExp;
  readonly methods: Readonly<Record<string, Handler>>;
}

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
  const rule = action === 'cancel' ? 'only pending jobs can be cancelled' : 'only failed or cancelled jobs can be retried';
  const conflict = new JobTableError(`Job ${id} is ${job.status}: ${rule}`, 'CONFLICT', { id, status: job.status });
  throw new HttpError(409, { ...conflict.toJSON(), [key]: false });
}

/**
 * Makes the request listener of the local HTTP API and dashboard.
 *
 * @example
 * const server = createServer(createApiListener({ queue, jobTypes: Object.keys(handlers) }));
 * server.listen(3000, '127.0.0.1');
 */
export function createApiListener(options: ApiOptions): RequestListener {
  const { queue } = options;
  const limit = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  const assets = dashboardAssets();

  const routes: Route[] = [
    {
      pattern: /^\/jobs$/,
      methods: {
        POST: async (req, res) => {
          const { type, payload, options: opts } = parseEnqueueRequest(await readJsonBody(req, limit));
          const id = await queue.enqueue(type as string, payload, opts);
          sendJson(res, 201, { id }, { location: `/jobs/${id}` });
        },
        GET: async (_req, res, _p, url) => {
          checkParams(url, LIST_PARAMS);
          const q = url.searchParams;
          const rawLimit = q.get('limit');
          const page = await queue.listJobs({
            status: (q.get('status') ?? 'pending') as Job['status'],
            ...(q.has('queue') ? { queue: q.get('queue')! } : {}),
            ...(rawLimit !== null ? { limit: /^\d+$/.test(rawLimit) ? Number(rawLimit) : (rawLimit as unknown as number) } : {}),
            ...(q.get('cursor') ? { cursor: q.get('cursor')! } : {}),
          });
          sendJson(res, 200, page);
        },
      },
    },
    {
      pattern: /^\/jobs\/([^/]+)$/,
      methods: {
        GET: async (_req, res, p) => {
          const job = await queue.getJob(p.id!);
          if (!job) throw notFound(`No job ${p.id}`, { id: p.id });
          sendJson(res, 200, job);
        },
      },
    },
    { pattern: /^\/jobs\/([^/]+)\/cancel$/, methods: { POST: async (_req, res, p) => jobAction(queue, res, p.id!, 'cancel') } },
    { pattern: /^\/jobs\/([^/]+)\/retry$/, methods: { POST: async (_req, res, p) => jobAction(queue, res, p.id!, 'retry') } },
    {
      pattern: /^\/stats$/,
      methods: {
        GET: async (_req, res, _p, url) => {
          checkParams(url, STATS_PARAMS);
          const q = url.searchParams.get('queue');
          sendJson(res, 200, await queue.stats(q !== null ? { queue: q } : {}));
        },
      },
    },
    {
      pattern: /^\/meta$/,
      methods: {
        GET: async (_req, res) => sendJson(res, 200, { tableName: queue.tableName, jobTypes: options.jobTypes, queues: options.queues ?? ['default'] }),
      },
    },
    ...assets.map(
      (asset): Route => ({
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

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const handle = async () => {
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
      options.onError?.(err);
      const message = err instanceof Error ? err.message : String(err);
      sendJson(res, 500, { name: 'InternalError', code: 'INTERNAL', message });
    });
  };
}
