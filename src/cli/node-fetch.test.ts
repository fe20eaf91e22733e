import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../client/client.js';
import { nodeFetch } from './node-fetch.js';

const TOKEN = 'coffer_id1_q0DPm6bH4vXc1nKz8sY2fLwR9aTeJ5uGhB7iNoVdE3x';

describe('nodeFetch (the CLI remote mode fetch on node:http)', () => {
  let server: Server;
  let url: string;
  const seen: { method?: string; url?: string; auth?: string; type?: string; body: string }[] = [];

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      let body = '';
      for await (const chunk of req) body += chunk;
      seen.push({
        method: req.method!,
        url: req.url!,
        auth: req.headers.authorization!,
        type: req.headers['content-type']!,
        body,
      });
      if (req.url?.startsWith('/slow')) return; // never answers
      if (req.url === '/moved') {
        res.writeHead(301, { location: '/elsewhere' }).end();
        return;
      }
      res
        .writeHead(req.url === '/teapot' ? 418 : 200, {
          'content-type': 'application/json',
          'retry-after': '12',
        })
        .end(JSON.stringify({ ok: true, echo: body, snow: '\u2603' }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });

  const init = (method: string, body?: string) => ({
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    redirect: 'manual' as const,
    signal: AbortSignal.timeout(5000),
    ...(body === undefined ? {} : { body }),
  });

  it('sends method, headers and body, and returns status, headers and UTF-8 text', async () => {
    const res = await nodeFetch(`${url}/v1/x?env=dev`, init('PUT', '{"value":"é"}'));
    expect(res.status).toBe(200);
    expect(res.headers.get('Retry-After')).toBe('12');
    expect(res.headers.get('x-missing')).toBeNull();
    expect(JSON.parse(await res.text())).toEqual({ ok: true, echo: '{"value":"é"}', snow: '☃' });
    expect(seen.at(-1)).toEqual({
      method: 'PUT',
      url: '/v1/x?env=dev',
      auth: `Bearer ${TOKEN}`,
      type: 'application/json',
      body: '{"value":"é"}',
    });
  });

  it('hands back error statuses and redirects without following them', async () => {
    expect((await nodeFetch(`${url}/teapot`, init('GET'))).status).toBe(418);
    expect((await nodeFetch(`${url}/moved`, init('GET'))).status).toBe(301);
    expect(seen.some((s) => s.url === '/elsewhere')).toBe(false);
  });

  it('works as the client fetch: time-outs and refused connections are SERVER_UNREACHABLE', async () => {
    const slow = createClient({
      url: `${url}/slow`,
      token: TOKEN,
      fetch: nodeFetch,
      timeoutMs: 50,
    });
    await expect(slow.health()).rejects.toMatchObject({
      code: 'SERVER_UNREACHABLE',
      message: expect.stringContaining('no answer'),
    });
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const refused = createClient({
      url: `http://127.0.0.1:${port}`,
      token: TOKEN,
      fetch: nodeFetch,
    });
    await expect(refused.health()).rejects.toMatchObject({
      code: 'SERVER_UNREACHABLE',
      message: `cannot reach the coffer server at http://127.0.0.1:${port} (ECONNREFUSED)`,
    });
  });
});
