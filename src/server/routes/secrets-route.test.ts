/**
 * `/v1/secrets` in process: read, write with check-and-set, list (never values), delete,
 * restore, history and verify; each error status a route can give, each capability denied,
 * tokens outside their globs or environments, expired and revoked tokens.
 */
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  auditRecords,
  DESCRIPTION,
  expectError,
  type Kit,
  makeKit,
  SENTINEL,
  seed,
  withWrongSecret,
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

describe('GET /v1/secrets/{path}', () => {
  it('answers the value, version, description and creation time, and audits the read', async () => {
    await seed(kit, APP, 'postgres://v1');
    await seed(kit, APP, 'postgres://v2');
    const a = await kit.send('GET', `/v1/secrets/${APP}`, { token: kit.tokens.read });
    expect(a.status).toBe(200);
    expect(a.json).toMatchObject({
      path: APP,
      env: 'dev',
      version: 2,
      value: 'postgres://v2',
      description: DESCRIPTION,
    });
    expect(Date.parse(a.json.createdAt as string)).not.toBeNaN();
    const old = await kit.send('GET', `/v1/secrets/${APP}?version=1&env=dev`, {
      token: kit.tokens.read,
    });
    expect(old.json).toMatchObject({ version: 1, value: 'postgres://v1' });
    const reads = (await auditRecords(kit)).filter((r) => r.action === 'get');
    expect(reads.map((r) => [r.actor, r.outcome])).toEqual([
      ['token:reader@127.0.0.1', 'ok'],
      ['token:reader@127.0.0.1', 'ok'],
    ]);
  });

  it('404: no secret, no such version, a deleted secret', async () => {
    const t = { token: kit.tokens.read };
    expectError(await kit.send('GET', `/v1/secrets/${APP}`, t), 404, 'SECRET_NOT_FOUND');
    await seed(kit, APP, SENTINEL);
    const v = await kit.send('GET', `/v1/secrets/${APP}?version=7`, t);
    expectError(v, 404, 'VERSION_NOT_FOUND');
    await kit.vault.delete(APP, 'dev');
    expectError(await kit.send('GET', `/v1/secrets/${APP}`, t), 404, 'SECRET_DELETED');
  });

  it('400: bad key path, bad environment, bad or unknown or repeated query parameters', async () => {
    const t = { token: kit.tokens.admin };
    const cases: [string, string][] = [
      ['/v1/secrets/project/App/db_url', 'INVALID_PATH'],
      ['/v1/secrets/secret/app/db_url', 'INVALID_PATH'],
      [`/v1/secrets/${APP}?env=Prod`, 'INVALID_ENV'],
      [`/v1/secrets/${APP}?version=0`, 'INVALID_ARGUMENT'],
      [`/v1/secrets/${APP}?version=two`, 'INVALID_ARGUMENT'],
      [`/v1/secrets/${APP}?enviroment=prod`, 'INVALID_ARGUMENT'],
      [`/v1/secrets/${APP}?env=dev&env=prod`, 'INVALID_ARGUMENT'],
      [`/v1/secrets/${APP}?env=dev&env=dev`, 'INVALID_ARGUMENT'],
      [`/v1/secrets/${APP}?__proto__=1`, 'INVALID_ARGUMENT'],
      [`/v1/secrets/${APP}?env=dev&constructor=1`, 'INVALID_ARGUMENT'],
    ];
    for (const [url, code] of cases) expectError(await kit.send('GET', url, t), 400, code);
  });

  it('decodes query parameters (percent-encoding and +) before checking them', async () => {
    await seed(kit, APP, SENTINEL, 'prod');
    const t = { token: kit.tokens.admin };
    const encoded = await kit.send('GET', `/v1/secrets/${APP}?%65nv=pr%6Fd`, t);
    expect(encoded.status).toBe(200);
    expect(encoded.json.env).toBe('prod');
    const plus = await kit.send('GET', `/v1/secrets/${APP}?env=pr+od`, t);
    expectError(plus, 400, 'INVALID_ENV');
  });

  it('403 without read, outside the glob, outside the environments; each refusal audited', async () => {
    await seed(kit, APP, SENTINEL);
    await seed(kit, OTHER, SENTINEL);
    await seed(kit, APP, SENTINEL, 'prod');
    for (const token of [kit.tokens.list, kit.tokens.write, kit.tokens.delete]) {
      expectError(await kit.send('GET', `/v1/secrets/${APP}`, { token }), 403, 'FORBIDDEN');
    }
    const glob = await kit.send('GET', `/v1/secrets/${OTHER}`, { token: kit.tokens.app });
    expectError(glob, 403, 'FORBIDDEN');
    expect(glob.json.message).toMatch(/path not allowed/);
    const env = await kit.send('GET', `/v1/secrets/${APP}?env=prod`, { token: kit.tokens.devOnly });
    expectError(env, 403, 'FORBIDDEN');
    expect(env.json.message).toMatch(/environment not allowed/);
    // the same tokens are fine inside their policy
    expect((await kit.send('GET', `/v1/secrets/${APP}`, { token: kit.tokens.app })).status).toBe(
      200,
    );
    const denied = (await auditRecords(kit)).filter((r) => r.outcome === 'denied');
    expect(denied.map((r) => [r.actor, r.action, r.path, r.env, r.detail])).toEqual([
      ['token:lister@127.0.0.1', 'get', APP, 'dev', 'capability read not granted'],
      ['token:writer@127.0.0.1', 'get', APP, 'dev', 'capability read not granted'],
      ['token:deleter@127.0.0.1', 'get', APP, 'dev', 'capability read not granted'],
      ['token:app@127.0.0.1', 'get', OTHER, 'dev', 'path not allowed'],
      ['token:dev-only@127.0.0.1', 'get', APP, 'prod', 'environment not allowed'],
    ]);
  });

  it('401 without a token, with a malformed, unknown, expired or revoked one', async () => {
    await seed(kit, APP, SENTINEL);
    const unknown = `coffer_0123456789abcdef_${'A'.repeat(43)}`;
    const wrongSecret = withWrongSecret(kit.tokens.read);
    for (const token of [
      undefined,
      'not-a-token',
      unknown,
      wrongSecret,
      kit.tokens.expired,
      kit.tokens.revoked,
    ]) {
      const a = await kit.send('GET', `/v1/secrets/${APP}`, { token });
      expectError(a, 401, 'UNAUTHENTICATED', kit.allTokens());
    }
    const basic = await kit.send('GET', `/v1/secrets/${APP}`, {
      headers: { authorization: `Basic ${kit.tokens.read}` },
    });
    expectError(basic, 401, 'UNAUTHENTICATED', kit.allTokens());
  });
});

