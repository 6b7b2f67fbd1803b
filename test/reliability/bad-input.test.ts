/**
 * Hostile input: a corpus of malformed requests (wrong types, huge, deeply nested, cyclic, odd
 * Unicode, injection-looking strings, bad dates, absurd numbers) sent through every door a caller
 * has: the library (`enqueue`, `enqueueMany`), the enqueue Lambda handler and the local stack's
 * `POST /jobs`. Each must be refused with a typed validation error that names the offending
 * field, and the table must stay empty.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV, JobQueue, ValidationError } from '../../lib/index.ts';
import { startLocalStack } from '../../lib/local/stack.ts';
import type { LocalStack } from '../../lib/local/stack.ts';
import { ddbEndpoint, dropTable, freshTable, testClient } from '../helpers/ddb.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One hostile request in wire form: `{ type, payload, ...options }`. */
interface Case {
  readonly name: string;
  readonly request: Record<string, unknown>;
  /** The field the error must name (matched against the end of the error's field path). */
  readonly field: RegExp;
  /** Not representable as JSON (cycles, BigInt, functions...): library only. */
  readonly jsOnly?: boolean;
  /** Only for the HTTP API (the library and the Lambda default a missing payload to null). */
  readonly httpOnly?: boolean;
}

const deep = (levels: number): unknown => {
  let v: unknown = 'bottom';
  for (let i = 0; i < levels; i++) v = { d: v };
  return v;
};
const cyclic = (): unknown => {
  const a: Record<string, unknown> = { name: 'a' };
  a.self = a;
  return a;
};
const cyclicArray = (): unknown => {
  const a: unknown[] = [1];
  a.push(a);
  return { list: a };
};
const ok = { type: 'noop', payload: {} };

