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
 *
 * Cost: a policy's globs are matched on every request, so no glob may cost much. Compiling
 * merges a run of `**` segments into one (`**` + `/` + `**` matches what `**` does), and
 * matching runs the glob as a set of states over the path's segments (each segment read
 * once, each state looked at once per segment): at most (glob segments + 1) x (path
 * segments) steps, whatever the glob, where plain recursion on `**` took time exponential
 * in the number of `**`. New globs (`parseGlobs`: a token being created, `coffer mcp
 * --allow`) are also capped, from the key-path grammar (paths.ts): at most MAX_GLOBS globs,
 * each at most MAX_GLOB_LENGTH characters, with at most three segments besides `**`, each
 * holding at most MAX_SEGMENT characters besides `*` (more can never match a key path);
 * the count and the lengths are checked before any glob is compiled (compile-glob.ts).
 * Globs already stored (tokens made before the caps) still load: they are merged the same
 * way and simply never match where they cannot. Containment between policies (`covers`, for
 * each token a listing shows and each grant) runs over pairs of segment positions, without
 * recursion, and stops after COVERS_BUDGET steps with the conservative answer (not covered):
 * two policies within the caps take a fraction of that, uncapped stored ones no longer take
 * tens of millions of steps per token listed. Compiling the inner policy's globs is charged
 * too, a step per character, so hundreds of long stored globs are not all read first.
 */
import { CofferError } from '../errors.js';
import { KEY_PATH_SEGMENTS, MAX_SEGMENT, printable, type Scope } from '../paths.js';
import { type CompiledGlob, compileGlob, GLOB_HINT, type Segment } from './compile-glob.js';

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

/** The most globs one policy may hold (a token's `allow`, `coffer mcp --allow`). */
export const MAX_GLOBS = 64;
/**
 * The longest glob, in characters: three segment patterns of at most MAX_SEGMENT characters
 * with a `*` before, between and after them, a `**` before, between and after those, and
 * the slashes. Anything longer holds runs a glob never needs.
 */
export const MAX_GLOB_LENGTH: number =
  KEY_PATH_SEGMENTS * (2 * MAX_SEGMENT + 1) + (KEY_PATH_SEGMENTS + 1) * 2 + 2 * KEY_PATH_SEGMENTS;

function tooBig(message: string, hint: string): CofferError {
  return new CofferError('INVALID_ARGUMENT', message, { hint });
}

/**
 * Checks new globs (a token being created, `coffer mcp --allow`) and returns them as
 * compiled: each run of `**` merged into one. Throws INVALID_ARGUMENT for more than
 * MAX_GLOBS globs, for a glob longer than MAX_GLOB_LENGTH, with more than three segments
 * besides `**`, or with a segment of more than MAX_SEGMENT characters besides `*` (none of
 * those can match a key path); USAGE for a malformed glob, as PathScope does.
 *
 * The count and every glob's length are checked before any glob is compiled: whatever the
 * caller sends (10,000 globs, a glob of megabytes, malformed or not), the refusal costs a
 * look at the count and the lengths, and compiling reads at most MAX_GLOBS x MAX_GLOB_LENGTH
 * characters. So a glob both too long and malformed is refused for its length.
 */
export function parseGlobs(globs: readonly string[]): string[] {
  if (!Array.isArray(globs)) throw new TypeError('globs must be an array of strings');
  if (globs.length > MAX_GLOBS) {
    throw tooBig(
      `${globs.length} path globs: a policy holds at most ${MAX_GLOBS}`,
      'Merge them: "project/app/*" covers every key of project app, "project/**" every project.',
    );
  }
  for (const glob of globs) {
    if (typeof glob === 'string' && glob.length > MAX_GLOB_LENGTH) {
      throw tooBig(
        `the path glob "${printable(glob, 40)}" is ${glob.length} characters long: a glob is at most ${MAX_GLOB_LENGTH}`,
        `A key path has ${KEY_PATH_SEGMENTS} segments of at most ${MAX_SEGMENT} characters. ${GLOB_HINT}`,
      );
    }
  }
  return globs.map((glob) => {
    const { text, parts } = compileGlob(glob);
    const fixed = parts.filter((p) => p !== '**');
    if (fixed.length > KEY_PATH_SEGMENTS) {
      throw tooBig(
        `the path glob "${text.slice(0, 120)}" has ${fixed.length} segments besides **: it can never match a key path`,
        `A key path has ${KEY_PATH_SEGMENTS} segments, so a glob has at most ${KEY_PATH_SEGMENTS} besides **. ${GLOB_HINT}`,
      );
    }
    if (fixed.some((p) => p.replaceAll('*', '').length > MAX_SEGMENT)) {
      throw tooBig(
        `the path glob "${text.slice(0, 120)}" has a segment longer than ${MAX_SEGMENT} characters: it can never match a key path`,
        `Key-path segments are at most ${MAX_SEGMENT} characters. ${GLOB_HINT}`,
      );
    }
    return text;
  });
}

