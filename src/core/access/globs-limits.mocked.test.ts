/**
 * parseGlobs checks its limits (the count of globs, each glob's length) before it compiles
 * any glob, so what an attacker sends as `allow` (a token request, a crafted backup) is
 * refused for its size without being read through. Counted, not timed: compileGlob is
 * wrapped to count its calls.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { CofferError } from '../errors.js';

const compiled = vi.hoisted(() => ({ calls: 0 }));
vi.mock('./compile-glob.js', async (original) => {
  const m = await original<typeof import('./compile-glob.js')>();
  return {
    ...m,
    compileGlob: (glob: string) => {
      compiled.calls++;
      return m.compileGlob(glob);
    },
  };
});

const { globsBeyondCaps, MAX_GLOB_LENGTH, MAX_GLOBS, parseGlobs } = await import('./globs.js');

function refusal(globs: string[]): CofferError {
  try {
    parseGlobs(globs);
  } catch (err) {
    if (err instanceof CofferError) return err;
    throw err;
  }
  throw new Error('not refused');
}

describe('parseGlobs refuses what is past its limits before compiling any glob', () => {
  beforeEach(() => {
    compiled.calls = 0;
  });

  it('a huge malformed glob: refused for its length, never compiled', () => {
    const huge = `PROJECT/${'A*\n'.repeat(1_000_000)}/**`;
    const err = refusal([huge]);
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toMatch(
      new RegExp(`is ${huge.length} characters long: a glob is at most ${MAX_GLOB_LENGTH}$`),
    );
    expect(compiled.calls).toBe(0);
  });

  it('a huge glob after valid and malformed ones: no glob before it is compiled either', () => {
    const err = refusal(['project/app/*', 'project/App/*', `project/${'a'.repeat(5_000_000)}/x`]);
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(compiled.calls).toBe(0);
  });

  it('10,000 globs: refused for their count, none compiled', () => {
    const many = Array.from({ length: 10_000 }, (_, i) => `**/${'*a'.repeat(300)}${i}/**/X`);
    const err = refusal(many);
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toBe(`10000 path globs: a policy holds at most ${MAX_GLOBS}`);
    expect(compiled.calls).toBe(0);
  });

  it('globs within the limits are each compiled once', () => {
    expect(parseGlobs(['project/app/*', 'meta/**'])).toEqual(['project/app/*', 'meta/**']);
    expect(compiled.calls).toBe(2);
  });

  it('globsBeyondCaps (stored globs) answers from the same checks, compiling nothing', () => {
    const many = Array.from({ length: 10_000 }, () => 'project/app/*');
    expect(globsBeyondCaps(many)).toBe(`10000 path globs: a policy holds at most ${MAX_GLOBS}`);
    expect(globsBeyondCaps(['project/App/*', `project/${'b*'.repeat(400)}/*`])).toMatch(
      /is 810 characters long/,
    );
    expect(compiled.calls).toBe(0);
  });
});