describe('PUT /v1/secrets/{path}', () => {
  const put = (token: string, body: unknown, query = '') =>
    kit.send('PUT', `/v1/secrets/${APP}${query}`, { token, body });

  it('creates, then adds versions; check-and-set with ifVersion', async () => {
    const created = await put(kit.tokens.write, {
      value: 'one',
      description: DESCRIPTION,
      ifVersion: 0,
    });
    expect(created.status).toBe(200);
    expect(created.json).toEqual({ path: APP, env: 'dev', version: 1, created: true });
    const second = await put(kit.tokens.write, { value: 'two', ifVersion: 1 });
    expect(second.json).toEqual({ path: APP, env: 'dev', version: 2, created: false });
    const third = await put(kit.tokens.write, { value: 'three' });
    expect(third.json).toMatchObject({ version: 3 });
    const prod = await put(kit.tokens.write, { value: 'p', description: DESCRIPTION }, '?env=prod');
    expect(prod.json).toEqual({ path: APP, env: 'prod', version: 1, created: true });
    expect((await kit.vault.get(APP, 'dev')).value).toBe('three');
    const [rec] = (await auditRecords(kit)).filter((r) => r.action === 'set');
    expect(rec).toMatchObject({ actor: 'token:writer@127.0.0.1', outcome: 'ok' });
  });

  it("stores metadata with the version (as coffer setup sends the manifest's), checked by the core", async () => {
    const metadata = {
      tier: 1,
      rotation: '365d',
      envVar: 'APP_DATABASE_URL',
      localOnly: true,
      generator: 'hex:32',
    };
    const created = await put(kit.tokens.write, {
      value: 'one',
      description: DESCRIPTION,
      ifVersion: 0,
      metadata,
    });
    expect(created.status, JSON.stringify(created.json)).toBe(200);
    const [info] = await kit.vault.list({ prefix: 'project/app' });
    expect(info).toMatchObject(metadata);
    // A version without metadata keeps the secret's; a field sent replaces only itself.
    await put(kit.tokens.write, { value: 'two' });
    await put(kit.tokens.write, { value: 'three', metadata: { tier: null, rotation: '90d' } });
    const [after] = await kit.vault.list({ prefix: 'project/app' });
    expect(after).toMatchObject({ ...metadata, tier: null, rotation: '90d', currentVersion: 3 });
    for (const bad of [
      { tier: 9 },
      { tier: '1' },
      { rotation: 'weekly' },
      { envVar: 'not a name' },
      { generator: 'token:32' },
      { localOnly: 'yes' },
      { owner: 'me' },
    ]) {
      const r = await put(kit.tokens.write, { value: SENTINEL, metadata: bad });
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(JSON.stringify(r.json)).not.toContain(SENTINEL);
    }
    expect((await kit.vault.get(APP, 'dev')).version).toBe(3);
    const sets = (await auditRecords(kit)).filter((r) => r.action === 'set');
    expect(sets.map((r) => r.outcome)).toEqual(['ok', 'ok', 'ok']);
  });

  it('400 EMPTY_VALUE for an empty value unless allowEmpty; nothing replaced', async () => {
    await seed(kit, APP, 'current');
    expectError(await put(kit.tokens.write, { value: '' }), 400, 'EMPTY_VALUE');
    expectError(await put(kit.tokens.write, { value: '', allowEmpty: false }), 400, 'EMPTY_VALUE');
    expectError(
      await put(kit.tokens.write, { value: '', allowEmpty: 'yes' }),
      400,
      'INVALID_ARGUMENT',
    );
    expect((await kit.vault.get(APP, 'dev')).value).toBe('current');
    const ok = await put(kit.tokens.write, { value: '', allowEmpty: true });
    expect(ok.json).toMatchObject({ version: 2 });
    expect((await kit.vault.get(APP, 'dev')).value).toBe('');
  });

  it('409 on a lost check-and-set, without the value in the answer', async () => {
    await seed(kit, APP, 'current');
    expectError(
      await put(kit.tokens.write, { value: SENTINEL, ifVersion: 0 }),
      409,
      'VERSION_CONFLICT',
    );
    expectError(
      await put(kit.tokens.write, { value: SENTINEL, ifVersion: 5 }),
      409,
      'VERSION_CONFLICT',
    );
    expect((await kit.vault.get(APP, 'dev')).value).toBe('current');
  });

  it('400: missing description on create, wrong types, unknown fields, bad JSON or UTF-8', async () => {
    const w = kit.tokens.write;
    expectError(await put(w, { value: SENTINEL }), 400, 'INVALID_DESCRIPTION');
    for (const body of [
      { value: 42, description: DESCRIPTION },
      { description: DESCRIPTION },
      { value: SENTINEL, description: DESCRIPTION, ifVersion: -1 },
      { value: SENTINEL, description: DESCRIPTION, ifVersion: 1.5 },
      { value: SENTINEL, description: DESCRIPTION, ifVersion: '1' },
      { value: SENTINEL, description: DESCRIPTION, extra: true },
      [SENTINEL],
      null,
    ]) {
      expectError(await put(w, body), 400, 'INVALID_ARGUMENT');
    }
    const json = { 'content-type': 'application/json' };
    const raw = (body: string | Uint8Array) =>
      kit.send('PUT', `/v1/secrets/${APP}`, { token: w, body, headers: json });
    expectError(await raw(`{"value": "${SENTINEL}"`), 400, 'INVALID_ARGUMENT');
    expectError(await raw(''), 400, 'INVALID_ARGUMENT');
    const badUtf8 = new Uint8Array([
      ...Buffer.from('{"value":"'),
      0xc3,
      0x28,
      ...Buffer.from('"}'),
    ]);
    const u = await raw(badUtf8);
    expectError(u, 400, 'INVALID_ARGUMENT');
    expect(u.json.message).toMatch(/UTF-8/);
    const tooLongDescription = { value: SENTINEL, description: 'x'.repeat(1001) };
    expectError(await put(w, tooLongDescription), 400, 'INVALID_ARGUMENT');
    expect(await kit.vault.list({})).toEqual([]);
  });

  it('400 for an unpaired surrogate, which has no UTF-8 form (it would read back changed)', async () => {
    for (const value of ['\ud800', 'a\udc00b', '\udbff\udbff']) {
      const body = JSON.stringify({ value, description: DESCRIPTION });
      const a = await kit.send('PUT', `/v1/secrets/${APP}`, {
        token: kit.tokens.write,
        body,
        headers: { 'content-type': 'application/json' },
      });
      expectError(a, 400, 'INVALID_ARGUMENT');
      expect(a.json.message).toMatch(/unpaired surrogate/);
    }
    expect(await kit.vault.list({})).toEqual([]);
  });

  it('any well-formed value reads back exactly as it was written (property)', async () => {
    // Well-formed: no lone surrogate, no NUL (refused on input: no program could receive it).
    const value = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }).map((v) => v.replaceAll('\u0000', '')),
      fc.string({ unit: 'grapheme', maxLength: 20 }).map((v) => v.replaceAll('\u0000', '')),
      fc.constantFrom(
        '',
        ' ',
        '\n',
        '\ufeff',
        '\ufeffabc',
        '"}',
        '\ud83d\ude00',
        '\u2028',
        'a\r\nb',
      ),
    );
    let version = 0;
    await fc.assert(
      fc.asyncProperty(value, async (v) => {
        const put = await kit.send('PUT', `/v1/secrets/${APP}`, {
          token: kit.tokens.admin,
          body: { value: v, description: DESCRIPTION, ifVersion: version, allowEmpty: true },
        });
        expect(put.status).toBe(200);
        version = put.json.version as number;
        const get = await kit.send('GET', `/v1/secrets/${APP}`, { token: kit.tokens.admin });
        expect(get.json).toMatchObject({ value: v, version });
      }),
      { numRuns: 60 },
    );
  });

  it('415 when the body is not application/json', async () => {
    const body = JSON.stringify({ value: SENTINEL, description: DESCRIPTION });
    for (const headers of [
      {},
      { 'content-type': 'text/plain' },
      { 'content-type': 'application/jsonx' },
    ]) {
      const a = await kit.send('PUT', `/v1/secrets/${APP}`, {
        token: kit.tokens.write,
        body,
        headers,
      });
      expectError(a, 415, 'UNSUPPORTED_MEDIA_TYPE');
    }
  });

  it('413: a value over 64 KiB, and a body over the limit', async () => {
    const big = await put(kit.tokens.write, {
      value: 'v'.repeat(64 * 1024 + 1),
      description: DESCRIPTION,
    });
    expectError(big, 413, 'VALUE_TOO_LARGE');
    expect(big.text.length).toBeLessThan(1000);
    const huge = await put(kit.tokens.write, {
      value: 'v'.repeat(600 * 1024),
      description: DESCRIPTION,
    });
    expectError(huge, 413, 'VALUE_TOO_LARGE');
    expect(huge.json.message).toMatch(/over 524288 bytes/);
  });

  it('403 without write, outside the glob or environments, before the body is read', async () => {
    const body = { value: SENTINEL, description: DESCRIPTION };
    for (const token of [kit.tokens.read, kit.tokens.list, kit.tokens.delete]) {
      expectError(await put(token, body), 403, 'FORBIDDEN');
    }
    const glob = await kit.send('PUT', `/v1/secrets/${OTHER}`, { token: kit.tokens.app, body });
    expectError(glob, 403, 'FORBIDDEN');
    expectError(await put(kit.tokens.devOnly, body, '?env=prod'), 403, 'FORBIDDEN');
    // refused before the body: a refused token learns nothing from a malformed body
    const bad = await kit.send('PUT', `/v1/secrets/${APP}`, {
      token: kit.tokens.read,
      body: '{not json',
      headers: { 'content-type': 'application/json' },
    });
    expectError(bad, 403, 'FORBIDDEN');
    expect(await kit.vault.list({})).toEqual([]);
    const denied = (await auditRecords(kit)).filter((r) => r.outcome === 'denied');
    expect(denied.map((r) => r.action)).toEqual(['set', 'set', 'set', 'set', 'set', 'set']);
  });

  it('401 with an expired or revoked admin token', async () => {
    for (const token of [kit.tokens.expired, kit.tokens.revoked]) {
      expectError(
        await put(token, { value: SENTINEL, description: DESCRIPTION }),
        401,
        'UNAUTHENTICATED',
      );
    }
  });
});

