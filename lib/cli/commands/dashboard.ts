/**
 * `jobtable dashboard`: the dashboard and HTTP API against any jobs table (a deployed stage's,
 * through the standard AWS credential chain, or the local stack's), on 127.0.0.1 only, with
 * `--read-only` refusing every write. See docs/operators.md for the IAM actions each mode needs.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { unavailableActivity } from '../../local/activity.ts';
import type { ActivitySource } from '../../local/activity.ts';
import { createApiListener } from '../../local/http-api.ts';
import { guardReadOnly } from '../../local/read-only.ts';
import { StreamActivity, tableStreamArn } from '../../local/stream-activity.ts';
import type { Command } from '../command.ts';
import { durationOption, out, strOption } from '../command.ts';
import type { Connection } from '../connect.ts';
import { CliError, EXIT } from '../exit.ts';

/** The address the dashboard binds to: it acts with the operator's credentials, so only this machine may reach it. */
export const DASHBOARD_HOST = '127.0.0.1';

/** The default port (the local stack's is 3000). */
export const DASHBOARD_PORT = 3100;

/** A streams client beside the connection's DynamoDB client: the same region, credentials and endpoint. */
async function streamsClientFor(conn: Connection): Promise<DynamoDBStreamsClient> {
  const config = conn.queue.store.client.config;
  const endpoint = config.endpoint ? await config.endpoint() : undefined;
  return new DynamoDBStreamsClient({
    region: await config.region(),
    credentials: config.credentials,
    ...(endpoint ? { endpoint: `${endpoint.protocol}//${endpoint.hostname}${endpoint.port ? `:${endpoint.port}` : ''}${endpoint.path}` } : {}),
  });
}

/** The activity source: the table's stream if it has one, else a note saying why there is none. */
async function activityFor(conn: Connection, useStream: boolean): Promise<{ source: ActivitySource; stop: () => Promise<void> }> {
  const none = (note: string) => ({ source: unavailableActivity(note), stop: async () => {} });
  // DescribeTable also proves that the table exists and the credentials work, before serving. A
  // role with only the reads of grantReadJobs may not describe the table: then there is no chart.
  let arn: string | null;
  try {
    arn = await tableStreamArn(conn.queue.store.client, conn.queue.tableName);
  } catch (err) {
    if (!(err instanceof Error && err.name === 'AccessDeniedException')) throw err;
    return none('Not allowed to describe the table (dynamodb:DescribeTable), so its stream is not read: see docs/operators.md.');
  }
  if (!useStream) return none('Turned off with --no-stream.');
  if (!arn) return none('The table has no stream: the chart needs one (NEW_IMAGE), as the CDK construct creates.');
  const streams = await streamsClientFor(conn);
  const tail = new StreamActivity({ streams, streamArn: arn });
  await tail.start();
  return {
    source: tail,
    stop: async () => {
      await tail.stop();
      streams.destroy();
    },
  };
}

/** `jobtable dashboard` */
export const dashboardCommand: Command = {
  name: 'dashboard',
  usage: 'dashboard [--table <name> --region <region>] [--endpoint <url>] [--read-only] [--port <n>] [--queue <name>...]',
  summary: 'serve the dashboard and HTTP API on 127.0.0.1 against any jobs table',
  options: {
    port: { type: 'string' },
    'read-only': { type: 'boolean' },
    queue: { type: 'string', short: 'q', multiple: true },
    refresh: { type: 'string' },
    'no-stream': { type: 'boolean' },
  },
  help: [
    `--port <n>            HTTP port on ${DASHBOARD_HOST} (default ${DASHBOARD_PORT}; 0 picks a free one)`,
    '--read-only           refuse every write (enqueue, cancel, retry, bulk): 403',
    '--queue, -q <name>    a queue to show even before it has jobs (repeatable)',
    '--refresh <duration>  how often the page refreshes (default 5s)',
    '--no-stream           do not read the table stream (no activity chart)',
    'Without --table it opens the running local stack\'s table.',
  ],
  async run(ctx) {
    const v = ctx.values;
    const portText = strOption(v, 'port');
    const port = portText === undefined ? DASHBOARD_PORT : Number(portText);
    if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new CliError(`--port must be an integer from 0 to 65535, got "${portText}"`, EXIT.usage);
    const refreshMs = durationOption(v, 'refresh') ?? 5_000;
    if (refreshMs < 500) throw new CliError('--refresh must be at least 500ms', EXIT.usage);
    const readOnly = v['read-only'] === true;
    const conn = ctx.connect();
    if (readOnly) guardReadOnly(conn.queue.store.client);
    const activity = await activityFor(conn, v['no-stream'] !== true);
    const server = createServer(
      createApiListener({
        queue: conn.queue,
        jobTypes: [],
        queues: Array.isArray(v.queue) ? (v.queue as string[]) : ['default'],
        readOnly,
        activity: activity.source,
        refreshMs,
        onError: (err) => ctx.io.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`),
      }),
    );
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, DASHBOARD_HOST, () => resolve());
      });
      const url = `http://${DASHBOARD_HOST}:${(server.address() as AddressInfo).port}`;
      if (ctx.json) out(ctx.io, JSON.stringify({ url, tableName: conn.queue.tableName, readOnly }));
      else out(ctx.io, `Dashboard for ${conn.where}${readOnly ? ' (read-only)' : ''}: ${url}/   (Ctrl-C stops)`);
      await new Promise<void>((resolve) => (ctx.signal.aborted ? resolve() : ctx.signal.addEventListener('abort', () => resolve(), { once: true })));
    } finally {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await activity.stop();
    }
    return EXIT.ok;
  },
};
