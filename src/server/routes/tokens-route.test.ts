/**
 * `/v1/tokens` in process (admin only): list without hashes, create (the token shown once,
 * usable at once), revoke (refused at once on this server), and their errors.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  auditRecords,
  expectError,
  type Kit,
  makeKit,
  SENTINEL,
  secretOf,
  seed,
} from '../../../test/helpers/server-kit.js';
import { MAX_GLOB_LENGTH, MAX_GLOBS } from '../../core/access/globs.js';
import { createToken } from '../../core/access/tokens.js';
import type { CofferError } from '../../core/errors.js';

let kit: Kit;
beforeEach(async () => {
  kit = await makeKit();
});
afterEach(async () => {
  await kit.dispose();
});

const REQUEST = { name: 'deploy', allow: ['project/app/*'], envs: ['prod'], caps: ['read'] };

describe('GET /v1/tokens', () => {
  it('lists every token with its policy, never a token string or hash', async () => {
    const a = await kit.send('GET', '/v1/tokens', { token: kit.tokens.admin });
    expect(a.status).toBe(200);
    const items = a.json.items as Record<string, unknown>[];
    // Looking at the tokens is audited, with how many were shown.
    expect((await auditRecords(kit)).at(-1)).toMatchObject({
      action: 'token_list',
      outcome: 'ok',
      actor: 'token:admin@127.0.0.1',
      detail: `${items.length} tokens`,
    });
    expect(items.map((i) => i.name).sort()).toEqual(
      [
        'admin',
        'reader',
        'lister',
        'writer',
        'deleter',
        'app',
        'dev-only',
        'expired',
        'revoked',
      ].sort(),
    );
    for (const item of items) {
      expect(Object.keys(item).sort()).toEqual(
        [
          'allow',
          'caps',
          'createdAt',
          'envs',
          'expiresAt',
          'id',
          'name',
          'noReveal',
          'revokedAt',
        ].sort(),
      );
    }
    expect(items.find((i) => i.name === 'app')).toMatchObject({
      allow: ['project/app/*'],
      envs: [],
      caps: ['read', 'list', 'write', 'delete'],
      expiresAt: null,
      revokedAt: null,
    });
    expect(items.find((i) => i.name === 'revoked')?.revokedAt).toEqual(expect.any(String));
    for (const token of kit.allTokens()) {
      expect(a.text).not.toContain(secretOf(token));
    }
    expect(a.text).not.toMatch(/"hash"|[0-9a-f]{64}/);
  });
});

describe('POST /v1/tokens', () => {
  it('creates a token that works at once within its policy, and audits it', async () => {
    const before = Date.now();
    const a = await kit.send('POST', '/v1/tokens', {
      token: kit.tokens.admin,
      body: { ...REQUEST, ttl: '30d' },
    });
    expect(a.status).toBe(201);
    expect(Object.keys(a.json).sort()).toEqual(['expiresAt', 'name', 'token']);
    expect(a.json.name).toBe('deploy');
    expect(a.json.token).toMatch(/^coffer_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const ttl = Date.parse(a.json.expiresAt as string) - before;
    expect(ttl).toBeGreaterThanOrEqual(30 * 86_400_000 - 60_000);
    expect(ttl).toBeLessThanOrEqual(30 * 86_400_000 + 60_000);
    await seed(kit, 'project/app/db_url', 'prod-url', 'prod');
    const token = a.json.token as string;
    const read = await kit.send('GET', '/v1/secrets/project/app/db_url?env=prod', { token });
    expect(read.json).toMatchObject({ value: 'prod-url' });
    const dev = await kit.send('GET', '/v1/secrets/project/app/db_url', { token });
    expectError(dev, 403, 'FORBIDDEN');
    const created = (await auditRecords(kit)).filter((r) => r.action === 'token_create').at(-1);
    expect(created).toMatchObject({ actor: 'token:admin@127.0.0.1', detail: 'deploy' });
    const records = JSON.stringify(await auditRecords(kit));
    expect(records).not.toContain(secretOf(token));
  });

  it('a token without ttl never expires', async () => {
    const a = await kit.send('POST', '/v1/tokens', { token: kit.tokens.admin, body: REQUEST });
    expect(a.json.expiresAt).toBeNull();
  });

  it('409 for a name in use, revoked or not', async () => {
    for (const name of ['reader', 'revoked']) {
      const a = await kit.send('POST', '/v1/tokens', {
        token: kit.tokens.admin,
        body: { ...REQUEST, name },
      });
      expectError(a, 409, 'ALREADY_EXISTS');
      // Revoking the holder frees no name: the hint says so, never "revoke it first".
      expect(a.json.hint).toBe(
        "Choose another name: a revoked token's name stays taken, so that the audit log keeps one meaning per name.",
      );
    }
  });

  it('400 for a bad name, glob, environment, capability, ttl or shape', async () => {
    const bodies: [Record<string, unknown>, string][] = [
      [{ ...REQUEST, name: 'Deploy Bot' }, 'INVALID_ARGUMENT'],
      [{ ...REQUEST, name: '' }, 'INVALID_ARGUMENT'],
      [{ ...REQUEST, allow: [] }, 'INVALID_ARGUMENT'],
      [{ ...REQUEST, allow: ['secrets/../*'] }, 'USAGE'],
      [{ ...REQUEST, allow: ['project/app'] }, 'USAGE'],
      [{ ...REQUEST, envs: ['Prod'] }, 'INVALID_ENV'],
      [{ ...REQUEST, caps: ['root'] }, 'INVALID_ARGUMENT'],
      [{ ...REQUEST, caps: [] }, 'INVALID_ARGUMENT'],
      [{ ...REQUEST, ttl: '30 days' }, 'INVALID_ARGUMENT'],
      [{ ...REQUEST, ttl: '99999w' }, 'INVALID_ARGUMENT'],
      [{ ...REQUEST, ttl: 30 }, 'INVALID_ARGUMENT'],
      [{ ...REQUEST, hash: SENTINEL }, 'INVALID_ARGUMENT'],
      [{ name: 'deploy' }, 'INVALID_ARGUMENT'],
    ];
    for (const [body, code] of bodies) {
      const a = await kit.send('POST', '/v1/tokens', { token: kit.tokens.admin, body });
      expectError(a, 400, code);
    }
    const raw = await kit.send('POST', '/v1/tokens', {
      token: kit.tokens.admin,
      body: '{"name":',
      headers: { 'content-type': 'application/json' },
    });
    expectError(raw, 400, 'INVALID_ARGUMENT');
    const form = await kit.send('POST', '/v1/tokens', {
      token: kit.tokens.admin,
      body: 'name=deploy',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expectError(form, 415, 'UNSUPPORTED_MEDIA_TYPE');
    const huge = await kit.send('POST', '/v1/tokens', {
      token: kit.tokens.admin,
      body: { ...REQUEST, allow: ['x'.repeat(600 * 1024)] },
    });
    expectError(huge, 413, 'VALUE_TOO_LARGE');
    const list = await kit.send('GET', '/v1/tokens', { token: kit.tokens.admin });
    expect((list.json.items as unknown[]).length).toBe(9);
  });
});

describe('POST /v1/tokens with costly globs (security review)', () => {
  it('400 INVALID_ARGUMENT with a hint for globs no key path can match', async () => {
    for (const allow of [
      ['**/a/b/c/d'],
      [`project/app/${'a'.repeat(101)}`],
      [`project/${'*/**/'.repeat(10)}*`],
    ]) {
      const a = await kit.send('POST', '/v1/tokens', {
        token: kit.tokens.admin,
        body: { ...REQUEST, allow },
      });
      expectError(a, 400, 'INVALID_ARGUMENT');
      expect(a.json.message).toMatch(/can never match a key path/);
    }
  });

  it('takes the globs coffer token create takes, and refuses the rest with the same code', async () => {
    // A 409-character glob: each segment 100 characters besides `*`, so core takes it; the
    // API once capped globs at 200 characters of its own.
    const long = `project/${'a*'.repeat(100)}/${'b*'.repeat(100)}`;
    const tooLong = `project/app/${'*'.repeat(MAX_GLOB_LENGTH)}`;
    const cases: [string, string[]][] = [
      ['long', [long]],
      ['too-long', [tooLong]],
      ['too-many', Array.from({ length: MAX_GLOBS + 1 }, (_, i) => `project/p${i}/*`)],
    ];
    for (const [name, allow] of cases) {
      const local = await createToken(kit.vault, { name: `cli-${name}`, allow, caps: ['read'] })
        .then(() => 'ok')
        .catch((err: CofferError) => err.code);
      const a = await kit.send('POST', '/v1/tokens', {
        token: kit.tokens.admin,
        body: { name: `api-${name}`, allow, caps: ['read'] },
      });
      expect([name, a.status === 201 ? 'ok' : a.json.code]).toEqual([name, local]);
    }
    const refused = await kit.send('POST', '/v1/tokens', {
      token: kit.tokens.admin,
      body: { name: 'too-long', allow: [tooLong], caps: ['read'] },
    });
    expectError(refused, 400, 'INVALID_ARGUMENT');
    expect(refused.json.message).toContain(`${MAX_GLOB_LENGTH} characters`);
  });

  it('the review example is stored merged (**/zz) and checked in a few steps per request', async () => {
    const glob = `${'**/'.repeat(66)}zz`;
    const a = await kit.send('POST', '/v1/tokens', {
      token: kit.tokens.admin,
      body: { name: 'slow2', allow: Array(64).fill(glob), caps: ['list'] },
    });
    expect(a.status).toBe(201);
    const list = await kit.send('GET', '/v1/tokens', { token: kit.tokens.admin });
    const slow = (list.json.items as { name: string; allow: string[] }[]).find(
      (t) => t.name === 'slow2',
    );
    expect(new Set(slow?.allow)).toEqual(new Set(['**/zz']));
    const history = await kit.send('GET', '/v1/secrets/project/app/stripe_key/history', {
      token: a.json.token as string,
    });
    expectError(history, 403, 'FORBIDDEN');
  });
});