describe('GET /v1/secrets (list)', () => {
  beforeEach(async () => {
    await seed(kit, APP, SENTINEL);
    await seed(kit, 'project/app/api_key', SENTINEL);
    await seed(kit, APP, SENTINEL, 'prod');
    await seed(kit, OTHER, SENTINEL);
    await seed(kit, 'meta/stripe/secret_key', SENTINEL);
    await kit.vault.delete('project/app/api_key', 'dev');
  });

  const keys = (items: unknown) =>
    (items as { path: string; env: string }[]).map((i) => `${i.path}@${i.env}`).sort();

  it('lists metadata, never values, filtered to the prefix and environment', async () => {
    const all = await kit.send('GET', '/v1/secrets', { token: kit.tokens.list });
    expect(all.status).toBe(200);
    expect(all.text).not.toContain(SENTINEL);
    expect(keys(all.json.items)).toEqual([
      'meta/stripe/secret_key@dev',
      `${APP}@dev`,
      `${APP}@prod`,
      `${OTHER}@dev`,
    ]);
    const item = (all.json.items as Record<string, unknown>[])[0]!;
    expect(Object.keys(item).sort()).toEqual(
      [
        'path',
        'env',
        'description',
        'currentVersion',
        'tier',
        'rotation',
        'envVar',
        'localOnly',
        'generator',
        'createdAt',
        'updatedAt',
        'deletedAt',
      ].sort(),
    );
    const app = await kit.send('GET', '/v1/secrets?prefix=project/app&env=dev', {
      token: kit.tokens.list,
    });
    expect(keys(app.json.items)).toEqual([`${APP}@dev`]);
    const deleted = await kit.send('GET', '/v1/secrets?prefix=project/app&includeDeleted=true', {
      token: kit.tokens.list,
    });
    expect(keys(deleted.json.items)).toEqual([
      `project/app/api_key@dev`,
      `${APP}@dev`,
      `${APP}@prod`,
    ]);
  });

  it("shows only what the token's globs and environments allow", async () => {
    const app = await kit.send('GET', '/v1/secrets', { token: kit.tokens.app });
    expect(keys(app.json.items)).toEqual([`${APP}@dev`, `${APP}@prod`]);
    const dev = await kit.send('GET', '/v1/secrets', { token: kit.tokens.devOnly });
    expect(keys(dev.json.items)).toEqual([
      'meta/stripe/secret_key@dev',
      `${APP}@dev`,
      `${OTHER}@dev`,
    ]);
  });

  it('403 without list, for a prefix outside the glob, for an environment not granted', async () => {
    for (const token of [kit.tokens.read, kit.tokens.write, kit.tokens.delete]) {
      expectError(await kit.send('GET', '/v1/secrets', { token }), 403, 'FORBIDDEN');
    }
    const outside = await kit.send('GET', '/v1/secrets?prefix=project/other', {
      token: kit.tokens.app,
    });
    expectError(outside, 403, 'FORBIDDEN');
    const env = await kit.send('GET', '/v1/secrets?env=prod', { token: kit.tokens.devOnly });
    expectError(env, 403, 'FORBIDDEN');
  });

  it('400 on a bad prefix, environment or flag, or an unknown parameter', async () => {
    const t = { token: kit.tokens.list };
    for (const [q, code] of [
      ['prefix=secrets/app', 'INVALID_PATH'],
      ['prefix=project/app/db_url', 'INVALID_PATH'],
      ['env=PROD', 'INVALID_ENV'],
      ['includeDeleted=yes', 'INVALID_ARGUMENT'],
      ['values=true', 'INVALID_ARGUMENT'],
    ] as const) {
      expectError(await kit.send('GET', `/v1/secrets?${q}`, t), 400, code);
    }
  });
});

