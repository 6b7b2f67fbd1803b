/**
 * jobtable as a user gets it: `npm pack`, the tarball installed into a fresh project outside this
 * repository (with aws-cdk-lib, constructs, esbuild, TypeScript, tsx and @types/node from the
 * registry), then what a user does with it: plain `node` imports every subpath and runs jobs on
 * DynamoDB Local; a strict TypeScript consumer type-checks (and a wrong payload does not);
 * `npx jobtable` works; a CDK app in plain JavaScript synthesizes two `JobTable`s, and the
 * synthesized worker bundle, run as Lambda runs it, executes the user's own handler.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue } from '../../lib/queue.ts';
import { ddbEndpoint, dropTable, freshTable, testClient } from '../helpers/ddb.ts';

const REPO = resolve(import.meta.dirname, '../..');

interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command; resolves with its exit code and output (never rejects on a non-zero exit). */
function run(cmd: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}, timeoutMs = 300_000): Promise<RunResult> {
  return new Promise((done) => {
    execFile(cmd, [...args], { cwd, env: { ...process.env, NODE_NO_WARNINGS: '1', ...env }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

/** The version of a package this repository has installed, so the consumer's install hits the npm cache. */
const installed = (name: string) => (JSON.parse(readFileSync(join(REPO, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

/** DynamoDB Local credentials and endpoint, as a Lambda's environment would carry real ones. */
const lambdaEnv = (tableName: string): NodeJS.ProcessEnv => ({
  AWS_REGION: 'local',
  AWS_ACCESS_KEY_ID: 'local',
  AWS_SECRET_ACCESS_KEY: 'local',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  JOBTABLE_TABLE_NAME: tableName,
  JOBTABLE_DYNAMODB_ENDPOINT: ddbEndpoint(),
});

const USER_HANDLERS = `// The user's own handlers module.
export const handlers = {
  greet: async (payload) => ({ hello: payload.name, by: 'the user handler' }),
};
`;

const PLAIN_NODE_SCRIPT = `import { JobQueue, createJobsTable, PermanentJobError, Worker } from 'jobtable';
import * as lambda from 'jobtable/lambda';
import * as cdk from 'jobtable/cdk';
import * as local from 'jobtable/local';
import { handlers } from './jobs.mjs';

const client = local.localClient(process.env.DDB_ENDPOINT);
await createJobsTable(client, process.env.TABLE);
const queue = new JobQueue({ tableName: process.env.TABLE, client });
const ids = [await queue.enqueue('greet', { name: 'ada' }), await queue.enqueue('greet', { name: 'grace' })];
const report = await queue.processJobs(handlers);
const jobs = await Promise.all(ids.map((id) => queue.getJob(id)));
client.destroy();
console.log(JSON.stringify({
  exports: {
    root: [typeof JobQueue, typeof PermanentJobError, typeof Worker],
    lambda: [typeof lambda.createWorkerHandler, typeof lambda.createEnqueueHandler, typeof lambda.createStreamHandler, typeof lambda.createScheduleTargetHandler],
    cdk: [typeof cdk.JobTable, typeof cdk.JobScheduling],
    local: [typeof local.startLocalStack, typeof local.localScheduling, typeof local.startDynamoDbLocal],
  },
  completed: report.completed,
  results: jobs.map((j) => [j.status, j.result]),
}));
`;

const TYPED_CONSUMER = `import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { JobQueue, type Handlers } from 'jobtable';
import { createWorkerHandler } from 'jobtable/lambda';
import { JobTable, type JobTableProps } from 'jobtable/cdk';
import { startLocalStack } from 'jobtable/local';

type Jobs = { send_email: { to: string; subject: string } };
export const handlers: Handlers<Jobs> = { send_email: async (p) => ({ sent: p.to.length }) };
const queue = new JobQueue<Jobs>({ tableName: 'jobs', client: new DynamoDBClient({}) });
export const enqueue = () => queue.enqueue('send_email', { to: 'a@example.com', subject: 'Hi' });
export const handler = createWorkerHandler(handlers);
export const props: JobTableProps = { handlersEntry: 'jobs.ts', queues: ['default', 'mail'] };
export const kinds = [JobTable, startLocalStack];
`;

const WRONG_PAYLOAD = `import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { JobQueue } from 'jobtable';

type Jobs = { send_email: { to: string; subject: string } };
const queue = new JobQueue<Jobs>({ tableName: 'jobs', client: new DynamoDBClient({}) });
export const enqueue = () => queue.enqueue('send_email', { to: 42, subject: 'Hi' });
`;

const STRICT_TSCONFIG = (file: string) =>
  JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, skipLibCheck: false, noEmit: true, types: ['node'] },
    files: [file],
  });

const CDK_APP = `import { App, Stack } from 'aws-cdk-lib';
import { JobTable } from 'jobtable/cdk';

const app = new App({ outdir: 'cdk.out' });
const stack = new Stack(app, 'Consumer');
new JobTable(stack, 'Jobs', { handlersEntry: 'jobs.mjs' });
new JobTable(stack, 'MoreJobs', { handlersEntry: 'jobs.mjs', queues: ['mail', 'reports'] });
app.synth();
`;

/** Loads a synthesized bundle and calls its handler once, as the Lambda runtime would. */
const RUN_BUNDLE = `const [file, event] = process.argv.slice(2);
const { handler } = await import(file);
const deadline = Date.now() + 900_000; // a 15-minute Lambda, as the construct deploys it
const result = await handler(JSON.parse(event), { awsRequestId: 'consumer-test', getRemainingTimeInMillis: () => deadline - Date.now() });
console.log(JSON.stringify(result));
`;

describe('the packed package in a fresh project', () => {
  let packDir: string;
  let project: string;
  let packInfo: { filename: string; size: number; unpackedSize: number; entryCount: number; files: { path: string }[] };
  const client = testClient();
  const tables: string[] = [];

  beforeAll(async () => {
    packDir = mkdtempSync(join(tmpdir(), 'jobtable-pack-'));
    // --ignore-scripts: `npm test` built dist/ already (pretest). npm pack's own prepack and prepare
    // builds would delete dist/ for several seconds while other test files run the built CLI
    // (npm start, the CLI and dashboard e2e tests, the no-OpenTelemetry child process).
    const pack = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', packDir], REPO);
    expect(pack.code, pack.stderr).toBe(0);
    packInfo = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('[')))[0];
    project = mkdtempSync(join(tmpdir(), 'jobtable-consumer-'));
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    const deps = ['aws-cdk-lib', 'constructs', 'esbuild', '@types/node', 'typescript', 'tsx'].map((p) => `${p}@${installed(p)}`);
    const install = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', join(packDir, packInfo.filename), ...deps], project, {}, 540_000);
    expect(install.code, install.stderr).toBe(0);
    writeFileSync(join(project, 'jobs.mjs'), USER_HANDLERS);
  }, 600_000);

  afterAll(async () => {
    for (const t of tables) await dropTable(client, t);
    client.destroy();
    rmSync(project, { recursive: true, force: true });
    rmSync(packDir, { recursive: true, force: true });
  });

  it('ships only dist/, README and LICENSE: no sources, tests, bench, results or screenshots', () => {
    const paths = packInfo.files.map((f) => f.path);
    const outside = paths.filter((p) => !p.startsWith('dist/') && !['package.json', 'README.md', 'LICENSE'].includes(p));
    expect(outside).toEqual([]);
    expect(paths).toEqual(expect.arrayContaining(['dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/lib/cli/bin.js', 'dist/infra/index.js', 'dist/lib/local/dashboard/index.html']));
    expect(paths.some((p) => p.endsWith('.ts') && !p.endsWith('.d.ts'))).toBe(false);
    console.log(`tarball ${packInfo.filename}: ${packInfo.size} bytes packed, ${packInfo.unpackedSize} unpacked, ${packInfo.entryCount} files`);
  });

  it('(a) plain node imports every subpath and runs the user handlers on DynamoDB Local', async () => {
    const table = `consumer-${randomUUID().slice(0, 8)}`;
    tables.push(table);
    writeFileSync(join(project, 'plain.mjs'), PLAIN_NODE_SCRIPT);
    const r = await run('node', ['plain.mjs'], project, { DDB_ENDPOINT: ddbEndpoint(), TABLE: table, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(out.exports).toEqual({
      root: ['function', 'function', 'function'],
      lambda: ['function', 'function', 'function', 'function'],
      cdk: ['function', 'function'],
      local: ['function', 'function', 'function'],
    });
    expect(out.completed).toBe(2);
    expect(out.results).toEqual([
      ['completed', { hello: 'ada', by: 'the user handler' }],
      ['completed', { hello: 'grace', by: 'the user handler' }],
    ]);
  });

  it('(b) a strict TypeScript consumer type-checks, and a wrong payload type is a compile error', async () => {
    writeFileSync(join(project, 'typed.ts'), TYPED_CONSUMER);
    writeFileSync(join(project, 'wrong.ts'), WRONG_PAYLOAD);
    writeFileSync(join(project, 'tsconfig.typed.json'), STRICT_TSCONFIG('typed.ts'));
    writeFileSync(join(project, 'tsconfig.wrong.json'), STRICT_TSCONFIG('wrong.ts'));
    const tsc = join(project, 'node_modules', '.bin', 'tsc');
    const typed = await run(tsc, ['-p', 'tsconfig.typed.json'], project);
    expect(typed.stdout + typed.stderr).toBe('');
    expect(typed.code).toBe(0);
    const wrong = await run(tsc, ['-p', 'tsconfig.wrong.json'], project);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stdout).toMatch(/wrong\.ts\(6,\d+\): error TS2322: Type 'number' is not assignable to type 'string'/);
  });

  it('(c) npx jobtable (the compiled CLI, no loader) works, and a bad --handlers module exits 2 with a clear message', async () => {
    const help = await run('npx', ['--no-install', 'jobtable', '--help'], project);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^Usage: jobtable <command>/);
    for (const command of ['start', 'work']) {
      const h = await run('npx', ['--no-install', 'jobtable', command, '--help'], project);
      expect(h.code, h.stderr).toBe(0);
      expect(h.stdout).toContain(`Usage: jobtable ${command} --handlers <module>`);
    }
    const missing = await run('npx', ['--no-install', 'jobtable', 'work', '--handlers', 'nope.mjs'], project);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--handlers: no such file "nope\.mjs"/);
    writeFileSync(join(project, 'no-handlers.mjs'), 'export const other = 1;\n');
    const malformed = await run('npx', ['--no-install', 'jobtable', 'work', '--handlers', 'no-handlers.mjs'], project);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toMatch(/must have a named export `handlers`/);
  });

  it('(c) jobtable work runs a TypeScript handlers module in a CommonJS-scoped folder (the cdk init layout) against a table of your own DynamoDB Local', async () => {
    const table = await freshTable(client, 'consumer-cli');
    tables.push(table);
    const queue = new JobQueue({ tableName: table, client });
    const id = await queue.enqueue('greet', { name: 'margaret' });
    const dir = join(project, 'cjs-app');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, 'src'), { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'cjs-app', private: true })); // no "type": CommonJS scope
    writeFileSync(
      join(dir, 'src', 'jobs.ts'),
      "import type { Handlers } from 'jobtable';\ntype Jobs = { greet: { name: string } };\nexport const handlers: Handlers<Jobs> = { greet: async (p) => ({ hello: p.name, from: 'typescript' }) };\n",
    );
    const env = { AWS_REGION: '', AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: '' };
    const r = await run('npx', ['--no-install', 'jobtable', 'work', '--handlers', 'cjs-app/src/jobs.ts', '--table', table, '--endpoint', ddbEndpoint(), '--drain', '--json'], project, env);
    expect(r.code, r.stderr).toBe(0);
    expect(await queue.getJob(id)).toMatchObject({ status: 'completed', result: { hello: 'margaret', from: 'typescript' } });
    const version = await run('npx', ['--no-install', 'jobtable', '--version'], project);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version);
  });

  it('(d) a plain-JavaScript CDK app synthesizes two JobTables; the worker bundle runs the user handler as Lambda would', async () => {
    writeFileSync(join(project, 'app.mjs'), CDK_APP);
    const synth = await run('node', ['app.mjs'], project, {}, 300_000);
    expect(synth.code, synth.stderr).toBe(0);
    const template = JSON.parse(readFileSync(join(project, 'cdk.out', 'Consumer.template.json'), 'utf8')) as { Resources: Record<string, { Type: string; Properties: any }> };
    const resources = Object.values(template.Resources);
    expect(resources.filter((r) => r.Type === 'AWS::DynamoDB::Table')).toHaveLength(2);
    expect(resources.filter((r) => r.Type === 'AWS::Scheduler::Schedule')).toHaveLength(3); // one tick per served queue
    const workers = resources.filter((r) => r.Type === 'AWS::Lambda::Function' && String(r.Properties.Description).startsWith('jobtable worker'));
    expect(workers).toHaveLength(2);
    const assets = JSON.parse(readFileSync(join(project, 'cdk.out', 'Consumer.assets.json'), 'utf8')) as { files: Record<string, { source: { path: string } }> };
    const assetHash = String(workers[0]!.Properties.Code.S3Key).replace(/\.zip$/, '');
    const bundle = join(project, 'cdk.out', assets.files[assetHash]!.source.path, 'index.mjs');
    writeFileSync(join(project, 'run-bundle.mjs'), RUN_BUNDLE);

    const table = await freshTable(client, 'consumer-lambda');
    tables.push(table);
    const queue = new JobQueue({ tableName: table, client });
    const id = await queue.enqueue('greet', { name: 'linus' });
    const event = JSON.stringify({ source: 'jobtable.wake', queue: 'default', reason: 'tick' });
    const r = await run('node', ['run-bundle.mjs', bundle, event], project, lambdaEnv(table));
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(report).toMatchObject({ queue: 'default', claimed: 1, completed: 1 });
    expect(await queue.getJob(id)).toMatchObject({ status: 'completed', result: { hello: 'linus', by: 'the user handler' } });
  }, 300_000); // bundling two JobTables took 48 s alone and over 60 s beside the rest of the suite
});
