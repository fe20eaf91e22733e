/**
 * The request log, captured from pino through a stream: one line per request with request
 * id, method, route pattern, status, duration and error code; never a token, an
 * Authorization header, a query string, a body or a value, and never the raw key path.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Kit, makeKit, secretOf, seed } from '../../test/helpers/server-kit.js';
import type { AppEnv } from './context.js';

/** Sentinels: a value, a key path name and an environment that must not reach the log. */
const VALUE = 'log-sentinel-value-5c1e';
const NAME = 'sentinel_name_8d2b';
const PATH = `project/app/${NAME}`;
const ROUTE = '/v1/secrets/{scope}/{group}/{name}';

interface Line {
  level: number;
  reqId: string;
  method: string;
  route: string;
  status: number;
  ms: number;
  code?: string;
  msg: string;
}

let kit: Kit;
beforeEach(async () => {
  kit = await makeKit();
  await seed(kit, PATH, VALUE);
});
afterEach(async () => {
  await kit.dispose();
});

/** The request lines written so far (skips any other line). */
function lines(): Line[] {
  return kit.logs.map((l) => JSON.parse(l) as Line).filter((l) => l.reqId !== undefined);
}

/** Nothing secret in the whole log: value, tokens, header, raw path, query, body. */
function expectClean(extra: string[] = []): void {
  const log = kit.logs.join('\n');
  for (const s of [VALUE, NAME, 'Bearer', 'authorization', 'prefix=', ...extra]) {
    expect(log).not.toContain(s);
  }
  for (const token of kit.allTokens()) expect(log).not.toContain(secretOf(token));
  expect(log).not.toMatch(/coffer_[0-9a-f]{16}/);
}

describe('request log lines', () => {
  it('carry request id, method, route pattern, status and duration', async () => {
    const read = await kit.send('GET', `/v1/secrets/${PATH}?env=dev`, { token: kit.tokens.read });
    const write = await kit.send('PUT', `/v1/secrets/${PATH}`, {
      token: kit.tokens.write,
      body: { value: `${VALUE}-2` },
    });
    expect([read.status, write.status]).toEqual([200, 200]);
    const [r, w] = lines();
    expect(r).toMatchObject({
      level: 30,
      msg: 'request',
      reqId: read.headers.get('x-request-id'),
      method: 'GET',
      route: ROUTE,
      status: 200,
    });
    expect(w).toMatchObject({
      reqId: write.headers.get('x-request-id'),
      method: 'PUT',
      route: ROUTE,
    });
    for (const line of [r!, w!]) {
      expect(typeof line.ms).toBe('number');
      expect(line.ms).toBeGreaterThanOrEqual(0);
      expect(line.code).toBeUndefined();
    }
    expectClean([`${VALUE}-2`]);
  });

  it('an error line adds its code, and still holds no secret', async () => {
    await kit.send('GET', `/v1/secrets/${PATH}`, { token: kit.tokens.list }); // 403
    await kit.send('GET', `/v1/secrets/${PATH}`, { token: kit.tokens.revoked }); // 401
    await kit.send('PUT', `/v1/secrets/${PATH}`, {
      token: kit.tokens.write,
      body: { value: `${VALUE}-3`, ifVersion: 9 },
    }); // 409
    await kit.send('GET', `/v1/secrets?prefix=project/${NAME}`, { token: kit.tokens.list });
    await kit.send('GET', `/v1/${NAME}`, { token: kit.tokens.admin }); // 404
    await kit.send('GET', `/v1/secrets/${PATH}`, {
      headers: { authorization: `Bearer ${VALUE}` },
    }); // 401, a value sent as a token
    const got = lines().map((l) => [l.status, l.code, l.route]);
    expect(got).toEqual([
      [403, 'FORBIDDEN', ROUTE],
      [401, 'UNAUTHENTICATED', ROUTE],
      [409, 'VERSION_CONFLICT', ROUTE],
      [200, undefined, '/v1/secrets'],
      [404, 'ROUTE_NOT_FOUND', 'unmatched'],
      [401, 'UNAUTHENTICATED', ROUTE],
    ]);
    expect(lines().every((l) => l.level === 30)).toBe(true);
    expectClean([`${VALUE}-3`]);
  });
});

describe('the request line written without pino', () => {
  it('is the line pino writes for the same fields: same keys, order and values', async () => {
    const { Hono } = await import('hono');
    const { Writable } = await import('node:stream');
    const { createLogger, requestLineLogger, requestLogger } = await import('./logger.js');
    const written: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, done) {
        written.push(String(chunk));
        done();
      },
    });
    const logger = createLogger({ level: 'info', destination });
    const app = new Hono<AppEnv>();
    app.use(
      '*',
      requestLogger(
        requestLineLogger(logger),
        () => 'req-"quoted"-\\',
        () => '2001:db8::1',
      ),
    );
    app.get('/x', (c) => {
      c.set('route', '/x/{name}');
      c.set('errorCode', 'FORBIDDEN');
      return c.json({}, 403);
    });
    await app.request('/x');
    const fast = JSON.parse(written[0]!) as Record<string, unknown>;
    logger.info(
      {
        reqId: fast.reqId,
        addr: '2001:db8::1',
        method: 'GET',
        route: '/x/{name}',
        status: 403,
        ms: fast.ms,
        code: 'FORBIDDEN',
      },
      'request',
    );
    const slow = JSON.parse(written[1]!) as Record<string, unknown>;
    expect(written[0]!.endsWith('}\n')).toBe(true);
    expect(Object.keys(fast)).toEqual(Object.keys(slow));
    expect({ ...fast, time: 'T' }).toEqual({ ...slow, time: 'T' });
    expect(fast.reqId).toBe('req-"quoted"-\\');
    expect(Number.isNaN(Date.parse(String(fast.time)))).toBe(false);
  });
});
