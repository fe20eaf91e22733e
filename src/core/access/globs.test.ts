import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CofferError } from '../errors.js';
import { globWithin, PathScope, wildcardMatch } from './globs.js';

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

  it('** allows every key path; unrestricted says so', () => {
    expect(new PathScope(['**']).unrestricted).toBe(true);
    expect(new PathScope(['project/**']).unrestricted).toBe(false);
    expect(new PathScope(['project/**', 'meta/**']).unrestricted).toBe(true);
    expect(new PathScope(['*/*/*']).unrestricted).toBe(true);
    expect(new PathScope(['project/*/*', 'meta/*/x']).unrestricted).toBe(false);
  });
});

// Glob containment against brute force: random globs over a small alphabet, so that inner
// and outer often overlap, and random segment sequences drawn to hit the inner glob.
const letter = fc.constantFrom('a', 'b', 'ab', 'ba', 'a-b');
const pattern = fc.oneof(
  { weight: 3, arbitrary: letter },
  { weight: 2, arbitrary: fc.constant('*') },
  { weight: 2, arbitrary: letter.map((l) => `${l}*`) },
  { weight: 1, arbitrary: letter.map((l) => `*${l}`) },
  { weight: 1, arbitrary: fc.tuple(letter, letter).map(([x, y]) => `${x}*${y}`) },
);
const firstPart = fc.constantFrom('project', 'meta', '*', '**');
const anyGlob = fc
  .tuple(
    firstPart,
    fc.array(
      fc.oneof({ weight: 4, arbitrary: pattern }, { weight: 1, arbitrary: fc.constant('**') }),
      {
        minLength: 0,
        maxLength: 3,
      },
    ),
  )
  .map(([first, rest]) => [first, ...rest].join('/'))
  .filter((g) => refusal([g]) === undefined);

/** A random segment sequence that `glob` matches (each `*` and `**` filled at random). */
function instance(glob: string, rnd: () => number): string {
  const fill = () => ['', 'a', 'b', 'ab', '-', 'ba'][Math.floor(rnd() * 6)]!;
  const parts: string[] = [];
  for (const p of glob.split('/')) {
    if (p === '**') {
      const n = Math.floor(rnd() * 3);
      for (let i = 0; i < n; i++) parts.push(`a${fill()}`);
    } else {
      parts.push(p.replaceAll('*', () => fill()) || 'a');
    }
  }
  return parts.join('/');
}

describe('wildcardMatch', () => {
  it('property: agrees with the regex it replaces on short patterns and texts', () => {
    const text = fc.stringMatching(/^[ab*-]{0,8}$/);
    fc.assert(
      fc.property(text, text, (pattern, t) => {
        const re = new RegExp(`^${pattern.replaceAll('-', '\\-').replaceAll('*', '.*')}$`);
        expect(wildcardMatch(pattern, t), `${pattern} / ${t}`).toBe(re.test(t));
      }),
      { numRuns: 3000 },
    );
  });

  it('takes linear time where a regex backtracks (one token must not stall the server)', () => {
    // `*a*a...*b` against 100 a's: the regex took seconds at 28 a's and doubled per one more.
    const glob = `project/app/${'*a'.repeat(12)}*b`;
    const scope = new PathScope([glob]);
    const long = `project/app/${'a'.repeat(100)}`;
    expect(scope.allows(long)).toBe(false);
    expect(scope.allows(`${long}b`)).toBe(true);
    expect(globWithin(glob, 'project/app/*')).toBe(true);
    expect(globWithin(`project/app/${'a'.repeat(100)}`, glob)).toBe(false);
  });

  it('a segment named like an internal word is matched as written', () => {
    const scope = new PathScope(['project/any/*']);
    expect(scope.allows('project/any/key')).toBe(true);
    expect(scope.allows('project/other/key')).toBe(false);
  });
});

describe('globWithin', () => {
  it('accepts the obvious cases and refuses the obvious widenings', () => {
    const yes: [string, string][] = [
      ['project/app/*', 'project/app/*'],
      ['project/app/*', 'project/*/*'],
      ['project/app/db_*', 'project/app/*'],
      ['project/app/db_url', 'project/**'],
      ['project/**', '**'],
      ['project/app/*', '**'],
      ['**', '**'],
      ['project/a*b/x', 'project/a*/*'],
    ];
    for (const [inner, outer] of yes)
      expect(globWithin(inner, outer), `${inner} in ${outer}`).toBe(true);
    const no: [string, string][] = [
      ['**', 'project/app/*'],
      ['project/*/*', 'project/app/*'],
      ['project/**', 'project/app/*'],
      ['meta/app/*', 'project/app/*'],
      ['project/app/*', 'project/app/db_*'],
      ['*/app/*', 'project/**'],
    ];
    for (const [inner, outer] of no)
      expect(globWithin(inner, outer), `${inner} in ${outer}`).toBe(false);
  });

  it('property: whenever it says within, every path the inner glob matches the outer matches', () => {
    fc.assert(
      fc.property(
        anyGlob,
        anyGlob,
        fc.infiniteStream(fc.double({ min: 0, max: 0.999 })),
        (inner, outer, stream) => {
          if (!globWithin(inner, outer)) return;
          const it = stream[Symbol.iterator]();
          const rnd = () => it.next().value as number;
          const i = new PathScope([inner]);
          const o = new PathScope([outer]);
          for (let n = 0; n < 40; n++) {
            const path = instance(inner, rnd);
            expect(i.allows(path), `${path} should match ${inner}`).toBe(true);
            expect(o.allows(path), `${inner} within ${outer}, but ${path}`).toBe(true);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('property: a glob is within itself and within **; covers agrees with globWithin', () => {
    fc.assert(
      fc.property(anyGlob, fc.array(anyGlob, { minLength: 1, maxLength: 3 }), (g, outer) => {
        expect(globWithin(g, g)).toBe(true);
        expect(globWithin(g, '**')).toBe(true);
        const covered = new PathScope(outer).covers([g]);
        const scope = new PathScope(outer);
        expect(covered).toBe(scope.unrestricted || outer.some((o) => globWithin(g, o)));
      }),
      { numRuns: 300 },
    );
  });
});