describe('DELETE /v1/secrets/{path} and POST .../restore', () => {
  it('deletes softly and restores; both audited as the token', async () => {
    await seed(kit, APP, 'kept');
    const del = await kit.send('DELETE', `/v1/secrets/${APP}`, { token: kit.tokens.delete });
    expect(del.status).toBe(200);
    expect(del.json).toEqual({ path: APP, env: 'dev', deleted: true });
    expectError(await kit.send('GET', `/v1/secrets/${APP}`, { token: kit.tokens.read }), 404);
    const res = await kit.send('POST', `/v1/secrets/${APP}/restore`, { token: kit.tokens.delete });
    expect(res.json).toEqual({ path: APP, env: 'dev', restored: true });
    const back = await kit.send('GET', `/v1/secrets/${APP}`, { token: kit.tokens.read });
    expect(back.json).toMatchObject({ value: 'kept', version: 1 });
    const actions = (await auditRecords(kit))
      .filter((r) => r.action === 'delete' || r.action === 'restore')
      .map((r) => [r.action, r.actor, r.outcome]);
    expect(actions).toEqual([
      ['delete', 'token:deleter@127.0.0.1', 'ok'],
      ['restore', 'token:deleter@127.0.0.1', 'ok'],
    ]);
  });

  it('404 for a secret that does not exist', async () => {
    const t = { token: kit.tokens.delete };
    expectError(await kit.send('DELETE', `/v1/secrets/${APP}`, t), 404, 'SECRET_NOT_FOUND');
    const r = await kit.send('POST', `/v1/secrets/${APP}/restore`, t);
    expectError(r, 404, 'SECRET_NOT_FOUND');
  });

  it('403 without delete, outside the glob or environments', async () => {
    await seed(kit, APP, SENTINEL);
    await seed(kit, OTHER, SENTINEL);
    for (const [method, suffix] of [
      ['DELETE', ''],
      ['POST', '/restore'],
    ] as const) {
      for (const token of [kit.tokens.read, kit.tokens.list, kit.tokens.write]) {
        expectError(
          await kit.send(method, `/v1/secrets/${APP}${suffix}`, { token }),
          403,
          'FORBIDDEN',
        );
      }
      const glob = await kit.send(method, `/v1/secrets/${OTHER}${suffix}`, {
        token: kit.tokens.app,
      });
      expectError(glob, 403, 'FORBIDDEN');
      const env = await kit.send(method, `/v1/secrets/${APP}${suffix}?env=prod`, {
        token: kit.tokens.devOnly,
      });
      expectError(env, 403, 'FORBIDDEN');
    }
    expect((await kit.vault.get(APP, 'dev')).version).toBe(1);
  });

  it('400 on a bad environment; 401 for an expired or revoked token', async () => {
    await seed(kit, APP, SENTINEL);
    expectError(
      await kit.send('DELETE', `/v1/secrets/${APP}?env=../prod`, { token: kit.tokens.delete }),
      400,
      'INVALID_ENV',
    );
    for (const token of [kit.tokens.expired, kit.tokens.revoked]) {
      expectError(await kit.send('DELETE', `/v1/secrets/${APP}`, { token }), 401);
      expectError(await kit.send('POST', `/v1/secrets/${APP}/restore`, { token }), 401);
    }
  });
});

