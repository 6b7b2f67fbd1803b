/** The HTTP API over a queue, served on a free port of 127.0.0.1 for a test. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApiListener } from '../../lib/local/http-api.ts';
import type { ApiOptions } from '../../lib/local/http-api.ts';

/** A served API: its base URL and how to stop it. */
export interface ServedApi {
  readonly base: string;
  close(): Promise<void>;
}

/** Serves `createApiListener(options)` on a free port. */
export async function serveApi(options: ApiOptions): Promise<ServedApi> {
  const server = createServer(createApiListener(options));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
