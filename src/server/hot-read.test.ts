/**
 * The hot path for secret reads (hot-read.ts) answers exactly as the app does: the same
 * requests are sent to two sockets over one app, one with the hot path in front and one
 * without, and each pair of answers must have the same status, body (but for the request
 * id), content type and request id header; each pair must add the same audit records and
 * log the same line. Requests cover every way a read can be refused or fail, and a property
 * test draws more from pieces of paths, queries, methods and tokens.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import http from 'node:http';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestVault, type TestVault } from '../../test/helpers/vault.js';
import { createToken, revokeToken } from '../core/access/tokens.js';
import { type Api, createApi } from './app.js';
import { type RunningServer, startServer } from './http-server.js';
import { createLogger } from './logger.js';

const KEY = 'project/app/db_url';
const DELETED = 'project/app/old_key';
const VALUE = 'postgres://hot-path-value';
const DESCRIPTION = 'Database URL of the hot path test';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

let tv: TestVault;
let hot: RunningServer;
let plain: RunningServer;
let taken = 0;
let api: Api;
const logs: string[] = [];
const tokens: Record<string, string> = {};

/**
 * One request with a raw target (sent as written, not normalised), on a new connection;
 * `client` is sent as X-Forwarded-For (both servers trust 127.0.0.1 as a proxy), `host` as
 * the Host header.
 */