describe('DELETE /v1/tokens/{name}', () => {
  it('revokes; the token is refused at once even though it was just used (cached)', async () => {
    await seed(kit, 'project/app/db_url', SENTINEL);
    const url = '/v1/secrets/project/app/db_url';
    expect((await kit.send('GET', url, { token: kit.tokens.read })).status).toBe(200);
    const a = await kit.send('DELETE', '/v1/tokens/reader', { token: kit.tokens.admin });
    expect(a.status).toBe(200);
    expect(a.json).toEqual({ name: 'reader', revoked: true });
    expectError(await kit.send('GET', url, { token: kit.tokens.read }), 401, 'UNAUTHENTICATED');
    // revoking again keeps the first revocation
    const again = await kit.send('DELETE', '/v1/tokens/reader', { token: kit.tokens.admin });
    expect(again.json).toEqual({ name: 'reader', revoked: true });
    const revoke = (await auditRecords(kit)).filter((r) => r.action === 'token_revoke');
    expect(revoke.at(-1)).toMatchObject({ actor: 'token:admin@127.0.0.1', detail: 'reader' });
  });

  it('an admin token may revoke itself, and is then refused', async () => {
    const a = await kit.send('DELETE', '/v1/tokens/admin', { token: kit.tokens.admin });
    expect(a.status).toBe(200);
    expectError(await kit.send('GET', '/v1/tokens', { token: kit.tokens.admin }), 401);
  });

  it('404 for an unknown name, 400 for a malformed one', async () => {
    const t = { token: kit.tokens.admin };
    expectError(await kit.send('DELETE', '/v1/tokens/nobody', t), 404, 'TOKEN_NOT_FOUND');
    expectError(await kit.send('DELETE', '/v1/tokens/No%20Body', t), 400, 'INVALID_ARGUMENT');
  });
});

