/**
 * `POST /v1/secrets/{path}/check-set` in process: the check `coffer set` in remote mode makes
 * before it asks for the value. It answers as the set would (same code and message) for what
 * the stored secret decides, stores nothing, takes no value, and is authorized and audited
 * exactly as the PUT of the same path and environment.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  auditRecords,
  DESCRIPTION,
  expectError,
  type Kit,
  makeKit,
  SENTINEL,
  seed,
} from '../../../test/helpers/server-kit.js';

const APP = 'project/app/db_url';
const OTHER = 'project/other/db_url';

let kit: Kit;
beforeEach(async () => {
  kit = await makeKit();
});
afterEach(async () => {
  await kit.dispose();
});

const check = (token: string | undefined, body: unknown, path = APP, query = '') =>
  kit.send('POST', `/v1/secrets/${path}/check-set${query}`, { token, body });
const put = (token: string, body: unknown, path = APP, query = '') =>
  kit.send('PUT', `/v1/secrets/${path}${query}`, { token, body });
/** An error answer without its request id, to compare two answers. */
const error = (a: { status: number; json: Record<string, unknown> }) => ({
  status: a.status,
  code: a.json.code,
  message: a.json.message,
});

describe('POST /v1/secrets/{path}/check-set', () => {
  it('passes what a set would accept, stores nothing, and audits each check', async () => {
    const w = kit.tokens.write;
    const fresh = await check(w, { description: DESCRIPTION });
    expect(fresh.status).toBe(200);
    expect(fresh.json).toEqual({ path: APP, env: 'dev', checked: true });
    expect((await check(w, { description: DESCRIPTION, ifVersion: 0 })).status).toBe(200);
    const prod = await check(w, { description: DESCRIPTION }, APP, '?env=prod');
    expect(prod.json).toEqual({ path: APP, env: 'prod', checked: true });
    expect(await kit.vault.list({})).toEqual([]);
    // An existing secret needs no description; a deleted one is revived by a set.
    await seed(kit, APP, SENTINEL);
    expect((await check(w, {})).json).toEqual({ path: APP, env: 'dev', checked: true });
    expect((await check(w, { ifVersion: 1 })).status).toBe(200);
    await kit.vault.delete(APP, 'dev');
    expect((await check(w, { ifVersion: 1 })).status).toBe(200);
    // Each check is on the record (it tells the token whether the secret exists).
    const records = (await auditRecords(kit))
      .filter((r) => r.actor.startsWith('token:'))
      .map((r) => [r.action, r.path, r.env, r.outcome]);
    expect(records).toEqual([
      ['check_set', APP, 'dev', 'ok'],
      ['check_set', APP, 'dev', 'ok'],
      ['check_set', APP, 'prod', 'ok'],
      ['check_set', APP, 'dev', 'ok'],
      ['check_set', APP, 'dev', 'ok'],
      ['check_set', APP, 'dev', 'ok'],
    ]);
  });

  it('refuses with the error the set would get: no description for a new secret, a stale ifVersion', async () => {
    const w = kit.tokens.write;
    const missing = await check(w, {});
    expectError(missing, 400, 'INVALID_DESCRIPTION');
    expect(missing.json.message).toBe(`a description is required to create ${APP}`);
    expect(error(missing)).toEqual(error(await put(w, { value: SENTINEL })));
    const short = await check(w, { description: 'API key' });
    expectError(short, 400, 'INVALID_DESCRIPTION');
    expect(error(short)).toEqual(error(await put(w, { value: SENTINEL, description: 'API key' })));
    const ahead = await check(w, { description: DESCRIPTION, ifVersion: 1 });
    expectError(ahead, 409, 'VERSION_CONFLICT');
    expect(ahead.json.message).toBe(`${APP} (dev) is at version 0, not 1`);
    await seed(kit, APP, 'current');
    const stale = await check(w, { ifVersion: 0 }, APP);
    expectError(stale, 409, 'VERSION_CONFLICT');
    expect(error(stale)).toEqual(error(await put(w, { value: SENTINEL, ifVersion: 0 })));
    expect((await kit.vault.get(APP, 'dev')).value).toBe('current');
    // Each refusal is audited as the set's own refusal is, the check's as `check_set` (a
    // description the grammar refuses is not, for the check as for the set).
    const refusals = (await auditRecords(kit))
      .filter((r) => r.outcome !== 'ok' && r.actor.startsWith('token:'))
      .map((r) => [r.action, r.actor, r.path, r.env, r.outcome, r.detail]);
    const refused = (action: string, outcome: string, detail: string) => [
      action,
      'token:writer@127.0.0.1',
      APP,
      'dev',
      outcome,
      detail,
    ];
    expect(refusals).toEqual([
      refused('check_set', 'invalid', 'INVALID_DESCRIPTION'),
      refused('set', 'invalid', 'INVALID_DESCRIPTION'),
      refused('check_set', 'conflict', 'VERSION_CONFLICT'), // ifVersion 1 of nothing
      refused('check_set', 'conflict', 'VERSION_CONFLICT'), // stale
      refused('set', 'conflict', 'VERSION_CONFLICT'), // stale
    ]);
  });

  it('403 without write, outside the glob or the environments, before the body is read; each refusal audited as a denied set', async () => {
    await seed(kit, OTHER, SENTINEL);
    await seed(kit, APP, SENTINEL, 'prod');
    const body = { description: DESCRIPTION };
    for (const token of [kit.tokens.read, kit.tokens.list, kit.tokens.delete]) {
      expectError(await check(token, body), 403, 'FORBIDDEN', kit.allTokens());
    }
    const glob = await check(kit.tokens.app, body, OTHER);
    expectError(glob, 403, 'FORBIDDEN');
    expect(glob.json.message).toMatch(/path not allowed/);
    // A token outside its glob learns nothing about what is there: the same answer for a
    // secret that exists and one that does not.
    const absent = await check(kit.tokens.app, {}, 'project/other/nothing_here');
    expect(error(absent)).toEqual({ ...error(glob), message: expect.any(String) });
    expect(absent.json.message).toBe(
      (glob.json.message as string).replace(OTHER, 'project/other/nothing_here'),
    );
    const env = await check(kit.tokens.devOnly, { ifVersion: 5 }, APP, '?env=prod');
    expectError(env, 403, 'FORBIDDEN');
    expect(env.json.message).toMatch(/environment not allowed/);
    // refused before the body: a refused token learns nothing from a malformed body
    const bad = await kit.send('POST', `/v1/secrets/${APP}/check-set`, {
      token: kit.tokens.read,
      body: '{not json',
      headers: { 'content-type': 'application/json' },
    });
    expectError(bad, 403, 'FORBIDDEN');
    // the same tokens pass inside their policy
    expect((await check(kit.tokens.app, body)).status).toBe(200);
    expect((await check(kit.tokens.devOnly, body)).status).toBe(200);
    const denied = (await auditRecords(kit)).filter((r) => r.outcome === 'denied');
    expect(denied.map((r) => [r.actor, r.action, r.path, r.env, r.detail])).toEqual([
      ['token:reader@127.0.0.1', 'set', APP, 'dev', 'capability write not granted'],
      ['token:lister@127.0.0.1', 'set', APP, 'dev', 'capability write not granted'],
      ['token:deleter@127.0.0.1', 'set', APP, 'dev', 'capability write not granted'],
      ['token:app@127.0.0.1', 'set', OTHER, 'dev', 'path not allowed'],
      ['token:app@127.0.0.1', 'set', 'project/other/nothing_here', 'dev', 'path not allowed'],
      ['token:dev-only@127.0.0.1', 'set', APP, 'prod', 'environment not allowed'],
      ['token:reader@127.0.0.1', 'set', APP, 'dev', 'capability write not granted'],
    ]);
    // Refusals, like the PUT's: the same code, message and audit record.
    const putDenied = await put(kit.tokens.app, { value: SENTINEL, ...body }, OTHER);
    expect(error(putDenied)).toEqual(error(glob));
  });

  it('401 without a token, or with an expired or revoked one', async () => {
    for (const token of [undefined, 'not-a-token', kit.tokens.expired, kit.tokens.revoked]) {
      expectError(
        await check(token, { description: DESCRIPTION }),
        401,
        'UNAUTHENTICATED',
        kit.allTokens(),
      );
    }
  });

  it('400 for a malformed request, in the usual error shape; a value is refused, never echoed', async () => {
    const w = kit.tokens.write;
    for (const body of [
      { value: SENTINEL },
      { value: SENTINEL, description: DESCRIPTION },
      { description: DESCRIPTION, allowEmpty: true },
      { description: 42 },
      { description: 'x'.repeat(1001) },
      { ifVersion: -1 },
      { ifVersion: 1.5 },
      { ifVersion: '1' },
      { ifVersion: null },
      [SENTINEL],
      SENTINEL,
      null,
    ]) {
      const a = await kit.send('POST', `/v1/secrets/${APP}/check-set`, {
        token: w,
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      });
      expectError(a, 400, 'INVALID_ARGUMENT');
    }
    const raw = (body: string | Uint8Array, headers = { 'content-type': 'application/json' }) =>
      kit.send('POST', `/v1/secrets/${APP}/check-set`, { token: w, body, headers });
    expectError(await raw(`{"description": "${SENTINEL}"`), 400, 'INVALID_ARGUMENT');
    expectError(await raw(''), 400, 'INVALID_ARGUMENT');
    const badUtf8 = new Uint8Array([
      ...Buffer.from('{"description":"'),
      0xc3,
      0x28,
      ...Buffer.from('"}'),
    ]);
    expectError(await raw(badUtf8), 400, 'INVALID_ARGUMENT');
    expectError(await raw('{}', { 'content-type': 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    const cases: [string, string][] = [
      ['/v1/secrets/project/App/db_url/check-set', 'INVALID_PATH'],
      ['/v1/secrets/secret/app/db_url/check-set', 'INVALID_PATH'],
      [`/v1/secrets/${APP}/check-set?env=Prod`, 'INVALID_ENV'],
      [`/v1/secrets/${APP}/check-set?value=${SENTINEL}`, 'INVALID_ARGUMENT'],
      [`/v1/secrets/${APP}/check-set?env=dev&env=prod`, 'INVALID_ARGUMENT'],
    ];
    for (const [url, code] of cases) {
      expectError(await kit.send('POST', url, { token: w, body: {} }), 400, code);
    }
    expect(await kit.vault.list({})).toEqual([]);
    expect(kit.logs.join('\n')).not.toContain(SENTINEL);
  });

  it('only POST: another method on the route is an unknown route', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const a = await kit.send(method, `/v1/secrets/${APP}/check-set`, {
        token: kit.tokens.admin,
        ...(method === 'GET' ? {} : { body: {} }),
      });
      expectError(a, 404, 'ROUTE_NOT_FOUND');
    }
  });
});
