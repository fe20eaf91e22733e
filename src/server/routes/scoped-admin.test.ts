/**
 * An admin token is bounded by its own policy (core/access): it creates only tokens within
 * its globs, environments, capabilities and expiry; it lists and revokes only such tokens;
 * it reads only the audit records of its paths and environments, and checking the whole
 * chain needs a token for every path and environment. Every refusal is audited as `denied`.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  auditRecords,
  expectError,
  type Kit,
  makeKit,
  SENTINEL,
  seed,
} from '../../../test/helpers/server-kit.js';

/** `coffer token create --name scoped --allow 'project/app/*' --env dev --cap admin`. */
const SCOPED = { name: 'scoped', allow: ['project/app/*'], envs: ['dev'], caps: ['admin'] };

describe('a scoped admin token', () => {
  let kit: Kit;
  let scoped: string;
  beforeEach(async () => {
    kit = await makeKit();
    scoped = await kit.token(SCOPED);
  });
  afterEach(async () => {
    await kit.dispose();
  });

  const create = (token: string, body: Record<string, unknown>) =>
    kit.send('POST', '/v1/tokens', { token, body });

  it('cannot create a token wider than itself (issue example: ** with every capability)', async () => {
    const wide = await create(scoped, {
      name: 'everything',
      allow: ['**'],
      caps: ['read', 'list', 'write', 'delete', 'admin'],
    });
    expectError(wide, 403, 'FORBIDDEN');
    const names = (await kit.vault.readTransaction((tx) => tx.listTokens())).map((t) => t.name);
    expect(names).not.toContain('everything');
    const denied = (await auditRecords(kit)).at(-1);
    expect(denied).toMatchObject({
      actor: 'token:scoped@127.0.0.1',
      action: 'token_create',
      outcome: 'denied',
      detail: 'globs beyond the granting policy',
    });
  });

  it('refuses each widening on its own: globs, environments, capabilities, expiry', async () => {
    const within = { allow: ['project/app/db_*'], envs: ['dev'], caps: ['admin'] };
    const cases: [Record<string, unknown>, string][] = [
      [{ ...within, allow: ['project/*/*'] }, 'globs'],
      [{ ...within, allow: ['project/app/*', 'project/other/key'] }, 'globs'],
      [{ ...within, envs: [] }, 'any environment'],
      [{ ...within, envs: undefined }, 'any environment'],
      [{ ...within, envs: ['dev', 'prod'] }, 'environments'],
      [{ ...within, caps: ['read'] }, 'capabilities'],
    ];
    for (const [i, [body, what]] of cases.entries()) {
      const a = await create(scoped, { name: `wide-${i}`, ...body });
      expectError(a, 403, 'FORBIDDEN');
      expect(a.json.message).toContain(what);
    }
    const ok = await create(scoped, { name: 'narrow', ...within });
    expect(ok.status).toBe(201);
    const same = await create(scoped, { ...SCOPED, name: 'same' });
    expect(same.status).toBe(201);

    // A creator that expires cannot create a token that expires later, or never.
    const expiring = await kit.token({ ...SCOPED, name: 'expiring', ttl: '1h' });
    expectError(await create(expiring, { name: 'forever', ...within }), 403, 'FORBIDDEN');
    expectError(await create(expiring, { name: 'later', ...within, ttl: '2h' }), 403);
    expect((await create(expiring, { name: 'sooner', ...within, ttl: '30m' })).status).toBe(201);
    const denied = (await auditRecords(kit)).filter(
      (r) => r.action === 'token_create' && r.outcome === 'denied',
    );
    expect(denied).toHaveLength(cases.length + 2);
  });

  it('cannot tell a name held outside its policy from one it may not use (security review)', async () => {
    // `reader` is outside its policy: answered as a policy refusal is, never 409 naming it.
    const held = await create(scoped, { ...SCOPED, name: 'reader' });
    const wide = await create(scoped, { ...SCOPED, name: 'wide', envs: ['prod'] });
    expectError(held, 403, 'FORBIDDEN');
    expectError(wide, 403, 'FORBIDDEN');
    expect(held.json.message).toBe('this token may not do that: name not available, pick another');
    expect(held.text).not.toMatch(/reader|exist/);
    expect((await auditRecords(kit)).at(-2)).toMatchObject({
      actor: 'token:scoped@127.0.0.1',
      action: 'token_create',
      outcome: 'denied',
      detail: expect.stringMatching(/^the name reader is held by a token outside the granting/),
    });
    const reader = (await kit.vault.readTransaction((tx) => tx.listTokens())).filter(
      (t) => t.name === 'reader',
    );
    expect(reader).toHaveLength(1);
    expect(reader[0]?.envs).toEqual([]);
    // A name it can see (its own tokens, as it lists them) is still 409; a free one is 201.
    expect((await create(scoped, { ...SCOPED, name: 'child' })).status).toBe(201);
    expectError(await create(scoped, { ...SCOPED, name: 'child' }), 409, 'ALREADY_EXISTS');
    expectError(await create(scoped, { ...SCOPED, name: 'scoped' }), 409, 'ALREADY_EXISTS');
    // The unrestricted admin sees every token, so it still gets 409 for reader.
    expectError(await create(kit.tokens.admin, { ...SCOPED, name: 'reader' }), 409);
  });

  it('lists and revokes only tokens within its policy', async () => {
    expect((await create(scoped, { ...SCOPED, name: 'child' })).status).toBe(201);
    const list = await kit.send('GET', '/v1/tokens', { token: scoped });
    expect(list.status).toBe(200);
    const names = (list.json.items as { name: string }[]).map((t) => t.name).sort();
    expect(names).toEqual(['child', 'scoped']);

    // A token beyond its policy is answered as one that does not exist (it learns neither
    // that it exists nor how it is wider), and the refusal is audited with the reason.
    const refused = await kit.send('DELETE', '/v1/tokens/reader', { token: scoped });
    const missing = await kit.send('DELETE', '/v1/tokens/no-such-token', { token: scoped });
    expectError(refused, 404, 'TOKEN_NOT_FOUND');
    expectError(missing, 404, 'TOKEN_NOT_FOUND');
    expect(refused.json.message).toBe('no token named reader');
    expect({ ...refused.json, message: '', requestId: '' }).toEqual({
      ...missing.json,
      message: '',
      requestId: '',
    });
    const last = (await auditRecords(kit)).filter((r) => r.action === 'token_revoke').at(-2);
    expect(last).toMatchObject({
      action: 'token_revoke',
      outcome: 'denied',
      actor: 'token:scoped@127.0.0.1',
    });
    expect(last?.detail).toMatch(/beyond the granting policy/);
    await seed(kit, 'project/app/db_url', SENTINEL);
    const read = await kit.send('GET', '/v1/secrets/project/app/db_url', {
      token: kit.tokens.read,
    });
    expect(read.status).toBe(200);
    const revoked = await kit.send('DELETE', '/v1/tokens/child', { token: scoped });
    expect(revoked.json).toEqual({ name: 'child', revoked: true });
    // The unrestricted admin still lists everything.
    const all = await kit.send('GET', '/v1/tokens', { token: kit.tokens.admin });
    expect((all.json.items as unknown[]).length).toBe(11);
  });

  it('reads only the audit records of its paths and environments; verify needs everything', async () => {
    await seed(kit, 'project/app/db_url', SENTINEL);
    await seed(kit, 'project/app/db_url', SENTINEL, 'prod');
    await seed(kit, 'project/other/db_url', SENTINEL);
    await seed(kit, 'meta/cloudflare/api_token', SENTINEL);
    const a = await kit.send('GET', '/v1/audit?limit=1000', { token: scoped });
    expect(a.status).toBe(200);
    const items = a.json.items as { path: string | null; env: string | null; seq: number }[];
    expect(items.map((r) => `${r.path} ${r.env}`)).toEqual(['project/app/db_url dev']);
    // Paging skips what the token may not see instead of returning short pages.
    const all = await kit.send('GET', '/v1/audit?limit=1000', { token: kit.tokens.admin });
    expect((all.json.items as unknown[]).length).toBeGreaterThan(15);
    const page = await kit.send('GET', '/v1/audit?limit=1', { token: scoped });
    expect(page.json.items).toEqual(items);
    // No chain hashes in a partial view: on either side of a record left out they would let
    // the reader test guesses about it. The whole log comes with them.
    for (const r of items) expect(Object.keys(r)).not.toEqual(expect.arrayContaining(['hash']));
    expect(a.text).not.toMatch(/"(?:prevHash|hash)"/);
    for (const r of all.json.items as { prevHash?: string; hash?: string }[]) {
      expect(r.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(r.prevHash).toMatch(/^[0-9a-f]{64}$/);
    }

    const verify = await kit.send('GET', '/v1/audit/verify', { token: scoped });
    expectError(verify, 403, 'FORBIDDEN');
    expect((await auditRecords(kit)).at(-1)).toMatchObject({
      action: 'audit_verify',
      outcome: 'denied',
    });
    const ok = await kit.send('GET', '/v1/audit/verify', { token: kit.tokens.admin });
    expect(ok.json.ok).toBe(true);
  });
});

describe('an admin token for every path in one environment', () => {
  let kit: Kit;
  beforeAll(async () => {
    kit = await makeKit();
    await seed(kit, 'project/app/db_url', SENTINEL);
    await seed(kit, 'project/app/db_url', SENTINEL, 'prod');
  });
  afterAll(async () => {
    await kit.dispose();
  });

  it('sees records of its environment only, none without one, and cannot grant any env', async () => {
    const dev = await kit.token({
      name: 'dev-admin',
      allow: ['**'],
      envs: ['dev'],
      caps: ['admin'],
    });
    const a = await kit.send('GET', '/v1/audit?limit=1000', { token: dev });
    const items = a.json.items as { env: string | null }[];
    expect(items.length).toBeGreaterThan(0);
    expect(new Set(items.map((r) => r.env))).toEqual(new Set(['dev']));
    const anyEnv = await kit.send('POST', '/v1/tokens', {
      token: dev,
      body: { name: 'any-env', allow: ['**'], caps: ['admin'] },
    });
    expectError(anyEnv, 403, 'FORBIDDEN');
  });
});
