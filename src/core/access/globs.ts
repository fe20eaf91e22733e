/**
 * Key-path globs: the path half of every access policy (`coffer mcp --allow GLOB`, a token's
 * `allow`), and the check that one glob is contained in another, which bounds what a token
 * may grant when it creates another.
 *
 * A glob is matched against the whole key path, segment by segment: `*` matches any run of
 * characters inside one segment (`project/consilio/*`, `project/consilio/stripe_*`), and a
 * segment that is exactly `**` matches any number of segments (`project/**`, `**`). Without
 * any glob everything is allowed. A glob that can never match a key path (wrong scope, not
 * three segments and no `**`) is refused when it is given, not silently ignored.
 *
 * Containment (`globWithin`) is sound, not complete: when it says yes, every segment
 * sequence the inner glob matches, the outer one matches too (so every key path); when
 * unsure it says no (e.g. `**` within `*\/*\/*`, true of key paths only). globs.test.ts
 * checks it against brute-force matching on random paths.
 */
import { CofferError } from '../errors.js';
import type { Scope } from '../paths.js';

const GLOB_CHARS = /^[a-z0-9_*/-]+$/;

/** A segment pattern (`*` for any run of characters), or `**`: any number of segments. */
type Segment = string;

interface CompiledGlob {
  text: string;
  /** The glob's segments as written (`**` or a pattern with `*`). */
  parts: string[];
  segments: Segment[];
}

/**
 * Does `pattern` (`*` matches any run of characters) match all of `text`? Linear: the part
 * before the first `*` is a prefix, the part after the last a suffix, and the parts between
 * are found left to right (the leftmost place of each leaves the most room for the rest).
 * A regex would backtrack: `*a*a*a...*b` against `aaa...a` takes exponential time, and one
 * token's glob would stall the server for every client. A `*` in `text` is an ordinary
 * character here (segmentWithin relies on it).
 */
export function wildcardMatch(pattern: string, text: string): boolean {
  const parts = pattern.split('*');
  if (parts.length === 1) return pattern === text;
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  const end = text.length - last.length;
  if (end < first.length || !text.startsWith(first) || !text.endsWith(last)) return false;
  let at = first.length;
  for (let k = 1; k < parts.length - 1; k++) {
    const part = parts[k]!;
    if (part === '') continue;
    const found = text.indexOf(part, at);
    if (found < 0 || found + part.length > end) return false;
    at = found + part.length;
  }
  return true;
}

function compile(glob: string): CompiledGlob {
  const hint =
    'Use e.g. --allow "project/consilio/*", "project/*/*", "meta/cloudflare/*" or "project/**".';
  if (typeof glob !== 'string' || !GLOB_CHARS.test(glob) || glob.split('/').includes('')) {
    throw new CofferError(
      'USAGE',
      `--allow "${String(glob).slice(0, 120)}": globs are lowercase key-path segments separated by /, with * and **`,
      { hint },
    );
  }
  const parts = glob.split('/');
  const deep = parts.includes('**');
  const first = parts[0]!;
  const scopeOk = first === '**' || first === '*' || first === 'project' || first === 'meta';
  if (!scopeOk || (!deep && parts.length !== 3)) {
    throw new CofferError('USAGE', `--allow "${glob}" can never match a key path`, {
      hint: `Key paths are project/{project}/{name} or meta/{service}/{name}. ${hint}`,
    });
  }
  return {
    text: glob,
    parts,
    segments: parts,
  };
}

/** Does `segments` (compiled) match `parts`, with `**` taking any number of parts? */
function matchParts(segments: Segment[], parts: string[], prefix: boolean): boolean {
  if (segments.length === 0) return parts.length === 0;
  const [head, ...rest] = segments;
  if (head === '**') {
    for (let i = 0; i <= parts.length; i++)
      if (matchParts(rest, parts.slice(i), prefix)) return true;
    return false;
  }
  if (parts.length === 0) return prefix;
  return wildcardMatch(head!, parts[0]!) && matchParts(rest, parts.slice(1), prefix);
}

/**
 * Is every string the segment pattern `inner` matches also matched by `outer`? Treats
 * inner's `*` as a character only outer's `*` can match: if outer matches inner's text that
 * way, replacing each inner `*` by any string keeps the match (sound).
 */
function segmentWithin(inner: string, outer: string): boolean {
  return wildcardMatch(outer, inner);
}

/** Sound containment of two compiled globs' segment lists (memoized on positions). */
function partsWithin(inner: string[], outer: string[]): boolean {
  const memo = new Map<number, boolean>();
  const within = (i: number, o: number): boolean => {
    const key = i * (outer.length + 1) + o;
    const known = memo.get(key);
    if (known !== undefined) return known;
    memo.set(key, false); // no cycles: every step below advances i or o
    let yes: boolean;
    if (i === inner.length) {
      yes = outer.slice(o).every((p) => p === '**');
    } else if (o === outer.length) {
      yes = false;
    } else if (outer[o] === '**') {
      // outer's ** matches nothing more, or absorbs inner's next segment (or its **) and stays
      yes = within(i, o + 1) || within(i + 1, o);
    } else if (inner[i] === '**') {
      yes = false; // any number of segments is never within one segment pattern
    } else {
      yes = segmentWithin(inner[i]!, outer[o]!) && within(i + 1, o + 1);
    }
    memo.set(key, yes);
    return yes;
  };
  return within(0, 0);
}

/** Is every key path `inner` matches also matched by `outer` (both valid globs)? Sound. */
export function globWithin(inner: string, outer: string): boolean {
  return partsWithin(compile(inner).parts, compile(outer).parts);
}

/** Between them, every key path: three segments, the first `project` or `meta`. */
const EVERY_KEY_PATH = [
  ['project', '*', '*'],
  ['meta', '*', '*'],
];

export class PathScope {
  readonly #globs: CompiledGlob[];

  /** Throws USAGE for a glob that is malformed or can never match a key path. */
  constructor(globs: readonly string[]) {
    this.#globs = globs.map(compile);
  }

  /**
   * True when every key path is allowed: no glob was given, or the globs contain
   * `project/*\/*` and `meta/*\/*` (`**`, or `project/**` with `meta/**`, ...).
   */
  get unrestricted(): boolean {
    return (
      this.#globs.length === 0 ||
      EVERY_KEY_PATH.every((all) => this.#globs.some((g) => partsWithin(all, g.parts)))
    );
  }

  /** The globs as given, for messages. */
  get globs(): string[] {
    return this.#globs.map((g) => g.text);
  }

  /** Is this (valid, canonical) key path allowed? */
  allows(path: string): boolean {
    if (this.#globs.length === 0) return true;
    const parts = path.split('/');
    return this.#globs.some((g) => matchParts(g.segments, parts, false));
  }

  /** Could any key path under `scope/group/` be allowed? */
  mayContain(scope: Scope, group: string): boolean {
    if (this.#globs.length === 0) return true;
    return this.#globs.some((g) => matchParts(g.segments, [scope, group], true));
  }

  /**
   * Is every key path that `globs` allow also allowed here (sound: when unsure, no)? Each
   * of them must lie within one glob of this scope; no glob at all means every key path.
   */
  covers(globs: readonly string[]): boolean {
    if (this.unrestricted) return true;
    const inner = globs.length === 0 ? [compile('**')] : globs.map(compile);
    return inner.every((i) => this.#globs.some((o) => partsWithin(i.parts, o.parts)));
  }
}