/** The corpus. */
const CASES: Case[] = [
  // type
  { name: 'type missing', request: { payload: {} }, field: /type$/ },
  { name: 'type empty', request: { ...ok, type: '' }, field: /type$/ },
  { name: 'type a number', request: { ...ok, type: 42 }, field: /type$/ },
  { name: 'type null', request: { ...ok, type: null }, field: /type$/ },
  { name: 'type an object', request: { ...ok, type: { $ne: null } }, field: /type$/ },
  { name: 'type an array', request: { ...ok, type: ['noop'] }, field: /type$/ },
  { name: 'type 10,000 characters', request: { ...ok, type: 'a'.repeat(10_000) }, field: /type$/ },
  { name: 'type SQL injection', request: { ...ok, type: "noop'; DROP TABLE jobs;--" }, field: /type$/ },
  { name: 'type path traversal', request: { ...ok, type: '../../etc/passwd' }, field: /type$/ },
  { name: 'type with a NUL byte', request: { ...ok, type: 'noop\u0000' }, field: /type$/ },
  { name: 'type with a newline', request: { ...ok, type: 'noop\nx' }, field: /type$/ },
  { name: 'type with RTL override', request: { ...ok, type: 'no\u202Eop' }, field: /type$/ },
  { name: 'type with zero-width space', request: { ...ok, type: 'no\u200Bop' }, field: /type$/ },
  { name: 'type with emoji', request: { ...ok, type: 'noop\u{1F4A3}' }, field: /type$/ },
  { name: 'type a DynamoDB expression', request: { ...ok, type: '#status = :pending' }, field: /type$/ },
  // queue
  { name: 'queue with # (index key separator)', request: { ...ok, queue: 'default#due#00' }, field: /queue$/ },
  { name: 'queue too long', request: { ...ok, queue: 'q'.repeat(65) }, field: /queue$/ },
  { name: 'queue empty', request: { ...ok, queue: '' }, field: /queue$/ },
  { name: 'queue a number', request: { ...ok, queue: 7 }, field: /queue$/ },
  // priority
  { name: 'priority above 1000', request: { ...ok, priority: 1001 }, field: /priority$/ },
  { name: 'priority below -1000', request: { ...ok, priority: -1e9 }, field: /priority$/ },
  { name: 'priority fractional', request: { ...ok, priority: 1.5 }, field: /priority$/ },
  { name: 'priority a string', request: { ...ok, priority: '10' }, field: /priority$/ },
  { name: 'priority 1e308', request: { ...ok, priority: 1e308 }, field: /priority$/ },
  { name: 'priority NaN', request: { ...ok, priority: Number.NaN }, field: /priority$/, jsOnly: true },
  { name: 'priority Infinity', request: { ...ok, priority: Number.POSITIVE_INFINITY }, field: /priority$/, jsOnly: true },
  // attempts and timeouts
  { name: 'maxAttempts 0', request: { ...ok, maxAttempts: 0 }, field: /maxAttempts$/ },
  { name: 'maxAttempts negative', request: { ...ok, maxAttempts: -3 }, field: /maxAttempts$/ },
  { name: 'maxAttempts absurd', request: { ...ok, maxAttempts: Number.MAX_SAFE_INTEGER }, field: /maxAttempts$/ },
  { name: 'timeoutMs 0', request: { ...ok, timeoutMs: 0 }, field: /timeoutMs$/ },
  { name: 'timeoutMs a year', request: { ...ok, timeoutMs: 365 * 86_400_000 }, field: /timeoutMs$/ },
  { name: 'timeoutMs a boolean', request: { ...ok, timeoutMs: true }, field: /timeoutMs$/ },
  { name: 'backoff a number', request: { ...ok, backoff: 5 }, field: /backoff$/ },
  { name: 'backoff maxMs below baseMs', request: { ...ok, backoff: { baseMs: 5000, maxMs: 10 } }, field: /backoff\.maxMs$/ },
  { name: 'backoff unknown key', request: { ...ok, backoff: { baseMs: 1, factor: 3 } }, field: /backoff\.factor$/ },
  { name: 'backoff negative', request: { ...ok, backoff: { baseMs: -1 } }, field: /backoff\.baseMs$/ },
  // dates and delays
  { name: 'runAt not a date', request: { ...ok, runAt: 'tomorrow-ish' }, field: /runAt$/ },
  { name: 'runAt 31 February', request: { ...ok, runAt: '2026-02-31T00:00:00Z' }, field: /runAt$/ },
  { name: 'runAt year 10000', request: { ...ok, runAt: '+010000-01-01T00:00:00Z' }, field: /runAt$/ },
  { name: 'runAt negative epoch', request: { ...ok, runAt: -1 }, field: /runAt$/ },
  { name: 'runAt an object', request: { ...ok, runAt: { $gt: '' } }, field: /runAt$/ },
  { name: 'runAt empty string', request: { ...ok, runAt: '   ' }, field: /runAt$/ },
  { name: 'runAt 50 years ahead', request: { ...ok, runAt: Date.now() + 50 * 365 * 86_400_000 }, field: /runAt$/ },
  { name: 'runAt and delayMs together', request: { ...ok, runAt: Date.now(), delayMs: 10 }, field: /delayMs$/ },
  { name: 'delayMs negative', request: { ...ok, delayMs: -1000 }, field: /delayMs$/ },
  { name: 'delayMs a string', request: { ...ok, delayMs: '1000' }, field: /delayMs$/ },
  { name: 'delayMs 1e300', request: { ...ok, delayMs: 1e300 }, field: /delayMs$/ },
  // idempotency key
  { name: 'idempotencyKey empty', request: { ...ok, idempotencyKey: '' }, field: /idempotencyKey$/ },
  { name: 'idempotencyKey 100 KB', request: { ...ok, idempotencyKey: 'k'.repeat(100_000) }, field: /idempotencyKey$/ },
  { name: 'idempotencyKey a number', request: { ...ok, idempotencyKey: 12345 }, field: /idempotencyKey$/ },
  { name: 'idempotencyKey lone surrogate', request: { ...ok, idempotencyKey: 'key\uD800' }, field: /idempotencyKey$/, jsOnly: true },
  // unknown fields
  { name: 'unknown option', request: { ...ok, priorty: 10 }, field: /priorty$/ },
  { name: 'prototype pollution key', request: JSON.parse('{"type":"noop","payload":{},"__proto__":{"admin":true}}') as Record<string, unknown>, field: /__proto__$/ },
  { name: 'constructor key', request: { ...ok, constructor: { prototype: {} } }, field: /constructor$/ },
  // payload
  { name: 'payload missing', request: { type: 'noop' }, field: /payload$/, httpOnly: true },
  { name: 'payload 500 KB', request: { ...ok, payload: { blob: 'x'.repeat(500_000) } }, field: /payload$/ },
  { name: 'payload nested 40 levels', request: { ...ok, payload: deep(40) }, field: /payload(\.d)+$/ },
  { name: 'payload number too big for DynamoDB', request: { ...ok, payload: { n: 1e200 } }, field: /payload\.n$/ },
  { name: 'payload number too small for DynamoDB', request: { ...ok, payload: { n: 1e-200 } }, field: /payload\.n$/ },
  { name: 'payload empty key', request: { ...ok, payload: { '': 1 } }, field: /payload/ },
  { name: 'payload cyclic object', request: { ...ok, payload: cyclic() }, field: /payload\.self$/, jsOnly: true },
  { name: 'payload cyclic array', request: { ...ok, payload: cyclicArray() }, field: /payload\.list\[1\]$/, jsOnly: true },
  { name: 'payload BigInt', request: { ...ok, payload: { n: 10n } }, field: /payload\.n$/, jsOnly: true },
  { name: 'payload function', request: { ...ok, payload: { f: () => 1 } }, field: /payload\.f$/, jsOnly: true },
  { name: 'payload symbol', request: { ...ok, payload: { s: Symbol('x') } }, field: /payload\.s$/, jsOnly: true },
  { name: 'payload Map', request: { ...ok, payload: { m: new Map([[1, 2]]) } }, field: /payload\.m$/, jsOnly: true },
  { name: 'payload NaN', request: { ...ok, payload: { n: Number.NaN } }, field: /payload\.n$/, jsOnly: true },
  { name: 'payload lone surrogate', request: { ...ok, payload: { s: 'a\uDC00b' } }, field: /payload\.s$/, jsOnly: true },
  { name: 'payload class instance', request: { ...ok, payload: { u: new URLSearchParams('a=1') } }, field: /payload\.u$/, jsOnly: true },
];

