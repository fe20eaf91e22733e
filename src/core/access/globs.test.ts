import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CofferError } from '../errors.js';
import {
  COVERS_BUDGET,
  globsBeyondCaps,
  globWithin,
  MAX_GLOB_LENGTH,
  MAX_GLOBS,
  matchGlobCounted,
  PathScope,
  parseGlobs,
  wildcardMatch,
} from './globs.js';

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

// A reference matcher, obviously correct and slow (plain recursion, character by character),
// for the state-set matcher of globs.ts. `prefix`: also true when the path ends before the
// glob does (mayContain).
function refSegment(pattern: string, text: string): boolean {
  if (pattern === '') return text === '';
  if (pattern[0] === '*') {
    return (
      refSegment(pattern.slice(1), text) || (text !== '' && refSegment(pattern, text.slice(1)))
    );
  }
  return text !== '' && pattern[0] === text[0] && refSegment(pattern.slice(1), text.slice(1));
}

function refMatch(glob: string[], parts: string[], prefix: boolean): boolean {
  if (glob.length === 0) return parts.length === 0;
  if (parts.length === 0 && prefix) return true;
  const [head, ...rest] = glob as [string, ...string[]];
  if (head === '**') {
    for (let i = 0; i <= parts.length; i++) if (refMatch(rest, parts.slice(i), prefix)) return true;
    return false;
  }
  return parts.length > 0 && refSegment(head, parts[0]!) && refMatch(rest, parts.slice(1), prefix);
}

