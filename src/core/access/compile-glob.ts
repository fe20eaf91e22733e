/**
 * A key-path glob's grammar, checked and compiled (globs.ts says what globs mean and what
 * they may cost): lowercase key-path segments separated by `/`, with `*` inside a segment
 * and `**` as a segment of its own, whose first segment can be a scope. Compiling merges
 * each run of `**` segments into one. The caps new globs have (count, length, segments)
 * are parseGlobs' (globs.ts), checked before anything is compiled; this file checks only
 * that a glob is well formed and could match a key path, so globs stored before the caps
 * still load.
 */
import { CofferError } from '../errors.js';
import { KEY_PATH_SEGMENTS, printable } from '../paths.js';

const GLOB_CHARS = /^[a-z0-9_*/-]+$/;

/** A segment pattern (`*` for any run of characters), or `**`: any number of segments. */
export type Segment = string;

export interface CompiledGlob {
  text: string;
  /** The glob's segments as written (`**` or a pattern with `*`). */
  parts: string[];
  segments: Segment[];
}

export const GLOB_HINT =
  'Use e.g. --allow "project/consilio/*", "project/*/*", "meta/cloudflare/*" or "project/**".';

/**
 * Checks a glob's grammar and compiles it, merging each run of `**` segments into one.
 * Throws USAGE for a malformed glob or one that can never match a key path. Linear in the
 * glob's length, which it does not cap.
 */
export function compileGlob(glob: string): CompiledGlob {
  if (typeof glob !== 'string' || !GLOB_CHARS.test(glob) || glob.split('/').includes('')) {
    throw new CofferError(
      'USAGE',
      `--allow "${printable(String(glob))}": globs are lowercase key-path segments separated by /, with * and **`,
      { hint: GLOB_HINT },
    );
  }
  const parts = glob.split('/').filter((p, i, all) => p !== '**' || all[i - 1] !== '**');
  const deep = parts.includes('**');
  const first = parts[0]!;
  const scopeOk = first === '**' || first === '*' || first === 'project' || first === 'meta';
  if (!scopeOk || (!deep && parts.length !== KEY_PATH_SEGMENTS)) {
    throw new CofferError('USAGE', `--allow "${printable(glob)}" can never match a key path`, {
      hint: `Key paths are project/{project}/{name} or meta/{service}/{name}. ${GLOB_HINT}`,
    });
  }
  return {
    text: parts.join('/'),
    parts,
    segments: parts,
  };
}