describe('GET /v1/secrets/{path}/history and /verify', () => {
  it('history lists versions with their actors, never values', async () => {
    await seed(kit, APP, SENTINEL);
    await kit.send('PUT', `/v1/secrets/${APP}`, {
      token: kit.tokens.write,
      body: { value: `${SENTINEL}-2` },
    });
    const h = await kit.send('GET', `/v1/secrets/${APP}/history`, { token: kit.tokens.list });
    expect(h.status).toBe(200);
    expect(h.text).not.toContain(SENTINEL);
    expect(h.json).toMatchObject({ path: APP, env: 'dev' });
    const versions = h.json.versions as { version: number; actor: string; kekId: string }[];
    expect(versions.map((v) => [v.version, v.actor])).toEqual([
      [1, 'serve'],
      [2, 'token:writer@127.0.0.1'],
    ]);
  });

  it('verify decrypts every version and reports a tampered one (and get answers 500)', async () => {
    await seed(kit, APP, SENTINEL);
    await seed(kit, APP, `${SENTINEL}-2`);
    const ok = await kit.send('GET', `/v1/secrets/${APP}/verify`, { token: kit.tokens.read });
    expect(ok.json).toEqual({ ok: true, checked: 2, failures: [], keyFailures: [] });
    const db = new Database(kit.file);
    try {
      db.prepare('UPDATE secret_versions SET ciphertext = ? WHERE path = ? AND version = 2').run(
        Buffer.alloc(48, 7),
        APP,
      );
    } finally {
      db.close();
    }
    const bad = await kit.send('GET', `/v1/secrets/${APP}/verify`, { token: kit.tokens.read });
    expect(bad.status).toBe(200);
    expect(bad.json).toMatchObject({ ok: false, checked: 2 });
    expect(bad.json.failures).toEqual([
      { path: APP, env: 'dev', version: 2, ok: false, code: expect.stringMatching(/^[A-Z_]+$/) },
    ]);
    const get = await kit.send('GET', `/v1/secrets/${APP}`, { token: kit.tokens.read });
    expectError(get, 500);
    expect(get.json.code).not.toBe('INTERNAL');
  });

  it('404 for a missing secret; 403 without the capability, outside glob or environments', async () => {
    expectError(
      await kit.send('GET', `/v1/secrets/${APP}/history`, { token: kit.tokens.list }),
      404,
      'SECRET_NOT_FOUND',
    );
    expectError(
      await kit.send('GET', `/v1/secrets/${APP}/verify`, { token: kit.tokens.read }),
      404,
      'SECRET_NOT_FOUND',
    );
    await seed(kit, OTHER, SENTINEL);
    await seed(kit, APP, SENTINEL, 'prod');
    const cases: [string, string, string][] = [
      [`/v1/secrets/${APP}/history?env=prod`, kit.tokens.read, 'capability list'],
      [`/v1/secrets/${APP}/verify?env=prod`, kit.tokens.list, 'capability read'],
      [`/v1/secrets/${OTHER}/history`, kit.tokens.app, 'path'],
      [`/v1/secrets/${OTHER}/verify`, kit.tokens.app, 'path'],
      [`/v1/secrets/${APP}/history?env=prod`, kit.tokens.devOnly, 'environment'],
      [`/v1/secrets/${APP}/verify?env=prod`, kit.tokens.devOnly, 'environment'],
    ];
    for (const [url, token, why] of cases) {
      const a = await kit.send('GET', url, { token });
      expectError(a, 403, 'FORBIDDEN');
      expect(a.json.message).toContain(why);
    }
    for (const token of [kit.tokens.expired, kit.tokens.revoked]) {
      expectError(await kit.send('GET', `/v1/secrets/${OTHER}/history`, { token }), 401);
      expectError(await kit.send('GET', `/v1/secrets/${OTHER}/verify`, { token }), 401);
    }
  });
});
