/**
 * A real TCP-level fault: an HTTP proxy in front of DynamoDB Local that forwards each request,
 * lets DynamoDB apply it, then for matching requests sends the status line and headers of the
 * real 200 answer with only part of its body and resets the connection (a connection dropped
 * mid-response, which a real network produces).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** `truncate`: the real headers and half the body, then a reset; `drop`: a reset, no answer. */
export type Mode = 'truncate' | 'drop';
/** Which requests to damage, and how. */
export interface ProxyRule {
  match: (target: string, body: any) => boolean;
  mode: Mode;
  times: number;
  hits: number;
  /** Runs after DynamoDB applied the request, before the (damaged) answer is sent. */
  beforeRespond?: () => Promise<void>;
}

/** Starts the proxy in front of `upstream`; `add` a rule to damage matching answers. */
export async function startProxy(upstream: string) {
  const up = new URL(upstream);
  const rules: ProxyRule[] = [];
  const log: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const target = String(req.headers['x-amz-target'] ?? '');
      let body: any = {};
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        /* not JSON: match on the target alone */
      }
      const rule = rules.find((r) => r.hits < r.times && r.match(target, body));
      if (rule) rule.hits++;
      const fwd = http.request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers }, (ur) => {
        const bufs: Buffer[] = [];
        ur.on('data', (c) => bufs.push(c));
        ur.on('end', async () => {
          if (rule?.beforeRespond) await rule.beforeRespond();
          const full = Buffer.concat(bufs);
          log.push(`${target.split('.')[1]} ${ur.statusCode} ${rule ? rule.mode : 'pass'}`);
          if (!rule) {
            res.writeHead(ur.statusCode ?? 500, ur.headers);
            res.end(full);
            return;
          }
          if (rule.mode === 'drop') {
            req.socket.destroy();
            return;
          }
          // truncate: real headers (with the real content-length), half the body, then reset.
          const headers = { ...ur.headers, 'content-length': String(full.length) };
          res.writeHead(ur.statusCode ?? 500, headers);
          res.write(full.subarray(0, Math.max(1, Math.floor(full.length / 2))));
          setTimeout(() => req.socket.destroy(), 20);
        });
      });
      fwd.on('error', () => req.socket.destroy());
      fwd.end(raw);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    log,
    add(rule: Omit<ProxyRule, 'hits'>) { const r = { ...rule, hits: 0 }; rules.push(r); return r; },
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
