import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CofferError } from '../core/errors.js';
import { PathScope } from './scope.js';

const segment = fc.stringMatching(/^[a-z0-9](?:[a-z0-9_-]{0,12}[a-z0-9])?$/);
const scopeName = fc.constantFrom('project' as const, 'meta' as const);
const keyPath = fc.tuple(scopeName, segment, segment).map(([s, g, n]) => `${s}/${g}/${n}`);

function refusal(globs: string[]): string | undefined {
  try {
    new PathScope(globs);
    return undefined;
  } catch (err) {
    return err instanceof CofferError ? err.code : 'OTHER';
  }
}

describe('PathScope', () => {
  it('allows everything without globs', () => {
    const scope = new PathScope([]);
    expect(scope.unrestricted).toBe(true);
    expect(scope.allows('meta/cloudflare/api_token')).toBe(true);
    expect(scope.mayContain('project', 'anything')).toBe(true);
  });

  it('matches the issue example project/consilio/*', () => {
    const scope = new PathScope(['project/consilio/*']);
    expect(scope.allows('project/consilio/stripe_api_key')).toBe(true);
    expect(scope.allows('project/consilio-2/stripe_api_key')).toBe(false);
    expect(scope.allows('project/other/stripe_api_key')).toBe(false);
    expect(scope.allows('meta/consilio/stripe_api_key')).toBe(false);
    expect(scope.mayContain('project', 'consilio')).toBe(true);
    expect(scope.mayContain('project', 'other')).toBe(false);
    expect(scope.mayContain('meta', 'consilio')).toBe(false);
  });

  it('matches * inside a segment and ** across segments', () => {
    const scope = new PathScope(['project/consilio/stripe_*', 'meta/**']);
    expect(scope.allows('project/consilio/stripe_api_key')).toBe(true);
    expect(scope.allows('project/consilio/jwt_secret')).toBe(false);
    expect(scope.allows('meta/cloudflare/api_token')).toBe(true);
    expect(scope.mayContain('meta', 'gcloud')).toBe(true);
    expect(new PathScope(['**']).allows('project/a/b')).toBe(true);
    expect(new PathScope(['project/*/*']).allows('meta/a/b')).toBe(false);
  });

  it('refuses globs that can never match a key path, with an example', () => {
    for (const bad of ['project/*', 'project', 'secrets/**', 'project/Consilio/*', 'a//b', '']) {
      expect(refusal([bad])).toBe('USAGE');
    }
    expect(refusal(['project/consilio/*', 'project/*/*', '*/x/**'])).toBeUndefined();
  });

  it('a glob equal to a key path matches exactly that path', () => {
    fc.assert(
      fc.property(keyPath, keyPath, (a, b) => {
        const scope = new PathScope([a]);
        expect(scope.allows(a)).toBe(true);
        expect(scope.allows(b)).toBe(a === b);
      }),
      { numRuns: 200 },
    );
  });

  it('scope/group/* allows exactly the paths of that group, and mayContain agrees', () => {
    fc.assert(
      fc.property(scopeName, segment, keyPath, (s, g, path) => {
        const scope = new PathScope([`${s}/${g}/*`]);
        const [ps, pg] = path.split('/') as ['project' | 'meta', string];
        expect(scope.allows(path)).toBe(ps === s && pg === g);
        expect(scope.mayContain(ps, pg)).toBe(ps === s && pg === g);
      }),
      { numRuns: 200 },
    );
  });

  it('whenever a path is allowed, its group may be listed', () => {
    const glob = fc
      .tuple(
        fc.constantFrom('project', 'meta', '*', '**'),
        fc.oneof(segment, fc.constant('*'), fc.constant('**')),
        fc.oneof(
          segment,
          fc.constant('*'),
          segment.map((s) => `${s}*`),
        ),
      )
      .map((parts) => parts.join('/'))
      .filter((g) => refusal([g]) === undefined);
    fc.assert(
      fc.property(fc.array(glob, { minLength: 1, maxLength: 3 }), keyPath, (globs, path) => {
        const scope = new PathScope(globs);
        const [ps, pg] = path.split('/') as ['project' | 'meta', string];
        if (scope.allows(path)) expect(scope.mayContain(ps, pg)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('denials name the key path and the allowed globs', () => {
    const err = new PathScope(['project/consilio/*']).denied('project/other/key');
    expect(err.code).toBe('FORBIDDEN');
    expect(err.message).toContain('project/other/key');
    expect(err.hint).toContain('project/consilio/*');
  });
});
