/**
 * A handler map is checked where a worker is deployed or started on its own, so a bad map fails at
 * start-up instead of dead-lettering every job: the worker Lambda's factory (at module init) and the
 * CLI's `--handlers` loader use the same rule.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../lib/errors.ts';
import { createWorkerHandler } from '../../lib/lambda/worker.ts';
import { validateHandlerMap } from '../../lib/worker/process-options.ts';
import { JobTable } from '../../infra/job-table.ts';
import { EXAMPLE_HANDLERS_ENTRY } from '../../infra/stack.ts';

describe('handler maps', () => {
  it.each([
    ['an array', [() => 1], 'handlers'],
    ['an empty map', {}, 'handlers'],
    ['a number for a handler', { greet: 42 }, 'handlers.greet'],
    ['an object without handler()', { greet: { onFailed: () => undefined } }, 'handlers.greet'],
    ['null', null, 'handlers'],
  ])('refuses %s, naming the field', (_name, map, field) => {
    expect(() => validateHandlerMap(map)).toThrow(ValidationError);
    expect(() => createWorkerHandler(map as never)).toThrow(expect.objectContaining({ field }));
  });

  it('accepts functions and { handler, onFailed } objects', () => {
    expect(() => validateHandlerMap({ a: () => 1, b: { handler: async () => 2, onFailed: () => undefined } })).not.toThrow();
  });
});

describe('JobTable settings the functions read at start-up', () => {
  const attempt = (props: Record<string, unknown>) => () => new JobTable(new Stack(new App(), 'S'), 'Jobs', { handlersEntry: EXAMPLE_HANDLERS_ENTRY, ...props });
  it.each([
    [{ workerConcurrency: 0 }, 'workerConcurrency'],
    [{ workerConcurrency: 2.5 }, 'workerConcurrency'],
    [{ workerConcurrency: 5_000 }, 'workerConcurrency'],
    [{ shardCount: 0 }, 'shardCount'],
    [{ shardCount: 1_000 }, 'shardCount'],
    [{ workerTimeout: Duration.minutes(30) }, 'workerTimeout'],
    [{ workerReservedConcurrency: 0 }, 'workerReservedConcurrency'],
  ])('refuses %o with a ValidationError naming %s', (props, field) => {
    expect(attempt(props)).toThrow(expect.objectContaining({ name: 'ValidationError', field }));
  });
});
