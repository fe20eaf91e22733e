/**
 * The app as a whole, in process: routes without a token, unknown routes, request ids,
 * `Cache-Control: no-store` on every answer, and the error table (every code has one status; an unexpected error is a generic 500 that
 * quotes nothing).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectError, type Kit, makeKit, SENTINEL, seed } from '../../test/helpers/server-kit.js';
import { CofferError, ERROR_CODES, errorClassOf } from '../core/errors.js';
import { errorResponse, statusOf } from './error-response.js';

let kit: Kit;
beforeEach(async () => {
  kit = await makeKit();
});
afterEach(async () => {
  await kit.dispose();
});

describe('routes without a token', () => {
  it('GET /healthz answers { ok: true } with or without a token', async () => {
    const a = await kit.send('GET', '/healthz');
    expect(a.status).toBe(200);
    expect(a.json).toEqual({ ok: true });
    expect((await kit.send('GET', '/healthz', { token: 'garbage' })).status).toBe(200);
    expectError(await kit.send('GET', '/healthz?verbose=1'), 400, 'INVALID_ARGUMENT');
  });

  it('GET /v1/openapi.json needs no token', async () => {
    const a = await kit.send('GET', '/v1/openapi.json');
    expect(a.status).toBe(200);
    expect(a.json.openapi).toBe('3.1.0');
  });

  it('every other /v1 route needs one, even an unknown route', async () => {
    expectError(await kit.send('GET', '/v1/secrets'), 401, 'UNAUTHENTICATED');
    expectError(await kit.send('GET', '/v1/nothing-here'), 401, 'UNAUTHENTICATED');
  });
});

describe('unknown routes and methods', () => {
  it('404 ROUTE_NOT_FOUND with the error shape', async () => {
    const t = { token: kit.tokens.admin };
    expectError(await kit.send('GET', '/v1/nothing-here', t), 404, 'ROUTE_NOT_FOUND');
    // `/` is the web UI's; a path that is neither its nor the API's has no route
    expectError(await kit.send('GET', '/no-such-page', t), 404, 'ROUTE_NOT_FOUND');
    expectError(await kit.send('PATCH', '/v1/secrets/project/app/db_url', t), 404);
    expectError(await kit.send('POST', '/healthz'), 404, 'ROUTE_NOT_FOUND');
    // a key path has exactly three segments; more is no route
    expectError(await kit.send('GET', '/v1/secrets/project/app/db/url', t), 404);
  });
});

describe('request ids', () => {
  it('every answer carries a fresh X-Request-Id, the same as an error body', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const a = await kit.send('GET', '/healthz');
      ids.add(a.headers.get('x-request-id') ?? '');
    }
    expect(ids.size).toBe(5);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const err = await kit.send('GET', '/v1/secrets');
    expect(err.json.requestId).toBe(err.headers.get('x-request-id'));
    // a client cannot choose its request id
    const chosen = await kit.send('GET', '/healthz', { headers: { 'x-request-id': 'mine' } });
    expect(chosen.headers.get('x-request-id')).not.toBe('mine');
  });
});

describe('Cache-Control', () => {
  it('every answer is no-store: values, lists, token routes, and every kind of error', async () => {
    await seed(kit, 'project/app/db_url', SENTINEL);
    const { admin, app, list } = kit.tokens;
    const answers: [string, Awaited<ReturnType<Kit['send']>>, number][] = [
      ['value', await kit.send('GET', '/v1/secrets/project/app/db_url', { token: admin }), 200],
      ['project values', await kit.send('GET', '/v1/projects/app/secrets', { token: admin }), 200],
      ['listing', await kit.send('GET', '/v1/secrets?prefix=project/app', { token: list }), 200],
      ['tokens', await kit.send('GET', '/v1/tokens', { token: admin }), 200],
      ['health', await kit.send('GET', '/healthz'), 200],
      ['openapi', await kit.send('GET', '/v1/openapi.json'), 200],
      ['no token', await kit.send('GET', '/v1/secrets/project/app/db_url'), 401],
      ['bad token', await kit.send('GET', '/v1/secrets', { token: 'garbage' }), 401],
      ['forbidden', await kit.send('GET', '/v1/secrets/project/other/x', { token: app }), 403],
      ['no secret', await kit.send('GET', '/v1/secrets/project/app/none', { token: admin }), 404],
      ['no route', await kit.send('GET', '/v1/nothing-here', { token: admin }), 404],
      ['bad query', await kit.send('GET', '/healthz?verbose=1'), 400],
      ['web UI', await kit.send('GET', '/login'), 200],
    ];
    for (const [what, answer, status] of answers) {
      expect([what, answer.status, answer.headers.get('cache-control')]).toEqual([
        what,
        status,
        'no-store',
      ]);
    }
  });
});

describe('the error table', () => {
  it('maps every code to one status: 4xx for the client, 5xx for the server', () => {
    const expected: Record<string, number> = {
      UNAUTHENTICATED: 401,
      FORBIDDEN: 403,
      VALUE_TOO_LARGE: 413,
      UNSUPPORTED_MEDIA_TYPE: 415,
      RATE_LIMITED: 429,
      STORE_LOCKED: 503,
      SERVER_BUSY: 503,
      VERSION_CONFLICT: 409,
      ALREADY_EXISTS: 409,
      SECRET_NOT_FOUND: 404,
      TOKEN_NOT_FOUND: 404,
      ROUTE_NOT_FOUND: 404,
      INVALID_PATH: 400,
      INVALID_ENV: 400,
      INVALID_ARGUMENT: 400,
      INTEGRITY_FAILURE: 500,
      INTERNAL: 500,
    };
    for (const code of ERROR_CODES) {
      const status = statusOf(code, errorClassOf(code));
      if (code in expected) expect([code, status]).toEqual([code, expected[code]]);
      const byClass = { usage: 400, not_found: 404, conflict: 409, integrity: 500, failure: 500 };
      if (!(code in expected)) expect([code, status]).toEqual([code, byClass[errorClassOf(code)]]);
    }
  });

  it('an unexpected error becomes INTERNAL 500 without its message, stack or cause', () => {
    const err = new TypeError(`cannot read ${SENTINEL}`);
    const { status, body, known } = errorResponse(err, 'req-1');
    expect({ status, known }).toEqual({ status: 500, known: false });
    expect(body.code).toBe('INTERNAL');
    expect(body.requestId).toBe('req-1');
    expect(JSON.stringify(body)).not.toContain(SENTINEL);
    const known2 = errorResponse(new CofferError('SECRET_NOT_FOUND', 'no secret x'), 'r');
    expect(known2).toEqual({
      status: 404,
      body: {
        code: 'SECRET_NOT_FOUND',
        message: 'no secret x',
        hint: 'List what exists with `coffer list`.',
        requestId: 'r',
      },
      known: true,
    });
  });

  it('a failing store gives a 5xx with the error shape, logged as an error', async () => {
    await seed(kit, 'project/app/db_url', SENTINEL);
    await kit.storage.close();
    const a = await kit.send('GET', '/v1/secrets/project/app/db_url', { token: kit.tokens.admin });
    expect(a.status).toBeGreaterThanOrEqual(500);
    expectError(a, a.status, undefined, kit.allTokens());
    expect(a.text).not.toContain(kit.dir);
    const line = kit.logs.map((l) => JSON.parse(l)).find((l) => l.status >= 500);
    expect(line).toMatchObject({ level: 50, msg: 'request failed', code: a.json.code });
  });
});
