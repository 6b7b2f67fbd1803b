import { describe, expectTypeOf, it } from 'vitest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { JobQueue } from '../../lib/index.ts';
import type { Handlers, JobContext } from '../../lib/index.ts';

type Jobs = { send_email: { to: string; subject: string }; resize: { width: number } };

describe('JobQueue typing', () => {
  it('infers handler payload types from the job map, and checks enqueue', () => {
    const queue = new JobQueue<Jobs>({ tableName: 'typed-jobs', client: new DynamoDBClient({ region: 'local' }) });
    const handlers: Handlers<Jobs> = {
      send_email: (payload, ctx) => {
        expectTypeOf(payload).toEqualTypeOf<{ to: string; subject: string }>();
        expectTypeOf(ctx).toEqualTypeOf<JobContext<{ to: string; subject: string }>>();
        return payload.to;
      },
      resize: { handler: (payload) => payload.width * 2, onFailed: (err) => void err.message },
    };
    expectTypeOf(queue.processJobs).parameter(0).toEqualTypeOf<Handlers<Jobs>>();
    expectTypeOf(handlers).toMatchTypeOf<Handlers<Jobs>>();
    expectTypeOf(queue.enqueue<'resize'>).parameter(1).toEqualTypeOf<{ width: number }>();
    // @ts-expect-error unknown job type
    void (() => queue.enqueue('nope', {}));
    // @ts-expect-error wrong payload shape
    void (() => queue.enqueue('resize', { height: 1 }));
  });
});