/**
 * Why globs already stored (a token an earlier coffer made, or one read from a backup) are
 * beyond the caps `parseGlobs` puts on new ones, or undefined when a new token could hold
 * them. The answer is parseGlobs' message, so it is as bounded as parseGlobs: past
 * MAX_GLOBS globs, or with a glob past MAX_GLOB_LENGTH characters, it comes from the count
 * and the lengths alone, before any glob is compiled. Throws USAGE for a malformed glob
 * within those limits (no coffer ever stored one), as PathScope does.
 */
export function globsBeyondCaps(globs: readonly string[]): string | undefined {
  try {
    parseGlobs(globs);
    return undefined;
  } catch (err) {
    if (err instanceof CofferError && err.code === 'INVALID_ARGUMENT') return err.message;
    throw err;
  }
}

/** Counts matching steps (globs.test.ts bounds the work a glob may cost). */
export interface MatchCounter {
  steps: number;
}

/**
 * Does `segments` (compiled) match `parts`, with `**` taking any number of parts? With
 * `prefix`, also when `parts` ends before the glob does (could a longer path match?).
 *
 * The glob runs as a set of states: state i means "segments[0..i) matched the parts read
 * so far" (i = segments.length: all of it). A `**` at i also puts i + 1 in the set without
 * reading a part, and stays in the set when it reads one. Each part moves every state at
 * most one step: (segments + 1) x parts steps at most, counted in `counter`.
 */
function matchParts(
  segments: readonly Segment[],
  parts: readonly string[],
  prefix: boolean,
  counter?: MatchCounter,
): boolean {
  const n = segments.length;
  /** Adds the states a `**` reaches without reading a part (in order: each adds i + 1). */
  const close = (live: boolean[]): boolean[] => {
    for (let i = 0; i < n; i++) if (live[i] === true && segments[i] === '**') live[i + 1] = true;
    return live;
  };
  let live = close([true]);
  for (const part of parts) {
    const next: boolean[] = [];
    let any = false;
    for (let i = 0; i < n; i++) {
      if (live[i] !== true) continue;
      if (counter !== undefined) counter.steps++;
      const seg = segments[i]!;
      const to = seg === '**' ? i : wildcardMatch(seg, part) ? i + 1 : -1;
      if (to >= 0) {
        next[to] = true;
        any = true;
      }
    }
    if (!any) return false;
    live = close(next);
  }
  return live[n] === true || (prefix && live.some((s) => s === true));
}

/**
 * How `glob` (compiled as a stored token's: no caps) matches the key path `path`, and in
 * how many steps. For tests: they bound the work instead of timing it.
 */
export function matchGlobCounted(glob: string, path: string): { matched: boolean; steps: number } {
  const counter: MatchCounter = { steps: 0 };
  const matched = matchParts(compileGlob(glob).segments, path.split('/'), false, counter);
  return { matched, steps: counter.steps };
}

/**
 * Is every string the segment pattern `inner` matches also matched by `outer`? Treats
 * inner's `*` as a character only outer's `*` can match: if outer matches inner's text that
 * way, replacing each inner `*` by any string keeps the match (sound).
 */
function segmentWithin(inner: string, outer: string): boolean {
  return wildcardMatch(outer, inner);
}

/**
 * The most steps one `PathScope.covers` answer may take: a step is a pair of positions in
 * two globs, a character of two segments compared, or a character of a glob compiled (the
 * inner policy's globs, compiled as they are reached). A token holds at most 64 globs of a
 * few segments (parseGlobs), so a check between two such policies takes far fewer; only
 * globs stored before the caps (any number, of any length) can reach it, and then the answer
 * is the conservative one: not covered.
 */
export const COVERS_BUDGET = 1_000_000;

/** What a containment check may still spend, and what it spent (tests count it). */
interface Budget {
  left: number;
  counter: MatchCounter | undefined;
}

/** Thrown inside `partsWithin` when its budget is spent; caught by `covers`. */
class OverBudget extends Error {}