describe('admin capability', () => {
  it('403 for every token without admin on every token route; 401 expired and revoked', async () => {
    const { admin: _admin, expired, revoked, ...others } = kit.tokens;
    const calls: [string, string, unknown][] = [
      ['GET', '/v1/tokens', undefined],
      ['POST', '/v1/tokens', REQUEST],
      ['DELETE', '/v1/tokens/reader', undefined],
    ];
    for (const [method, url, body] of calls) {
      for (const token of Object.values(others)) {
        expectError(await kit.send(method, url, { token, body }), 403, 'FORBIDDEN');
      }
      for (const token of [expired, revoked]) {
        expectError(await kit.send(method, url, { token, body }), 401, 'UNAUTHENTICATED');
      }
    }
    const names = (await kit.send('GET', '/v1/tokens', { token: kit.tokens.admin })).json.items as {
      name: string;
      revokedAt: string | null;
    }[];
    expect(names.find((t) => t.name === 'reader')?.revokedAt).toBeNull();
    expect(names.map((t) => t.name)).not.toContain('deploy');
    const denied = (await auditRecords(kit)).filter((r) => r.outcome === 'denied');
    expect(new Set(denied.map((r) => r.action))).toEqual(
      new Set(['token_list', 'token_create', 'token_revoke', 'authenticate']),
    );
  });
});
