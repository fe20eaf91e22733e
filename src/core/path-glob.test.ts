import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pathGlob } from './path-glob.js';

const yes = (glob: string, path: string, o = {}) => pathGlob(glob, o).test(path);

describe('pathGlob', () => {
  it.each([
    ['*.env', 'app.env', true],
    ['*.env', 'dir/app.env', false],
    ['?.env', 'a.env', true],
    ['?.env', 'ab.env', false],
    ['.env*', '.env.local', true],
    ['**/x', 'x', true],
    ['**/x', 'a/b/x', true],
    ['**/x', 'ax', false],
    ['a/**/b', 'a/b', true],
    ['a/**/b', 'a/1/2/b', true],
    ['a/**/b', 'a/1/2/c', false],
    ['a/**', 'a/1/2', true],
    ['a/**', 'b/1', false],
    ['**', 'any/thing', true],
    ['a**b', 'a/b', false],
    ['a**b', 'aXYb', true],
    ['[abc].key', 'b.key', true],
    ['[!abc].key', 'b.key', false],
    ['[!abc].key', 'd.key', true],
    ['[a-c]1', 'b1', true],
    ['[a-c]1', 'd1', false],
    ['[]]x', ']x', true],
    ['\\*.pem', '*.pem', true],
    ['\\*.pem', 'a.pem', false],
    ['[unclosed', '[unclosed', true],
    ['a.b', 'aXb', false],
    ['(x)|y', '(x)|y', true],
    ['[!a]', '/', false],
  ])('%s on %s: %s', (glob, path, want) => {
    expect(yes(glob, path)).toBe(want);
  });

  it('anchors at the root or at any depth, and covers a directory contents when asked', () => {
    expect(yes('.env', 'sub/.env')).toBe(false);
    expect(yes('.env', 'sub/.env', { anyDepth: true })).toBe(true);
    expect(yes('.env', 'x.env', { anyDepth: true })).toBe(false);
    expect(yes('config', 'config/.env')).toBe(false);
    expect(yes('config', 'config/.env', { contents: true })).toBe(true);
    expect(yes('config', 'configs/.env', { contents: true })).toBe(false);
  });

  it('refuses a glob without meaning, naming it', () => {
    expect(() => pathGlob('[z-a]')).toThrow(/invalid glob "\[z-a\]"/);
  });

  it('property: * never crosses a /, and a literal glob matches only itself', () => {
    const seg = fc.stringMatching(/^[a-z.]{1,6}$/);
    fc.assert(
      fc.property(seg, seg, (a, b) => {
        expect(yes('*', `${a}/${b}`)).toBe(false);
        expect(yes('*', a)).toBe(true);
        expect(yes(`${a}/${b}`, `${a}/${b}`)).toBe(true);
        expect(yes(`**/${b}`, `${a}/${a}/${b}`)).toBe(true);
      }),
    );
  });

  it('property: agrees with a regular-expression translation on small globs and paths', () => {
    // The reference: each token as a regex (fine for tiny inputs, exponential for long ones).
    const reference = (glob: string, o: { anyDepth: boolean; contents: boolean }) => {
      let re = '';
      for (let i = 0; i < glob.length; i++) {
        const c = glob[i]!;
        if (c === '*' && glob[i + 1] === '*') {
          let j = i;
          while (glob[j] === '*') j++;
          const whole = (i === 0 || glob[i - 1] === '/') && (j === glob.length || glob[j] === '/');
          if (whole && j === glob.length) re += '.*';
          else if (whole) {
            re += '(?:[^/]*/)*';
            j++;
          } else re += '[^/]*';
          i = j - 1;
        } else if (c === '*') re += '[^/]*';
        else if (c === '?') re += '[^/]';
        else re += c === '/' ? '\\/' : c;
      }
      return new RegExp(`${o.anyDepth ? '(?:^|/)' : '^'}${re}${o.contents ? '(?:/.*)?' : ''}$`);
    };
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', 'b', '/', '*', '?'), maxLength: 7 }),
        fc.string({ unit: fc.constantFrom('a', 'b', '/'), maxLength: 8 }),
        fc.boolean(),
        fc.boolean(),
        (glob, path, anyDepth, contents) => {
          const o = { anyDepth, contents };
          expect(pathGlob(glob, o).test(path), `${glob} ${path} ${JSON.stringify(o)}`).toBe(
            reference(glob, o).test(path),
          );
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('matches in linear time whatever the glob (no nested backtracking)', () => {
    const glob = `${'*a'.repeat(12)}b`;
    const path = 'a'.repeat(5000);
    // A backtracking translation takes minutes here; this one is a single pass per start.
    expect(yes(glob, path)).toBe(false);
  });
});
