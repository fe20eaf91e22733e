/**
 * File-path globs, as ignore files and `--exclude` options write them: one matcher for every
 * place that reads them (`coffer scan --exclude`, `.dockerignore` in doctor, `.cursorignore`
 * in agent check).
 *
 *   *      any run of characters within one path segment (not `/`)
 *   ?      one character within a segment
 *   [abc]  one of the characters (`[!abc]` or `[^abc]`: none of them; `a-z` ranges)
 *   **     as a whole segment: any number of segments (`**` + `/x` also matches `x`,
 *          `a/` + `**` + `/b` also `a/b`, a final `**` everything below); inside a segment, as `*`
 *   \x     the character x itself
 *
 * Paths are `/`-separated and relative. What a pattern is anchored to, and whether a
 * directory's pattern also covers what it holds, differ between the files that use them, so
 * the caller says (`pathGlob`). Matching runs the glob as a set of states over the path, one
 * character at a time: time linear in the path for a given glob, whatever either holds (a
 * regular expression with one `[^/]*` per `*` backtracks for minutes on `*a*a*a...b`).
 */
import { CofferError } from './errors.js';

type Token =
  | { kind: 'char'; c: string }
  | { kind: 'one' }
  | { kind: 'class'; test: (c: string) => boolean }
  | { kind: 'star' }
  /** `**` then `/`: zero or more whole segments. */
  | { kind: 'dirs' }
  /** A final `**`: everything from here. */
  | { kind: 'rest' };

/** A `[...]` class at `glob[start]`: its test and where it ends; undefined if not closed. */
function charClass(
  glob: string,
  start: number,
): { test: (c: string) => boolean; end: number } | undefined {
  let i = start + 1;
  let negate = false;
  if (glob[i] === '!' || glob[i] === '^') {
    negate = true;
    i++;
  }
  const first = i;
  const members: string[] = [];
  const ranges: [string, string][] = [];
  for (; i < glob.length; i++) {
    let c = glob[i]!;
    // A `]` right after the opening (or its negation) is a member, as in shells.
    if (c === ']' && i > first) {
      const test = (x: string) =>
        x !== '/' &&
        negate !== (members.includes(x) || ranges.some(([lo, hi]) => x >= lo && x <= hi));
      return { test, end: i };
    }
    if (c === '\\' && i + 1 < glob.length) c = glob[++i]!;
    if (glob[i + 1] === '-' && i + 2 < glob.length && glob[i + 2] !== ']') {
      let hi = glob[i + 2]!;
      i += 2;
      if (hi === '\\' && i + 1 < glob.length) hi = glob[++i]!;
      if (hi < c) {
        throw new CofferError('INVALID_ARGUMENT', `invalid glob ${JSON.stringify(glob)}`, {
          hint: `The range ${c}-${hi} runs backwards.`,
        });
      }
      ranges.push([c, hi]);
    } else {
      members.push(c);
    }
  }
  return undefined;
}

function tokenize(glob: string): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      let j = i + 1;
      while (glob[j] === '*') j++;
      const wholeSegment =
        (i === 0 || glob[i - 1] === '/') && (j === glob.length || glob[j] === '/');
      if (j - i >= 2 && wholeSegment && j === glob.length) out.push({ kind: 'rest' });
      else if (j - i >= 2 && wholeSegment) {
        out.push({ kind: 'dirs' });
        j++; // the `/` is part of it
      } else if (out.at(-1)?.kind !== 'star') out.push({ kind: 'star' });
      i = j - 1;
    } else if (c === '?') {
      out.push({ kind: 'one' });
    } else if (c === '[') {
      const cls = charClass(glob, i);
      if (cls === undefined) out.push({ kind: 'char', c });
      else {
        out.push({ kind: 'class', test: cls.test });
        i = cls.end;
      }
    } else if (c === '\\' && i + 1 < glob.length) {
      out.push({ kind: 'char', c: glob[++i]! });
    } else {
      out.push({ kind: 'char', c });
    }
  }
  return out;
}

export interface PathGlobOptions {
  /** Match at any depth (a `.gitignore` pattern without an inner `/`); else from the root. */
  anyDepth?: boolean;
  /** A pattern that matches a directory also matches everything below it. */
  contents?: boolean;
}

/** A compiled glob: `test(path)` as a RegExp's. */
export interface PathMatcher {
  test(path: string): boolean;
}

/**
 * A matcher for `/`-separated relative paths. Throws INVALID_ARGUMENT for a glob that has no
 * meaning (a range such as `[z-a]`), naming the glob.
 */
export function pathGlob(glob: string, options: PathGlobOptions = {}): PathMatcher {
  const tokens = tokenize(glob);
  const n = tokens.length;
  const anyDepth = options.anyDepth === true;
  const contents = options.contents === true;
  // States: token index 0..n (n: the glob is used up), and for a `dirs` token at i, the
  // state "inside a segment it skips" as n + 1 + i.
  const inside = (i: number) => n + 1 + i;
  /** `states` with every state reachable without reading a character added. */
  const close = (states: Set<number>): Set<number> => {
    const stack = [...states];
    while (stack.length > 0) {
      const s = stack.pop()!;
      if (s >= n) continue;
      const t = tokens[s]!;
      if ((t.kind === 'star' || t.kind === 'dirs') && !states.has(s + 1)) {
        states.add(s + 1);
        stack.push(s + 1);
      }
      if (t.kind === 'rest' && !states.has(n)) states.add(n);
    }
    return states;
  };
  return {
    test(path: string): boolean {
      let states = close(new Set([0]));
      for (let p = 0; p < path.length; p++) {
        const c = path[p]!;
        // With `contents`, a match up to a `/` covers the rest.
        if (contents && c === '/' && states.has(n)) return true;
        const next = new Set<number>();
        for (const s of states) {
          if (s > n) {
            // Inside a segment a `dirs` token skips: on to its end.
            const i = s - n - 1;
            next.add(c === '/' ? i : s);
            continue;
          }
          if (s === n) continue;
          const t = tokens[s]!;
          switch (t.kind) {
            case 'char':
              if (c === t.c) next.add(s + 1);
              break;
            case 'one':
              if (c !== '/') next.add(s + 1);
              break;
            case 'class':
              if (t.test(c)) next.add(s + 1);
              break;
            case 'star':
              if (c !== '/') next.add(s);
              break;
            case 'dirs':
              next.add(c === '/' ? s : inside(s));
              break;
            case 'rest':
              next.add(s);
              break;
          }
        }
        // Any depth: a match may also start after each `/`.
        if (anyDepth && c === '/') next.add(0);
        states = close(next);
        if (states.size === 0 && !anyDepth) return false;
      }
      return states.has(n);
    },
  };
}
