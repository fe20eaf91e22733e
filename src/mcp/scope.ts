/**
 * The key paths an MCP server may touch (`coffer mcp --allow GLOB`, repeatable).
 *
 * A glob is matched against the whole key path, segment by segment: `*` matches any run of
 * characters inside one segment (`project/consilio/*`, `project/consilio/stripe_*`), and a
 * segment that is exactly `**` matches any number of segments (`project/**`, `**`). Without
 * any glob everything is allowed. A glob that can never match a key path (wrong scope, not
 * three segments and no `**`) is refused when the server starts, not silently ignored.
 */
import { CofferError } from '../core/errors.js';
import type { Scope } from '../core/paths.js';

const GLOB_CHARS = /^[a-z0-9_*/-]+$/;

interface CompiledGlob {
  text: string;
  segments: (RegExp | 'any')[];
}

/** One segment as a regex; GLOB_CHARS leaves nothing to escape but `*`. */
function segmentRegex(segment: string): RegExp {
  return new RegExp(`^${segment.replaceAll('*', '[^/]*')}$`);
}

function compile(glob: string): CompiledGlob {
  const hint =
    'Use e.g. --allow "project/consilio/*", "project/*/*", "meta/cloudflare/*" or "project/**".';
  if (!GLOB_CHARS.test(glob) || glob.split('/').some((s) => s === '')) {
    throw new CofferError(
      'USAGE',
      `--allow "${glob.slice(0, 120)}": globs are lowercase key-path segments separated by /, with * and **`,
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
  return { text: glob, segments: parts.map((p) => (p === '**' ? 'any' : segmentRegex(p))) };
}

/** Does `segments` (compiled) match `parts`, with `**` taking any number of parts? */
function matchParts(segments: CompiledGlob['segments'], parts: string[], prefix: boolean): boolean {
  if (segments.length === 0) return parts.length === 0;
  const [head, ...rest] = segments;
  if (head === 'any') {
    for (let i = 0; i <= parts.length; i++)
      if (matchParts(rest, parts.slice(i), prefix)) return true;
    return false;
  }
  if (parts.length === 0) return prefix;
  return head!.test(parts[0]!) && matchParts(rest, parts.slice(1), prefix);
}

export class PathScope {
  readonly #globs: CompiledGlob[];

  /** Throws USAGE for a glob that is malformed or can never match a key path. */
  constructor(globs: readonly string[]) {
    this.#globs = globs.map(compile);
  }

  /** True when no --allow was given: every key path is allowed. */
  get unrestricted(): boolean {
    return this.#globs.length === 0;
  }

  /** The globs as given, for messages. */
  get globs(): string[] {
    return this.#globs.map((g) => g.text);
  }

  /** Is this (valid, canonical) key path allowed? */
  allows(path: string): boolean {
    if (this.unrestricted) return true;
    const parts = path.split('/');
    return this.#globs.some((g) => matchParts(g.segments, parts, false));
  }

  /** Could any key path under `scope/group/` be allowed? */
  mayContain(scope: Scope, group: string): boolean {
    if (this.unrestricted) return true;
    return this.#globs.some((g) => matchParts(g.segments, [scope, group], true));
  }

  /** The error for a key path or project outside the scope. */
  denied(what: string): CofferError {
    return new CofferError('FORBIDDEN', `${what} is outside this MCP server's scope`, {
      hint: `This server allows only ${this.globs.join(', ')} (coffer mcp --allow). Ask the user to widen it if this secret is needed.`,
    });
  }
}
