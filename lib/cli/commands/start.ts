/** `jobtable start` (`npm start`): the whole queue on this machine. */
import { defaultLocalExtras } from '../../local/services.ts';
import { startLocalStack } from '../../local/stack.ts';
import { ENV, parseLimitsEnv } from '../../env.ts';
import type { Command } from '../command.ts';
import { durationOption, intOption, out, strOption } from '../command.ts';
import { CliError, EXIT } from '../exit.ts';
import { loadHandlers } from '../load-handlers.ts';
import { describeEvent, eventJson, requireHandlersOption } from './work.ts';

/** `jobtable start` */
export const startCommand: Command = {
  name: 'start',
  usage: 'start --handlers <module> [--port <n>] [--host <addr>] [--data-dir <dir>] [--in-memory] [--queue <name>...] [--concurrency <n>] [--quiet]',
  summary: 'run DynamoDB Local, the workers, the HTTP API and the dashboard (npm start)',
  options: {
    handlers: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    'in-memory': { type: 'boolean' },
    queue: { type: 'string', short: 'q', multiple: true },
    concurrency: { type: 'string', short: 'c' },
    'poll-interval': { type: 'string' },
    quiet: { type: 'boolean' },
  },
  help: [
    '--handlers <module>   your handlers module (named export `handlers`; .js, .mjs, .ts)',
    '--port <n>            HTTP port (default $PORT or 3000; 0 picks a free one)',
    '--host <addr>         bind address (default 127.0.0.1)',
    '--data-dir <dir>      database and state file (default ./.data)',
    '--in-memory           throwaway database, lost on exit',
    '--queue, -q <name>    a queue to work (repeatable; default "default")',
    '--concurrency, -c <n> jobs at once per queue (default 4)',
    '--poll-interval <d>   longest idle sleep of the workers (default 1s)',
    '--quiet               do not log job events',
  ],
  async run(ctx) {
    const v = ctx.values;
    const portText = strOption(v, 'port') ?? process.env.PORT;
    const port = portText === undefined ? 3000 : Number(portText);
    if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new CliError(`port must be an integer from 0 to 65535, got "${portText}"`, EXIT.usage);
    if (process.env[ENV.tableName]) ctx.io.stderr.write(`Note: ${ENV.tableName} is set but the local stack always uses its own table.\n`);
    const concurrency = intOption(v, 'concurrency', 1, 1_000);
    const pollIntervalMs = durationOption(v, 'poll-interval');
    const dataDir = strOption(v, 'data-dir');
    const log = (line: string) => out(ctx.io, line);
    const handlers = await loadHandlers(requireHandlersOption(v));
    const stack = await startLocalStack({
      handlers,
      port,
      ...(strOption(v, 'host') ? { host: strOption(v, 'host')! } : {}),
      ...(dataDir ? { dataDir } : {}),
      inMemory: v['in-memory'] === true,
      ...(Array.isArray(v.queue) ? { queues: v.queue as string[] } : {}),
      ...(concurrency !== undefined ? { concurrency } : {}),
      ...(process.env[ENV.limits] ? { limits: parseLimitsEnv(process.env[ENV.limits]!) } : {}),
      ...(pollIntervalMs !== undefined ? { pollIntervalMs } : {}),
      ...defaultLocalExtras(),
      ...(v.quiet ? {} : { onEvent: (e, q) => log(ctx.json ? eventJson(e, q) : `[${q}] ${describeEvent(e)}`) }),
      onError: (err) => ctx.io.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`),
    });
    if (ctx.json) log(JSON.stringify({ url: stack.url, dynamoEndpoint: stack.dynamoEndpoint, tableName: stack.tableName }));
    else {
      log(`jobtable is running (${v['in-memory'] ? 'in memory' : `data in ${dataDir ?? '.data'}`})`);
      log(`  dashboard  ${stack.url}/`);
      log(`  HTTP API   ${stack.url}/jobs   ${stack.url}/stats`);
      log(`  DynamoDB   ${stack.dynamoEndpoint}  table ${stack.tableName}`);
      log(`  CLI        npx jobtable stats   (Ctrl-C stops)`);
    }
    await new Promise<void>((resolve) => (ctx.signal.aborted ? resolve() : ctx.signal.addEventListener('abort', () => resolve(), { once: true })));
    if (!ctx.json) log('Stopping: workers finish or release their jobs...');
    await stack.stop();
    if (!ctx.json) log('Stopped.');
    return EXIT.ok;
  },
};
