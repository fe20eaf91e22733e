/**
 * TokenPolicy: its answers on key paths are the globs' answers, also past the number of
 * paths it remembers; TokenAuthenticator.cached agrees with authenticate on valid tokens
 * and never accepts what authenticate refuses.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PathScope } from '../core/access/globs.js';
import { hashTokenSecret } from '../core/access/tokens.js';
import type { StorageTx, TokenRecord } from '../core/store/storage.js';
import type { Vault } from '../core/store/vault.js';
import { AuthFailure, TokenAuthenticator, TokenPolicy } from './auth.js';

function record(allow: string[]): TokenRecord {
  return {
    id: '0123456789abcdef',
    name: 't',
    hash: '00'.repeat(32),
    allow,
    envs: ['dev'],
    caps: ['read'],
    createdAt: new Date(0).toISOString(),
    expiresAt: null,
    revokedAt: null,
  };
}

describe('TokenPolicy.allowsPath', () => {
  it('property: the globs decide, however many paths were asked before (cache bound)', () => {
    const group = fc.constantFrom('app', 'other', 'billing', 'x1');
    const name = fc.stringMatching(/^[a-z][a-z0-9_]{0,6}[a-z0-9]$/);
    const path = fc.tuple(fc.constantFrom('project', 'meta'), group, name).map((p) => p.join('/'));
    fc.assert(
      fc.property(
        fc.subarray(['project/app/*', 'meta/billing/*', 'project/*/db_url', '**']),
        fc.array(path, { minLength: 300, maxLength: 700 }),
        (allow, paths) => {
          const policy = new TokenPolicy(record(allow));
          const scope = new PathScope(allow.length === 0 ? ['**'] : allow);
          for (const p of [...paths, ...paths]) expect(policy.allowsPath(p)).toBe(scope.allows(p));
        },
      ),
      { numRuns: 20 },
    );
  });
});

describe('TokenAuthenticator and a revoked token', () => {
  it('refuses it as revoked without reading its globs (a crafted backup restored: 200 of 400 characters)', async () => {
    const secret = 'A'.repeat(43);
    const globs = Array.from({ length: 200 }, (_, i) => `**/${'*a'.repeat(200)}${i}*/**/x`);
    let read = 0;
    const allow = new Proxy(globs, {
      get(target, key, receiver) {
        if (typeof key === 'string' && /^\d+$/.test(key)) read++;
        return Reflect.get(target, key, receiver);
      },
    });
    const stored: TokenRecord = {
      ...record([]),
      allow,
      hash: hashTokenSecret(secret),
      revokedAt: new Date(0).toISOString(),
    };
    const vault = {
      readTransaction: async (fn: (tx: Pick<StorageTx, 'getToken'>) => unknown) =>
        fn({ getToken: async () => stored }),
    } as unknown as Vault;
    const auth = new TokenAuthenticator(vault);
    const header = `Bearer coffer_${stored.id}_${secret}`;
    for (let i = 0; i < 3; i++) {
      const answer = await auth.authenticate(header);
      expect(answer).toBeInstanceOf(AuthFailure);
      expect(answer).toMatchObject({ reason: 'revoked', name: 't' });
      expect(auth.cached(header)).toBeUndefined();
    }
    // A wrong secret is still a mismatch, named.
    expect(await auth.authenticate(`Bearer coffer_${stored.id}_${'B'.repeat(43)}`)).toMatchObject({
      reason: 'mismatch',
    });
    expect(read).toBe(0);
  });
});

describe('TokenAuthenticator and a revocation through this server', () => {
  it('a token record read before the revocation, answered after forget, is not cached: the next request is refused', async () => {
    const secret = 'A'.repeat(43);
    let stored: TokenRecord = { ...record(['**']), hash: hashTokenSecret(secret) };
    // The first read is held at a barrier until the test lets it finish; later reads answer at once.
    let release!: () => void;
    const barrier = new Promise<void>((r) => {
      release = r;
    });
    let reading!: () => void;
    const started = new Promise<void>((r) => {
      reading = r;
    });
    let reads = 0;
    const vault = {
      readTransaction: async (fn: (tx: Pick<StorageTx, 'getToken'>) => unknown) => {
        const snapshot = stored;
        reads++;
        if (reads === 1) {
          reading();
          await barrier;
        }
        return fn({ getToken: async () => snapshot });
      },
    } as unknown as Vault;
    const auth = new TokenAuthenticator(vault);
    const header = `Bearer coffer_${stored.id}_${secret}`;
    // A request authenticates; its read took its snapshot before the revocation committed.
    const inFlight = auth.authenticate(header);
    await started;
    stored = { ...stored, revokedAt: new Date(0).toISOString() };
    auth.forget('t');
    release();
    // The request in flight was let in (its read came first), but nothing after the revocation is.
    expect(await inFlight).toBeInstanceOf(TokenPolicy);
    expect(auth.cached(header)).toBeUndefined();
    expect(await auth.authenticate(header)).toMatchObject({ reason: 'revoked', name: 't' });
    expect(reads).toBe(2);
  });
});