/** enqueueMany-only cases. */
const MANY_CASES: Array<{ name: string; jobs: unknown; field: RegExp }> = [
  { name: 'jobs not an array', jobs: { type: 'noop', payload: {} }, field: /^jobs$/ },
  { name: 'jobs with a null entry', jobs: [{ type: 'noop', payload: {} }, null], field: /^jobs\[1\]$/ },
  { name: 'one bad job among good ones', jobs: [ok, ok, { type: 'noop', payload: {}, options: { priority: 5000 } }, ok], field: /^jobs\[2\]\.options\.priority$/ },
  { name: '10,001 jobs', jobs: Array.from({ length: 10_001 }, () => ok), field: /^jobs$/ },
  { name: 'cyclic payload in the last job', jobs: [ok, { type: 'noop', payload: cyclic() }], field: /^jobs\[1\]\.payload\.self$/ },
];

function split(request: Record<string, unknown>): { type: unknown; payload: unknown; options: Record<string, unknown> } {
  const { type, payload, ...options } = request;
  return { type, payload, options };
}

async function countItems(client: DynamoDBClient, tableName: string): Promise<number> {
  const res = await client.send(new ScanCommand({ TableName: tableName, Select: 'COUNT', ConsistentRead: true }));
  return res.Count ?? 0;
}