function send(
  server: RunningServer,
  method: string,
  target: string,
  token?: string,
  extra: { client?: string; host?: string } = {},
) {
  const { hostname, port } = new URL(server.url);
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (extra.client !== undefined) headers['x-forwarded-for'] = extra.client;
  if (extra.host !== undefined) headers.host = extra.host;
  return new Promise<Reply>((resolve, reject) => {
    const req = http.request(
      {
        hostname,
        port,
        method,
        path: target,
        agent: false,
        headers,
        setHost: extra.host === undefined,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function auditCount(): Promise<number> {
  const rows = await tv.vault.readTransaction((tx) => tx.listAudit({ limit: 100_000 }));
  return rows.at(-1)?.seq ?? 0;
}

/**
 * Each request comes from a client address of its own (through the trusted proxy
 * 127.0.0.1), so that every refusal is the first of its address and audited at once
 * (failure-audit.ts), on either side.
 */
let clients = 0;
function nextClient(): string {
  clients++;
  return `198.51.${(clients >> 8) & 255}.${clients & 255}`;
}

/** Audit records after `seq`, without what differs between two equal requests. */
async function recordsAfter(seq: number, client: string) {
  const rows = await tv.vault.readTransaction((tx) => tx.listAudit({ afterSeq: seq }));
  return rows.map((r) => [
    r.actor.replace(`@${client}`, '@CLIENT'),
    r.action,
    r.path,
    r.env,
    r.version,
    r.outcome,
    r.detail,
  ]);
}

/** The request lines logged after line `from`, without what differs between two requests. */
function linesAfter(from: number, client: string) {
  return logs.slice(from).map((l) => {
    const { time: _t, ms: _m, reqId: _r, ...rest } = JSON.parse(l) as Record<string, unknown>;
    return rest.addr === client ? { ...rest, addr: 'CLIENT' } : rest;
  });
}

/** Sends the request through both servers; returns both sides for comparison. */
async function both(method: string, target: string, token?: string, host?: string) {
  const side = async (server: RunningServer) => {
    const seq = await auditCount();
    const line = logs.length;
    const before = taken;
    const client = nextClient();
    const reply = await send(server, method, target, token, {
      client,
      ...(host !== undefined ? { host } : {}),
    });
    // The log line is written right after the answer; let it land.
    await new Promise((r) => setImmediate(r));
    const requestId = reply.headers['x-request-id'];
    let body: unknown = reply.body;
    try {
      const parsed = JSON.parse(reply.body) as Record<string, unknown>;
      if (parsed.requestId !== undefined) {
        expect(parsed.requestId).toBe(requestId);
        parsed.requestId = 'ID';
      }
      body = parsed;
    } catch {
      // not JSON (HEAD): compared as text
    }
    return {
      status: reply.status,
      contentType: reply.headers['content-type'],
      cacheControl: reply.headers['cache-control'],
      hasRequestId: typeof requestId === 'string' && requestId.length > 0,
      body,
      audit: await recordsAfter(seq, client),
      log: linesAfter(line, client),
      tookHot: taken > before,
    };
  };
  const viaHot = await side(hot);
  const viaApp = await side(plain);
  return { viaHot, viaApp };
}

function expectSame(r: Awaited<ReturnType<typeof both>>): void {
  const { tookHot: _h, ...a } = r.viaHot;
  const { tookHot: _p, ...b } = r.viaApp;
  expect(a).toEqual(b);
  expect(r.viaApp.tookHot).toBe(false);
}

beforeAll(async () => {
  tv = await makeTestVault('test:hot');
  await tv.vault.set(KEY, 'dev', VALUE, { description: DESCRIPTION });
  await tv.vault.set(KEY, 'dev', `${VALUE}-2`, { description: DESCRIPTION });
  await tv.vault.set(KEY, 'prod', `${VALUE}-prod`, { description: DESCRIPTION });
  await tv.vault.set(DELETED, 'dev', VALUE, { description: DESCRIPTION });
  await tv.vault.delete(DELETED, 'dev');
  const mint = async (name: string, extra: { allow?: string[]; envs?: string[] } = {}) => {
    const created = await createToken(
      tv.vault,
      { name, caps: ['read'], allow: ['project/app/*'], ...extra },
      new Date(),
    );
    tokens[name] = created.token;
  };
  await mint('reader');
  await mint('dev-only', { envs: ['dev'] });
  await mint('other', { allow: ['project/other/*'] });
  await mint('revoked');
  tokens.expired = (
    await createToken(
      tv.vault,
      { name: 'expired', caps: ['read'], allow: ['**'], ttl: '1h' },
      new Date(Date.now() - 2 * 3_600_000),
    )
  ).token;
  tokens.list = (
    await createToken(tv.vault, { name: 'lister', caps: ['list'], allow: ['**'] }, new Date())
  ).token;
  tokens.wrong = `${tokens.reader!.slice(0, -43)}${'B'.repeat(43)}`;
  tokens.garbage = `coffer_${randomBytes(8).toString('hex')}_${'A'.repeat(43)}`;
  const destination = new Writable({
    write(chunk, _encoding, done) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger({ level: 'info', destination });
  // A failure budget no test reaches: both servers share the app's limiter, and a 429 on
  // one side only would not be a difference of the hot path.
  api = createApi({
    vault: tv.vault,
    logger,
    rateLimit: { maxFailures: 1_000_000 },
    failureAudit: { maxAddressesPerWindow: 1_000_000 },
    trustedProxies: ['127.0.0.1'],
  });
  const binding = { host: '127.0.0.1', port: 0 };
  const hotPath: typeof api.hotPath = (incoming, outgoing) => {
    const took = api.hotPath(incoming, outgoing);
    if (took) taken++;
    return took;
  };
  hot = await startServer(api.app, binding, { hotPath });
  plain = await startServer(api.app, binding);
  await revokeToken(tv.vault, 'revoked');
});

afterAll(async () => {
  await hot?.close(100);
  await plain?.close(100);
  tv?.vault.close();
  await tv?.storage.close();
  if (tv !== undefined) rmSync(tv.dir, { recursive: true, force: true });
});

describe('the hot path for GET /v1/secrets/{scope}/{group}/{name}', () => {
  it('answers a valid read itself once the token is cached, as the app does', async () => {
    const first = await both('GET', `/v1/secrets/${KEY}`, tokens.reader);
    expect(first.viaHot.tookHot).toBe(false);
    expectSame(first);
    const r = await both('GET', `/v1/secrets/${KEY}?env=dev`, tokens.reader);
    expect(r.viaHot.tookHot).toBe(true);
    expectSame(r);
    expect(r.viaHot.status).toBe(200);
    // a value: no browser or proxy may keep it (compared with the app's by expectSame)
    expect(r.viaHot.cacheControl).toBe('no-store');
    expect(r.viaHot.body).toMatchObject({ path: KEY, env: 'dev', version: 2, value: `${VALUE}-2` });
    expect(Object.keys(r.viaHot.body as object)).toEqual([
      'path',
      'env',
      'version',
      'value',
      'description',
      'createdAt',
    ]);
    expect(r.viaHot.audit).toEqual([['token:reader@CLIENT', 'get', KEY, 'dev', 2, 'ok', null]]);
    expect(r.viaHot.log).toEqual([
      {
        level: 30,
        service: 'coffer',
        addr: 'CLIENT',
        method: 'GET',
        route: '/v1/secrets/{scope}/{group}/{name}',
        status: 200,
        msg: 'request',
      },
    ]);
  });

  it('answers errors of the read itself (no such secret, version, a deleted secret) the same way', async () => {
    await both('GET', `/v1/secrets/${KEY}`, tokens.reader);
    for (const target of [
      `/v1/secrets/project/app/missing`,
      `/v1/secrets/${KEY}?version=9`,
      `/v1/secrets/${KEY}?version=1&env=dev`,
      `/v1/secrets/${DELETED}`,
      `/v1/secrets/${KEY}?env=staging`,
    ]) {
      const r = await both('GET', target, tokens.reader);
      expect(r.viaHot.tookHot, target).toBe(true);
      expect(r.viaHot.cacheControl, target).toBe('no-store');
      expectSame(r);
    }
  });

  it('leaves every refusal to the app, which answers, audits and logs it', async () => {
    await both('GET', `/v1/secrets/${KEY}`, tokens.reader);
    await both('GET', `/v1/secrets/${KEY}`, tokens['dev-only']);
    const cases: [string, string, string | undefined, number][] = [
      ['GET', `/v1/secrets/${KEY}`, undefined, 401],
      ['GET', `/v1/secrets/${KEY}`, tokens.wrong, 401],
      ['GET', `/v1/secrets/${KEY}`, tokens.garbage, 401],
      ['GET', `/v1/secrets/${KEY}`, tokens.expired, 401],
      ['GET', `/v1/secrets/${KEY}`, tokens.revoked, 401],
      ['GET', `/v1/secrets/${KEY}`, 'not-a-token', 401],
      ['GET', `/v1/secrets/${KEY}`, tokens.other, 403],
      ['GET', `/v1/secrets/${KEY}`, tokens.list, 403],
      ['GET', `/v1/secrets/${KEY}?env=prod`, tokens['dev-only'], 403],
      ['GET', `/v1/secrets/${KEY}?bogus=1`, tokens.reader, 400],
      ['GET', `/v1/secrets/${KEY}?env=dev&env=dev`, tokens.reader, 400],
      ['GET', `/v1/secrets/${KEY}?version=0`, tokens.reader, 400],
      ['GET', `/v1/secrets/${KEY}?env=Dev`, tokens.reader, 400],
      ['GET', '/v1/secrets/project/App/db_url', tokens.reader, 400],
      ['GET', '/v1/secrets/project/app/db_url/', tokens.reader, 404],
      ['GET', '/v1/secrets/project/app/db_url/x', tokens.reader, 404],
      ['GET', '/v1/secrets/project//db_url', tokens.reader, 404],
      ['GET', '/v1/secrets/nothing/app/db_url', tokens.reader, 400],
      ['PUT', `/v1/secrets/${KEY}`, tokens.reader, 403],
    ];
    for (const [method, target, token, status] of cases) {
      const r = await both(method, target, token);
      expect(r.viaHot.tookHot, `${method} ${target}`).toBe(false);
      expect(r.viaHot.status, `${method} ${target}`).toBe(status);
      expectSame(r);
    }
  });

  it('decodes a query as the app does (the same parseQuery)', async () => {
    await both('GET', `/v1/secrets/${KEY}`, tokens.reader);
    const decoded = await both('GET', `/v1/secrets/${KEY}?env=d%65v`, tokens.reader);
    expect(decoded.viaHot.tookHot).toBe(true);
    expect(decoded.viaHot.status).toBe(200);
    expectSame(decoded);
    expectSame(await both('GET', `/v1/secrets/${KEY}?env=dev&version=+2`, tokens.reader));
  });

  it('leaves to the app a path it would decode or normalise (%-escapes, dot segments), fragments and HEAD', async () => {
    await both('GET', `/v1/secrets/${KEY}`, tokens.reader);
    for (const [method, target] of [
      ['GET', '/v1/secrets/project/app/db%5Furl'],
      ['GET', '/v1/secrets/project/app/../app/db_url'],
      ['GET', '/v1/secrets/project/./app/db_url'],
      ['GET', `/v1/secrets/${KEY}?env=dev#frag`],
      ['HEAD', `/v1/secrets/${KEY}`],
    ] as const) {
      const r = await both(method, target, tokens.reader);
      expect(r.viaHot.tookHot, `${method} ${target}`).toBe(false);
      expectSame(r);
    }
  });

  it('property: any request drawn from path, query, method and token pieces gets the same answer, audit and log', async () => {
    const segment = fc.constantFrom(
      'project',
      'meta',
      'app',
      'other',
      'db_url',
      'missing',
      'old_key',
      'App',
      '',
      '..',
      '.',
      'db%5Furl',
      'a-b',
      'x_',
    );
    const query = fc.array(
      fc.constantFrom(
        'env=dev',
        'env=prod',
        'env=staging',
        'env=',
        'version=1',
        'version=2',
        'version=9',
        'version=x',
        'x=1',
        'env=dev#f',
        '',
      ),
      { maxLength: 3 },
    );
    const tokenName = fc.constantFrom(
      'reader',
      'dev-only',
      'other',
      'revoked',
      'expired',
      'list',
      'wrong',
      'garbage',
      'none',
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'GET', 'GET', 'HEAD', 'DELETE'),
        fc.array(segment, { minLength: 1, maxLength: 4 }),
        query,
        tokenName,
        async (method, segments, params, name) => {
          const target = `/v1/secrets/${segments.join('/')}${params.length > 0 ? `?${params.join('&')}` : ''}`;
          const r = await both(method, target, name === 'none' ? undefined : tokens[name]);
          expectSame(r);
          if (r.viaHot.tookHot)
            expect(r.viaHot.status === 200 || r.viaHot.status === 404).toBe(true);
        },
      ),
      { numRuns: 120 },
    );
    expect(taken).toBeGreaterThan(0);
  });

  it('a Host header is valid or not by one rule: refused before either path, or served by both', async () => {
    await both('GET', `/v1/secrets/${KEY}`, tokens.reader);
    const target = `/v1/secrets/${KEY}?env=dev`;
    for (const host of [
      'a b',
      'h:99999',
      '[0::1]',
      'x@y',
      '1.2.3:80',
      'a/b',
      'h:',
      '',
      'é.test',
      '0\\a',
      'h?x',
      'h#x',
    ]) {
      const r = await both('GET', target, tokens.reader, host);
      expect([host, r.viaHot.status]).toEqual([host, 400]);
      expect(r.viaHot.body).toMatchObject({ code: 'INVALID_ARGUMENT' });
      expectSame(r);
    }
    for (const host of [
      'coffer.test',
      'EXAMPLE.com',
      'example.com:80',
      '[::1]:8700',
      '127.0.0.1:65000',
    ]) {
      const r = await both('GET', target, tokens.reader, host);
      expect([host, r.viaHot.status]).toEqual([host, 200]);
      expectSame(r);
    }
  });

  it('property: any Host header gets the same answer, audit and log on both paths', async () => {
    await both('GET', `/v1/secrets/${KEY}`, tokens.reader);
    const piece = fc.constantFrom(
      ...['a', 'Z', 'x', 'n', '0', '1', '7', '9', '0x', 'ff', '.', '-', '_', ':', '::'],
      ...['[', ']', '@', ' ', '%', '/', '?', '#', '\\', ':80', ':8700', ':65536', 'xn--'],
    );
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { maxLength: 8 }), async (pieces) => {
        const host = pieces.join('');
        const r = await both('GET', `/v1/secrets/${KEY}?env=dev`, tokens.reader, host);
        expectSame(r);
        expect(r.viaHot.status === 200 || r.viaHot.status === 400).toBe(true);
      }),
      { numRuns: 80 },
    );
  });

  it('answers correctly past its cache of targets (more distinct targets than it keeps)', async () => {
    await both('GET', `/v1/secrets/${KEY}`, tokens.reader);
    /** Calls the hot path directly; resolves with the status and body it answered. */
    const call = (url: string) =>
      new Promise<{ took: boolean; status?: number; body?: string }>((resolve) => {
        let status = 0;
        const outgoing = {
          writeHead(s: number) {
            status = s;
          },
          end(body: string) {
            resolve({ took: true, status, body });
          },
        };
        const incoming = {
          method: 'GET',
          url,
          socket: { remoteAddress: '127.0.0.1' },
          headers: { host: 'coffer.test', authorization: `Bearer ${tokens.reader}` },
        };
        const took = api.hotPath(
          incoming as unknown as http.IncomingMessage,
          outgoing as unknown as http.ServerResponse,
        );
        if (!took) resolve({ took });
      });
    const targets = Array.from({ length: 1300 }, (_, i) => `/v1/secrets/${KEY}?env=e${i}`);
    for (const url of [...targets, ...targets.slice(0, 50), `/v1/secrets/${KEY}`]) {
      let r = await call(url);
      if (!r.took) {
        // The token's cached record expired (1 s): one request through the app renews it.
        await send(plain, 'GET', `/v1/secrets/${KEY}`, tokens.reader);
        r = await call(url);
      }
      expect(r.took, url).toBe(true);
      const env = url.includes('?') ? url.slice(url.indexOf('=') + 1) : 'dev';
      if (env === 'dev') expect(JSON.parse(r.body!)).toMatchObject({ env, version: 2 });
      else expect(JSON.parse(r.body!)).toMatchObject({ code: 'SECRET_NOT_FOUND' });
    }
    expect((await call(`/v1/secrets/${KEY}?env=Bad`)).took).toBe(false);
  });
});