describe('matching against a reference matcher', () => {
  // Small alphabets so that globs and paths often meet; runs of ** included on purpose.
  const word = fc.constantFrom('a', 'b', 'ab', 'ba', 'a-b', 'aa');
  const globPart = fc.oneof(
    { weight: 3, arbitrary: word },
    { weight: 2, arbitrary: fc.constant('*') },
    { weight: 3, arbitrary: fc.constant('**') },
    { weight: 1, arbitrary: word.map((w) => `${w}*`) },
    { weight: 1, arbitrary: word.map((w) => `*${w}`) },
    { weight: 1, arbitrary: fc.tuple(word, word).map(([x, y]) => `${x}*${y}`) },
  );
  const glob = fc
    .tuple(
      fc.constantFrom('project', 'meta', '*', '**'),
      fc.array(globPart, { minLength: 0, maxLength: 7 }),
    )
    .map(([first, rest]) => [first, ...rest].join('/'))
    .filter((g) => refusal([g]) === undefined);
  const pathPart = fc.oneof(word, fc.constantFrom('project', 'meta', 'abab', 'b-a'));
  const path = fc
    .tuple(fc.constantFrom('project', 'meta', 'a'), fc.array(pathPart, { maxLength: 5 }))
    .map(([first, rest]) => [first, ...rest]);

  it('property: allows and mayContain agree with the reference on random globs and paths', () => {
    fc.assert(
      fc.property(glob, path, (g, parts) => {
        const scope = new PathScope([g]);
        const p = parts.join('/');
        expect(scope.allows(p), `${g} / ${p}`).toBe(refMatch(g.split('/'), parts, false));
        expect(matchGlobCounted(g, p).matched).toBe(refMatch(g.split('/'), parts, false));
        const [s, group] = parts as ['project' | 'meta', string];
        if (group !== undefined && (s === 'project' || s === 'meta')) {
          expect(scope.mayContain(s, group), `${g} / ${s}/${group}`).toBe(
            refMatch(g.split('/'), [s, group], true),
          );
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('property: merging runs of ** changes nothing a glob matches', () => {
    fc.assert(
      fc.property(glob, path, fc.integer({ min: 2, max: 6 }), (g, parts, n) => {
        const stuttered = g
          .split('/')
          .map((p) => (p === '**' ? Array(n).fill('**').join('/') : p))
          .join('/');
        const p = parts.join('/');
        expect(new PathScope([stuttered]).allows(p)).toBe(new PathScope([g]).allows(p));
      }),
      { numRuns: 500 },
    );
  });
});

describe('the work a glob may cost', () => {
  // Steps are counted, not timed: (glob segments + 1) x (path segments) at most, for any glob.
  const bound = (glob: string, path: string) =>
    (glob.split('/').length + 1) * path.split('/').length;

  it('the review example (66 x ** then zz) is matched in a few steps, not C(69, 3) calls', () => {
    const glob = `${'**/'.repeat(66)}zz`;
    const r = matchGlobCounted(glob, 'project/app/stripe_key');
    expect(r.matched).toBe(false);
    // Merged into **/zz: two states at most for each of the three segments.
    expect(r.steps).toBeLessThanOrEqual(6);
  });

  it('stays linear where merging cannot help (** and a pattern alternating, long paths)', () => {
    // Not a key path (three segments), so that each ** has many ways to split the path: plain
    // recursion explores each of them.
    const long = `project/${'a/'.repeat(14)}key`;
    for (const glob of [`${'**/a*/'.repeat(20)}zz`, `**/${'*/**/'.repeat(20)}key`]) {
      for (const path of [long, 'project/app/stripe_key', 'meta/aa/ab']) {
        const r = matchGlobCounted(glob, path);
        expect(r.steps, `${glob} / ${path}`).toBeLessThanOrEqual(bound(glob, path));
      }
    }
    expect(matchGlobCounted(`${'**/a*/'.repeat(20)}zz`, long).matched).toBe(false);
    expect(matchGlobCounted(`${'**/a*/'.repeat(14)}**`, long).matched).toBe(true);
  });

  it('a stored token with such globs still loads (its globs merged) and allows nothing else', () => {
    const stored = [
      ...Array(64).fill(`${'**/'.repeat(66)}zz`),
      '**/a/b/c/d',
      `project/app/${'x'.repeat(150)}`,
    ];
    const scope = new PathScope(stored);
    expect(scope.globs[0]).toBe('**/zz');
    expect(scope.allows('project/app/stripe_key')).toBe(false);
    expect(scope.allows('project/app/zz')).toBe(true);
    expect(scope.mayContain('project', 'app')).toBe(true);
    expect(scope.unrestricted).toBe(false);
    expect(scope.covers(['project/app/zz'])).toBe(true);
  });

  it('property: steps never pass the bound on random globs and paths', () => {
    const part = fc.constantFrom('**', '*', 'a', 'a*', 'project', 'app');
    fc.assert(
      fc.property(
        fc.array(part, { minLength: 1, maxLength: 60 }),
        fc.array(fc.constantFrom('a', 'app', 'aa', 'key'), { minLength: 1, maxLength: 4 }),
        (rest, tail) => {
          const glob = ['**', ...rest].join('/');
          const path = ['project', ...tail].join('/');
          expect(matchGlobCounted(glob, path).steps).toBeLessThanOrEqual(bound(glob, path));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('parseGlobs (new globs: a token being created, coffer mcp --allow)', () => {
  function refused(globs: string[]): { code: string; message: string; hint?: string } {
    try {
      parseGlobs(globs);
    } catch (err) {
      if (err instanceof CofferError) {
        return { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}) };
      }
      throw err;
    }
    throw new Error(`not refused: ${globs.join(', ')}`);
  }

  it('merges runs of ** and keeps what it accepts as compiled', () => {
    expect(parseGlobs([`${'**/'.repeat(66)}zz`, 'project/**/**', 'project/app/*'])).toEqual([
      '**/zz',
      'project/**',
      'project/app/*',
    ]);
    expect(parseGlobs([])).toEqual([]);
  });

  it('caps the number of globs in a policy', () => {
    expect(parseGlobs(Array(MAX_GLOBS).fill('project/app/*'))).toHaveLength(MAX_GLOBS);
    const r = refused(Array(MAX_GLOBS + 1).fill('project/app/*'));
    expect(r.code).toBe('INVALID_ARGUMENT');
    expect(r.message).toContain(`at most ${MAX_GLOBS}`);
    expect(r.hint).toBeDefined();
  });

  it('caps a glob by the key-path grammar: its length, segments and segment length', () => {
    // The longest glob a key path could need passes: three segments of 100 characters, each
    // with a * around every character, and ** around each segment.
    const seg = `*${'a*'.repeat(100)}`;
    const longest = `**/${seg}/**/${seg}/**/${seg}/**`;
    expect(longest.length).toBe(MAX_GLOB_LENGTH);
    expect(() => parseGlobs([longest])).not.toThrow();
    expect(() => parseGlobs([`project/app/${'a'.repeat(100)}`])).not.toThrow();
    const cases: [string, RegExp][] = [
      [
        `${longest}/**`,
        new RegExp(
          `is ${MAX_GLOB_LENGTH + 3} characters long: a glob is at most ${MAX_GLOB_LENGTH}$`,
        ),
      ],
      ['**/a/b/c/d', /4 segments besides \*\*/],
      [`project/${'*/**/'.repeat(3)}*`, /segments besides \*\*/],
      [`project/app/${'a'.repeat(101)}`, /longer than 100 characters/],
      [`project/app/*${'a*'.repeat(101)}`, /longer than 100 characters/],
    ];
    for (const [glob, why] of cases) {
      const r = refused([glob]);
      expect(r.code, glob).toBe('INVALID_ARGUMENT');
      expect(r.message).toMatch(why);
      expect(r.message.length).toBeLessThan(300);
      expect(r.hint).toMatch(/key path|Key-path/);
    }
    // Malformed globs keep their own refusal, within the length limit.
    expect(refused(['project/Consilio/*']).code).toBe('USAGE');
  });

  it('refuses a glob both too long and malformed for its length, naming its head', () => {
    const r = refused(['project/App/*', `project/APP/${'x'.repeat(MAX_GLOB_LENGTH)}\u001b[2J`]);
    expect(r.code).toBe('INVALID_ARGUMENT');
    expect(r.message).toBe(
      `the path glob "project/APP/${'x'.repeat(28)}…" is ${MAX_GLOB_LENGTH + 16} characters long: a glob is at most ${MAX_GLOB_LENGTH}`,
    );
    // Control characters in its head are escaped, not sent to the terminal.
    const escaped = refused([`project/\u001b[2J/${'x'.repeat(MAX_GLOB_LENGTH)}`]);
    expect(escaped.message).toContain('"project/\\u001b[2J/x');
    expect(escaped.message).not.toContain('\u001b');
  });
});

describe('covers: what a token listing costs with globs stored before the caps', () => {
  // A scoped admin token made before the caps: 300 globs of 202 segments, none mergeable
  // (`**`, 200 x `*`, then a name). Each listed token with such globs was checked against
  // each of them over every pair of segments: tens of millions of steps per token listed.
  const deep = (i: number, last: string) => `**/${'*/'.repeat(200)}${last}${i}`;
  const admin = new PathScope(Array.from({ length: 300 }, (_, i) => deep(i, 'q')));
  const listed = Array.from({ length: 300 }, (_, i) => deep(i, 'z'));

  it('stops after COVERS_BUDGET steps with the conservative answer: not covered', () => {
    const counter = { steps: 0 };
    expect(admin.covers(listed, counter)).toBe(false);
    expect(counter.steps).toBeGreaterThan(0);
    expect(counter.steps).toBeLessThanOrEqual(COVERS_BUDGET);
    // Without the budget, the same question takes far more than that many steps.
    const cells = listed.length * admin.globs.length * 203 * 203;
    expect(cells).toBeGreaterThan(10 * COVERS_BUDGET);
  });

  it('a glob of thousands of segments neither overflows the stack nor runs past the budget', () => {
    const long = `**/${'*/'.repeat(20_000)}q`;
    const scope = new PathScope([long]);
    const counter = { steps: 0 };
    expect(scope.covers([`**/${'*/'.repeat(20_000)}q`], counter)).toBe(false);
    expect(counter.steps).toBeLessThanOrEqual(COVERS_BUDGET);
    expect(new PathScope([`**/${'*/'.repeat(500)}q`]).covers([`**/${'*/'.repeat(600)}q`])).toBe(
      true,
    );
  });

  it('compiling the globs checked is charged too: past the budget, the rest are not read', () => {
    // 10,000 stored globs of 601 characters: 6 million characters to compile before the
    // first comparison, where the budget is a million steps.
    const globs = Array.from({ length: 10_000 }, (_, i) => `**/${'*a'.repeat(298)}${i}/x`);
    let read = 0;
    const counted = new Proxy(globs, {
      get(target, key, receiver) {
        if (typeof key === 'string' && /^\d+$/.test(key)) read++;
        return Reflect.get(target, key, receiver);
      },
    });
    const counter = { steps: 0 };
    expect(new PathScope(['project/**']).covers(counted, counter)).toBe(false);
    expect(counter.steps).toBeLessThanOrEqual(COVERS_BUDGET);
    expect(read).toBeLessThan(2_000);
  });

  it('two policies within the caps: the full answer, far inside the budget', () => {
    const widest = Array.from({ length: MAX_GLOBS }, (_, i) => `**/*${'a*'.repeat(98)}${i}/**`);
    const scope = new PathScope(parseGlobs(widest));
    const inner = parseGlobs(widest.map((g) => g.replace('/**', '/x')));
    const counter = { steps: 0 };
    expect(scope.covers(inner, counter)).toBe(true);
    expect(counter.steps).toBeLessThan(COVERS_BUDGET);
    expect(scope.covers([...inner, 'project/other/x'])).toBe(false);
  });
});

describe('globsBeyondCaps (globs stored before the caps: older tokens, backups)', () => {
  /** The globs as an array that counts how many of them are read. */
  const counted = (globs: string[]) => {
    const reads = { n: 0 };
    const proxy = new Proxy(globs, {
      get(target, key, receiver) {
        if (typeof key === 'string' && /^\d+$/.test(key)) reads.n++;
        return Reflect.get(target, key, receiver);
      },
    });
    return { proxy, reads };
  };

  it('answers why from the count alone past MAX_GLOBS, reading no glob', () => {
    const { proxy, reads } = counted(
      Array.from({ length: 200 }, (_, i) => `**/${'*a'.repeat(200)}${i}*/**/x`),
    );
    expect(globsBeyondCaps(proxy)).toBe(`200 path globs: a policy holds at most ${MAX_GLOBS}`);
    expect(reads.n).toBe(0);
  });

  it('answers why from the lengths past MAX_GLOB_LENGTH, before reading any glob through', () => {
    const huge = `project/${'a*'.repeat(50_000)}/x`;
    expect(globsBeyondCaps(['project/App/*', huge])).toBe(
      `the path glob "project/${'a*'.repeat(16)}…" is ${huge.length} characters long: a glob is at most ${MAX_GLOB_LENGTH}`,
    );
  });

  it("gives parseGlobs' reason within the count and lengths, and undefined within the caps", () => {
    expect(globsBeyondCaps(['project/**/app/x/*'])).toContain('4 segments besides **');
    expect(globsBeyondCaps(['project/app/*', '**'])).toBeUndefined();
    expect(globsBeyondCaps([])).toBeUndefined();
    const refused = (() => {
      try {
        globsBeyondCaps(['project/App/*']);
      } catch (err) {
        return err as CofferError;
      }
      return undefined;
    })();
    expect(refused?.code).toBe('USAGE');
  });
});

describe('a malformed glob in a message', () => {
  it('is shown with its control characters escaped and its length capped', () => {
    // A glob comes from outside (a flag, an API body): a terminal escape in it must not reach
    // the terminal that shows the error.
    for (const glob of [
      'project/\u001b[2J/*',
      `project/${'\u0007'.repeat(300)}/*`,
      '\u001b]0;x\u0007/*/*',
    ]) {
      let caught: unknown;
      try {
        parseGlobs([glob]);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(CofferError);
      const message = (caught as CofferError).message;
      expect([...message].some((c) => c.charCodeAt(0) < 0x20 || c === '\u007f')).toBe(false);
      expect(message).toContain('\\u00');
      // At most 120 characters of the glob, each at most 6 once escaped.
      expect(message.length).toBeLessThan(1000);
    }
  });
});
