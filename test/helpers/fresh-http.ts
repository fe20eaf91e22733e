/**
 * One HTTP request on a connection of its own (node:http, no agent), for end-to-end tests
 * that talk to a `coffer serve` child. The global fetch keeps connections alive between a
 * test's requests; when a slow step (spawning CLI processes on a loaded machine) leaves one
 * idle past the server's keep-alive timeout, the next request can meet the server closing
 * it. A request that is not the client under test has no reason to take that chance.
 */
import { request } from 'node:http';

export interface FreshAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export function freshRequest(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<FreshAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers, agent: false });
    req.setTimeout(60_000, () => req.destroy(new Error(`no answer from ${url} within 60 s`)));
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    req.end(init.body);
  });
}