describe('bad input corpus', () => {
  let client: DynamoDBClient;
  let tableName: string;
  let queue: JobQueue;
  beforeAll(async () => {
    client = testClient();
    tableName = await freshTable(client, 'hostile');
    queue = new JobQueue({ tableName, client, shardCount: 2 });
  });
  afterAll(async () => {
    await dropTable(client, tableName);
    client.destroy();
  });

  it('has at least 40 hostile inputs, JSON-representable ones for every channel', () => {
    expect(CASES.length + MANY_CASES.length).toBeGreaterThanOrEqual(40);
    expect(CASES.filter((c) => !c.jsOnly).length).toBeGreaterThanOrEqual(40);
  });

  it.each(CASES.filter((c) => !c.httpOnly).map((c) => [c.name, c] as const))('library enqueue refuses: %s', async (_name, c) => {
    const { type, payload, options } = split(c.request);
    const err = await queue.enqueue(type as string, payload, options as never).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toMatch(c.field);
    expect((err as ValidationError).limit.length).toBeGreaterThan(0);
  });

  it.each(MANY_CASES.map((c) => [c.name, c] as const))('library enqueueMany refuses: %s', async (_name, c) => {
    const err = await queue.enqueueMany(c.jobs as never).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toMatch(c.field);
  });

  it('the library wrote nothing for any of them (and does write a good job)', async () => {
    expect(await countItems(client, tableName)).toBe(0);
    // The channel is live: the same queue accepts a valid job.
    await queue.enqueue('noop', {});
    expect(await countItems(client, tableName)).toBe(1);
  });

  describe('enqueue Lambda handler', () => {
    let lambdaTable: string;
    let handler: (event: unknown, context: { awsRequestId: string }) => Promise<unknown>;
    beforeAll(async () => {
      lambdaTable = await freshTable(client, 'hostile-lambda');
      process.env[ENV.tableName] = lambdaTable;
      process.env[ENV.dynamoEndpoint] = ddbEndpoint();
      process.env[ENV.shardCount] = '2';
      process.env.AWS_REGION ??= 'local';
      process.env.AWS_ACCESS_KEY_ID ??= 'local';
      process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
      process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
      ({ handler } = await import('../../functions/enqueue.ts'));
    });
    afterAll(async () => {
      await dropTable(client, lambdaTable);
    });

    it.each(CASES.filter((c) => !c.jsOnly && !c.httpOnly).map((c) => [c.name, c] as const))('refuses: %s', async (_name, c) => {
      // A Lambda event is JSON: send exactly what would arrive over the wire.
      const event = JSON.parse(JSON.stringify(c.request)) as unknown;
      const res = (await handler(event, { awsRequestId: `req-${c.name}` })) as { error?: { code: string; field: string; name: string } };
      expect(res.error?.code).toBe('VALIDATION');
      expect(res.error?.field).toMatch(c.field);
    });

    it('refuses batches with a bad job and non-object events', async () => {
      const bad = (await handler({ jobs: [ok, { ...ok, priority: 'high' }] }, { awsRequestId: 'batch' })) as { error?: { field: string } };
      expect(bad.error?.field).toMatch(/priority$/);
      for (const event of [null, 'noop', 42, [ok]]) {
        const res = (await handler(event, { awsRequestId: 'odd' })) as { error?: { code: string } };
        expect(res.error?.code).toBe('VALIDATION');
      }
    });

    it('wrote nothing for any of them (and does write a good job)', async () => {
      expect(await countItems(client, lambdaTable)).toBe(0);
      const res = (await handler(ok, { awsRequestId: 'good' })) as { id?: string };
      expect(typeof res.id).toBe('string');
      expect(await countItems(client, lambdaTable)).toBe(1);
    });
  });

  describe('HTTP API POST /jobs (local stack)', () => {
    let stack: LocalStack;
    let dataDir: string;
    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'jobtable-hostile-'));
      stack = await startLocalStack({ port: 0, dynamoEndpoint: ddbEndpoint(), tableName: `hostile-http-${Date.now()}`, dataDir, shardCount: 2, writeStateFile: false, handlers: { noop: () => null } });
    });
    afterAll(async () => {
      await stack?.stop();
      await dropTable(client, stack.tableName);
      rmSync(dataDir, { recursive: true, force: true });
    });
    const post = async (body: string, contentType = 'application/json') => {
      const res = await fetch(`${stack.url}/jobs`, { method: 'POST', headers: { 'content-type': contentType }, body });
      const text = await res.text();
      let json: { field?: string; code?: string } | undefined;
      try {
        json = JSON.parse(text) as { field?: string; code?: string };
      } catch {
        json = undefined;
      }
      return { status: res.status, json };
    };

    it.each(CASES.filter((c) => !c.jsOnly).map((c) => [c.name, c] as const))('refuses: %s', async (_name, c) => {
      const res = await post(JSON.stringify(c.request));
      // A body over the size limit is refused before parsing (413), everything else is a 400 naming the field.
      if (res.status === 413) return expect(JSON.stringify(c.request).length).toBeGreaterThan(400_000);
      expect(res.status).toBe(400);
      expect(res.json?.code).toBe('VALIDATION');
      expect(res.json?.field).toMatch(c.field);
    });

    it.each([
      ['malformed JSON', '{"type": "noop", "payload": {'],
      ['JSON array body', '[{"type":"noop","payload":{}}]'],
      ['JSON string body', '"noop"'],
      ['empty body', ''],
      ['duplicate keys smuggling a bad type', '{"type":"noop","type":"x y","payload":{}}'],
    ])('refuses a raw body: %s', async (_name, body) => {
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(typeof res.json?.field).toBe('string');
    });

    it('wrote nothing for any of them (and does write a good job)', async () => {
      expect(await countItems(client, stack.tableName)).toBe(0);
      const res = await post(JSON.stringify(ok));
      expect(res.status).toBe(201);
      expect(await countItems(client, stack.tableName)).toBe(1);
    });
  });
});