/** Takes `steps` from the budget before they are done; throws when that many are not left. */
function spend(budget: Budget | undefined, steps: number): void {
  if (budget === undefined) return;
  if (steps > budget.left) throw new OverBudget();
  budget.left -= steps;
  if (budget.counter !== undefined) budget.counter.steps += steps;
}

/**
 * Sound containment of two compiled globs' segment lists, computed over every pair of
 * positions (i in inner, o in outer) from the ends back, one row of inner at a time:
 * (inner + 1) x (outer + 1) cells, no recursion (a stored glob of thousands of segments
 * cannot overflow the stack), segments compared only where the rest already fits. With a
 * `budget`, the cells are charged before any work, and each comparison by its characters.
 */
function partsWithin(inner: readonly string[], outer: readonly string[], budget?: Budget): boolean {
  const ni = inner.length;
  const no = outer.length;
  spend(budget, (ni + 1) * (no + 1));
  // next[o]: is inner[i + 1..] within outer[o..]? Past inner's end: only if outer's rest is **.
  let next: boolean[] = new Array<boolean>(no + 1);
  next[no] = true;
  for (let o = no - 1; o >= 0; o--) next[o] = outer[o] === '**' && next[o + 1] === true;
  for (let i = ni - 1; i >= 0; i--) {
    const row: boolean[] = new Array<boolean>(no + 1);
    row[no] = false; // inner has segments left, outer none
    const seg = inner[i]!;
    for (let o = no - 1; o >= 0; o--) {
      const out = outer[o]!;
      if (out === '**') {
        // outer's ** matches nothing more, or absorbs inner's segment (or its **) and stays
        row[o] = row[o + 1] === true || next[o] === true;
      } else if (seg === '**' || next[o + 1] !== true) {
        // any number of segments is never within one segment pattern; or the rest does not fit
        row[o] = false;
      } else {
        spend(budget, seg.length + out.length);
        row[o] = segmentWithin(seg, out);
      }
    }
    next = row;
  }
  return next[0] === true;
}

/** Is every key path `inner` matches also matched by `outer` (both valid globs)? Sound. */
export function globWithin(inner: string, outer: string): boolean {
  return partsWithin(compileGlob(inner).parts, compileGlob(outer).parts);
}

/** Between them, every key path: three segments, the first `project` or `meta`. */
const EVERY_KEY_PATH = [
  ['project', '*', '*'],
  ['meta', '*', '*'],
];

export class PathScope {
  readonly #globs: CompiledGlob[];
  #unrestricted: boolean | undefined;

  /**
   * Throws USAGE for a glob that is malformed or can never match a key path. The caps of
   * `parseGlobs` are not checked here: a token stored before them still loads.
   */
  constructor(globs: readonly string[]) {
    this.#globs = globs.map(compileGlob);
  }

  /**
   * True when every key path is allowed: no glob was given, or the globs contain
   * `project/*\/*` and `meta/*\/*` (`**`, or `project/**` with `meta/**`, ...).
   */
  get unrestricted(): boolean {
    // Once per scope (each covers() asks): linear in the globs' segments, whatever they hold.
    this.#unrestricted ??=
      this.#globs.length === 0 ||
      EVERY_KEY_PATH.every((all) => this.#globs.some((g) => partsWithin(all, g.parts)));
    return this.#unrestricted;
  }

  /** The globs as compiled (each run of `**` merged into one), for messages. */
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
   * At most COVERS_BUDGET steps (counted in `counter`), compiling `globs` included (a step
   * per character): past them, the answer is no. Only
   * globs stored before parseGlobs' caps get there (a listing then leaves their token out,
   * a grant is refused), never two policies made with the caps in place.
   */
  covers(globs: readonly string[], counter?: MatchCounter): boolean {
    if (this.unrestricted) return true;
    const budget: Budget = { left: COVERS_BUDGET, counter };
    try {
      // Each glob is charged its characters before it is compiled (a stored token's may hold
      // any number of any length): past the budget, none of the rest is read.
      const inner = globs.length === 0 ? [compileGlob('**')] : [];
      for (const g of globs) {
        spend(budget, 1 + (typeof g === 'string' ? g.length : 0));
        inner.push(compileGlob(g));
      }
      return inner.every((i) => this.#globs.some((o) => partsWithin(i.parts, o.parts, budget)));
    } catch (err) {
      if (err instanceof OverBudget) return false;
      throw err;
    }
  }
}
