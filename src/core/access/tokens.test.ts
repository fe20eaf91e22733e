/**
 * Token names under a scoped admin (security review): a name held by a token outside the
 * caller's policy is refused as a policy refusal is, never ALREADY_EXISTS, so the caller does
 * not learn that a token of that name exists; the real reason is audited. A name held by a
 * token the caller may see (and list) is still ALREADY_EXISTS, and the root sees every one.
 */
import { describe, expect, it, vi } from 'vitest';
import { insertOlderToken } from '../../../test/helpers/older-token.js';
import { makeTestVault } from '../../../test/helpers/vault.js';
import { readAudit } from '../audit/log.js';
import { CofferError } from '../errors.js';
import type { Vault } from '../store/vault.js';
import { PathScope } from './globs.js';
import { AccessPolicy } from './policy.js';
import { createToken, listTokens, type TokenRequest } from './tokens.js';

const ALL = ['read', 'list', 'write', 'delete', 'admin'];
/** Within the scoped admin's policy. */
const NARROW = { allow: ['project/app/*'], envs: ['dev'], caps: ['read'] };

async function setUp() {
  const tv = await makeTestVault('cli:owner');
  await createToken(tv.vault, { name: 'root', allow: ['**'], caps: ALL });
  await createToken(tv.vault, { name: 'sibling', ...NARROW });
  const policy = new AccessPolicy({
    allow: ['project/app/*'],
    envs: ['dev'],
    caps: ['admin', 'read'],
  });
  return { ...tv, policy };
}

async function refusal(p: Promise<unknown>): Promise<CofferError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof CofferError)) throw new Error(`expected a CofferError, got ${err}`);
  return err;
}

describe('createToken: a name held by another token', () => {
  it('outside the caller policy: FORBIDDEN like a policy refusal, the reason audited', async () => {
    const { vault, policy } = await setUp();
    const create = (request: TokenRequest) => createToken(vault, request, new Date(), { policy });
    const held = await refusal(create({ name: 'root', ...NARROW }));
    const wide = await refusal(create({ name: 'other', ...NARROW, envs: ['prod'] }));
    expect(held.code).toBe('FORBIDDEN');
    expect(held.errorClass).toBe(wide.errorClass);
    expect(held.message).toBe('this token may not do that: name not available, pick another');
    expect(wide.message).toMatch(/^this token may not do that: /);
    expect(held.message).not.toMatch(/root|exist/);
    const audit = await readAudit(vault, { limit: 1000 });
    expect(audit.at(-2)).toMatchObject({
      action: 'token_create',
      outcome: 'denied',
      detail:
        'the name root is held by a token outside the granting policy (globs beyond the granting policy)',
    });
    // Nothing was stored or replaced: root is still the only token of that name, unchanged.
    const names = (await listTokens(vault)).map((t) => `${t.name} ${t.allow.join(',')}`);
    expect(names).toEqual(['root **', 'sibling project/app/*']);
  });

  it('one the caller may see: ALREADY_EXISTS, as for the root; a free name is created', async () => {
    const { vault, policy } = await setUp();
    expect((await listTokens(vault, policy)).map((t) => t.name)).toEqual(['sibling']);
    const seen = await refusal(
      createToken(vault, { name: 'sibling', ...NARROW }, new Date(), { policy }),
    );
    expect(seen.code).toBe('ALREADY_EXISTS');
    const byRoot = await refusal(createToken(vault, { name: 'root', ...NARROW }));
    expect(byRoot.code).toBe('ALREADY_EXISTS');
    const fresh = await createToken(vault, { name: 'fresh', ...NARROW }, new Date(), { policy });
    expect(fresh.name).toBe('fresh');
  });

  it('stored between the check and the write: the same FORBIDDEN, nothing stored', async () => {
    const { vault, policy } = await setUp();
    // The first look finds nothing, as if root were created right after it.
    vi.spyOn(vault, 'readTransaction').mockResolvedValueOnce(undefined);
    const err = await refusal(
      createToken(vault, { name: 'root', ...NARROW }, new Date(), { policy }),
    );
    expect(err.code).toBe('FORBIDDEN');
    expect(err.message).toBe('this token may not do that: name not available, pick another');
    // One record, in the transaction that found the name taken, with the real reason.
    const audit = await readAudit(vault, { limit: 1000 });
    expect(audit.filter((r) => r.outcome !== 'ok')).toHaveLength(1);
    expect(audit.at(-1)).toMatchObject({
      action: 'token_create',
      outcome: 'denied',
      detail:
        'the name root is held by a token outside the granting policy (globs beyond the granting policy)',
    });
    expect((await listTokens(vault)).map((t) => t.name)).toEqual(['root', 'sibling']);
  });
});

describe('listTokens under a scoped admin: tokens with globs past the caps', () => {
  /** Stores a token as an earlier coffer could (no caps on its globs), with a valid row MAC. */
  async function olderToken(vault: Vault, name: string, allow: string[], revoked: boolean) {
    await insertOlderToken(vault, {
      name,
      allow,
      revokedAt: revoked ? new Date().toISOString() : null,
    });
  }

  it('a revoked one is left out without a look at its globs; a live one is checked as before', async () => {
    const { vault } = await setUp();
    const wide = Array.from({ length: 70 }, (_, i) => `project/p${i}/*`);
    await olderToken(vault, 'old-live', wide, false);
    await olderToken(vault, 'old-revoked', wide, true);
    // What a crafted backup brings in, revoked by the restore: 200 globs of 400 characters.
    const costly = Array.from({ length: 200 }, (_, i) => `project/**/${'*a'.repeat(200)}${i}*`);
    await olderToken(vault, 'crafted', costly, true);
    const admin = new AccessPolicy({ allow: ['project/**'], envs: [], caps: ['admin', 'read'] });
    const covers = vi.spyOn(PathScope.prototype, 'covers');
    try {
      const shown = (await listTokens(vault, admin)).map((t) => t.name);
      expect(shown).toEqual(['sibling', 'old-live']);
      // The live token's globs were checked; the revoked ones' never were.
      const checked = covers.mock.calls.map(([globs]) => globs.length);
      expect(checked).toContain(70);
      expect(checked.filter((n) => n === 70)).toHaveLength(1);
      expect(checked).not.toContain(200);
    } finally {
      covers.mockRestore();
    }
    // The root sees every token, revoked or not.
    expect((await listTokens(vault)).map((t) => t.name)).toEqual([
      'root',
      'sibling',
      'old-live',
      'old-revoked',
      'crafted',
    ]);
  });
});
