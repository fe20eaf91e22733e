/**
 * "Did you mean ...?" from what exists. A key path, list prefix, project or environment
 * that is mistyped (`stripe_apikey`, `--env prd`) or given in the wrong form
 * (`get stripe_api_key`, `--project project/consilio`) is answered with the closest key
 * paths, projects and environments among the secrets the asker can see. A grammar fix
 * (`suggestKeyPath`) is offered only when nothing close exists, so a suggestion never
 * invents a name when a real one is near.
 *
 * Callers pass only what the asker may list (in remote mode the server's list, within the
 * token's policy), so a suggestion never names a secret outside it. Only names are compared
 * and shown: never a value, never a description.
 */
import { CofferError } from './errors.js';
import { normalizeSegment, PATH_RULE, suggestKeyPath } from './paths.js';
import { closestMatch, editDistance, nameList } from './suggest.js';

/** A live secret's address, as listed. */
export interface ExistingSecret {
  readonly path: string;
  readonly env: string;
}

/** What was looked up, for `suggestFromExisting`; `env` is the environment as given. */
export type Lookup =
  /**
   * A key path, in an environment (get, history, describe, delete, restore, verify, set).
   * `creating` (set): a grammar fix of an invalid path is kept before an existing path, as
   * the user may mean a new secret.
   */
  | { kind: 'path'; input: string; env?: string | undefined; creating?: boolean }
  /** A list prefix (`project/consilio`), optionally in one environment. */
  | { kind: 'prefix'; input: string; env?: string | undefined }
  /** A project name (`--project`). */
  | { kind: 'project'; input: string; env?: string | undefined };

/** The codes whose hint `suggestFromExisting` can improve. */
export const SUGGESTED_CODES: ReadonlySet<string> = new Set([
  'INVALID_PATH',
  'SECRET_NOT_FOUND',
  'INVALID_ENV',
]);

/** At most this many suggestions in one hint. */
const MAX_SHOWN = 3;

/** Separators count as one kind of character: `stripe-api-key` is `stripe_api_key`. */
function squash(s: string): string {
  return s
    .trim()
    .toLowerCase()
    .replace(/[\s/._-]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/** Edits allowed for a part of `n` characters: a quarter of it, at least 1. */
function budget(n: number): number {
  return Math.max(1, Math.floor(n / 4));
}

/** The distance of two parts when within the budget of the input's part, else undefined. */
function near(input: string, candidate: string): number | undefined {
  const a = squash(input);
  if (a === '') return undefined;
  const d = editDistance(a, squash(candidate));
  return d <= budget(a.length) ? d : undefined;
}

/**
 * How far `input` is from the existing `path`, or undefined when it is not close enough to
 * suggest. Each part is compared with its own budget (a short name allows one edit, so
 * `Key` is not near `pem_key`): with a scope, the group and the name; with two segments,
 * group and name; with one, the name or `group_name` as a whole (`consilio-stripe-key`).
 */
function pathDistance(input: string, path: string): number | undefined {
  const [scope = '', group = '', name = ''] = path.split('/');
  const parts = input
    .trim()
    .split('/')
    .filter((p) => p !== '');
  if (parts.length >= 3) {
    const s = parts[0]!.toLowerCase().replace(/s$/, '');
    if (s !== scope) return undefined;
    const g = near(parts[1]!, group);
    const n = near(parts.slice(2).join('_'), name);
    return g === undefined || n === undefined ? undefined : g + n;
  }
  if (parts.length === 2) {
    const g = near(parts[0]!, group);
    const n = near(parts[1]!, name);
    return g === undefined || n === undefined ? undefined : g + n;
  }
  if (parts.length === 1) {
    const alone = near(parts[0]!, name);
    const whole = near(parts[0]!, `${group}_${name}`);
    if (alone === undefined) return whole;
    return whole === undefined ? alone : Math.min(alone, whole);
  }
  return undefined;
}

function unique<T>(items: Iterable<T>): T[] {
  return [...new Set(items)];
}

function envsOf(existing: readonly ExistingSecret[], path: string): string[] {
  return unique(existing.filter((s) => s.path === path).map((s) => s.env)).sort();
}

/** `a`, `a or b`, `a, b or c`. */
function either(items: readonly string[]): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

/**
 * The existing key paths closest to `input` (best first, at most three), each with the
 * environments it exists in. `env` ranks paths that exist in it first at equal distance.
 */
export function closestPaths(
  input: string,
  existing: readonly ExistingSecret[],
  env?: string,
): { path: string; envs: string[] }[] {
  const scored: { path: string; d: number; here: boolean }[] = [];
  for (const path of unique(existing.map((s) => s.path))) {
    if (path === input) continue;
    const d = pathDistance(input, path);
    if (d === undefined) continue;
    scored.push({ path, d, here: existing.some((s) => s.path === path && s.env === env) });
  }
  scored.sort(
    (x, y) => x.d - y.d || Number(y.here) - Number(x.here) || x.path.localeCompare(y.path),
  );
  const best = scored[0]?.d;
  return scored
    .filter((s) => s.d === best)
    .slice(0, MAX_SHOWN)
    .map((s) => ({ path: s.path, envs: envsOf(existing, s.path) }));
}

function showPaths(found: { path: string; envs: string[] }[], env: string | undefined): string {
  return either(
    found.map(({ path, envs }) =>
      env === undefined || envs.includes(env) ? path : `${path} (in ${nameList(envs)})`,
    ),
  );
}

/** The hint for a key path that does not exist (or is not valid) in `env`. */
function pathHint(input: string, env: string | undefined, existing: readonly ExistingSecret[]) {
  // The grammar fix, when it exists, is the best guess (`project/CONSILIO/Key`).
  const fix = suggestKeyPath(input);
  if (fix !== undefined && fix !== input && existing.some((s) => s.path === fix)) {
    return `did you mean ${showPaths([{ path: fix, envs: envsOf(existing, fix) }], env)}?`;
  }
  const elsewhere = envsOf(existing, input);
  if (elsewhere.length > 0 && env !== undefined && !elsewhere.includes(env)) {
    const near = closestMatch(env, elsewhere);
    return (
      `${input} exists in ${elsewhere.length === 1 ? 'environment' : 'environments'} ` +
      `${nameList(elsewhere)}: did you mean --env ${near ?? elsewhere[0]}?`
    );
  }
  const found = closestPaths(input, existing, env);
  return found.length > 0 ? `did you mean ${showPaths(found, env)}?` : undefined;
}

/** The existing `scope/group` prefixes, e.g. `project/consilio`, `meta/cloudflare`. */
function prefixesOf(existing: readonly ExistingSecret[]): string[] {
  return unique(existing.map((s) => s.path.split('/').slice(0, 2).join('/'))).sort();
}

function prefixHint(input: string, existing: readonly ExistingSecret[]): string | undefined {
  const trimmed = input.replace(/\/+$/, '');
  if (existing.some((s) => s.path === trimmed)) {
    const [scope, group] = trimmed.split('/');
    return (
      `${trimmed} is a secret, not a prefix: list its ${scope === 'meta' ? 'service' : 'project'} ` +
      `with \`coffer list ${scope}/${group}\`, or read it with \`coffer get ${trimmed}\`.`
    );
  }
  const prefixes = prefixesOf(existing);
  // `project/consilo`, or a bare `consilio`: the group is compared with each existing one.
  const [scope, group] = trimmed.split('/');
  const scored = prefixes
    .map((p) => {
      const [pScope, pGroup = ''] = p.split('/');
      const d =
        group === undefined
          ? near(trimmed, pGroup)
          : scope === pScope
            ? near(group, pGroup)
            : undefined;
      return { p, d };
    })
    .filter((x): x is { p: string; d: number } => x.d !== undefined)
    .sort((x, y) => x.d - y.d || x.p.localeCompare(y.p));
  if (scored.length > 0) {
    const best = scored.filter((x) => x.d === scored[0]!.d).map((x) => x.p);
    return `did you mean ${either(best.slice(0, MAX_SHOWN))}?`;
  }
  // A key path given as a prefix, close to an existing one: list its group.
  const paths = closestPaths(trimmed, existing);
  if (paths.length > 0) {
    const groups = unique(paths.map((p) => p.path.split('/').slice(0, 2).join('/')));
    return `did you mean ${either(groups)}? (list takes a prefix: project, meta, project/{project} or meta/{service})`;
  }
  return undefined;
}

function projectsOf(existing: readonly ExistingSecret[]): string[] {
  return unique(
    existing.filter((s) => s.path.startsWith('project/')).map((s) => s.path.split('/')[1]!),
  ).sort();
}

function projectHint(input: string, existing: readonly ExistingSecret[]): string | undefined {
  const projects = projectsOf(existing);
  // `project/consilio` or `project/consilio/stripe_api_key`: the project is the second segment.
  const parts = input.split('/').filter((p) => p !== '');
  const named = parts[0] === 'project' && parts.length >= 2 ? parts[1]! : input;
  if (projects.includes(named)) return `did you mean --project ${named}?`;
  const near = closestMatch(normalizeSegment(named) || named, projects);
  return near === undefined ? undefined : `did you mean --project ${near}?`;
}

function envHint(input: string, existing: readonly ExistingSecret[]): string | undefined {
  const envs = unique(existing.map((s) => s.env)).sort();
  const near = closestMatch(normalizeSegment(input) || input, envs);
  return near === undefined ? undefined : `did you mean ${near}? (environments: ${nameList(envs)})`;
}

/**
 * `err` with a hint from what exists, or `err` itself when nothing close exists (its own
 * hint, a grammar fix, stays). Only INVALID_PATH, SECRET_NOT_FOUND and INVALID_ENV are
 * changed; the code and message stay as they were.
 *
 * @example
 * ```ts
 * suggestFromExisting(notFound, { kind: 'path', input: 'project/consilio/stripe_apikey', env: 'dev' },
 *   [{ path: 'project/consilio/stripe_api_key', env: 'dev' }]).hint;
 * // 'did you mean project/consilio/stripe_api_key?'
 * ```
 */
export function suggestFromExisting(
  err: CofferError,
  lookup: Lookup,
  existing: readonly ExistingSecret[],
): CofferError {
  let hint: string | undefined;
  if (err.code === 'INVALID_ENV') {
    hint = lookup.env === undefined ? undefined : envHint(lookup.env, existing);
  } else if (lookup.kind === 'path') {
    const fix = err.code === 'INVALID_PATH' ? suggestKeyPath(lookup.input) : undefined;
    if (lookup.creating && fix !== undefined && !existing.some((s) => s.path === fix)) return err;
    hint = pathHint(lookup.input, lookup.env, existing);
    if (hint !== undefined) {
      hint +=
        err.code === 'SECRET_NOT_FOUND' ? ' (`coffer list` lists what exists)' : ` (${PATH_RULE})`;
    }
  } else if (lookup.kind === 'prefix') {
    hint = prefixHint(lookup.input, existing);
  } else {
    hint = projectHint(lookup.input, existing);
  }
  if (hint === undefined) return err;
  return new CofferError(err.code, err.message, { hint, cause: err });
}

/**
 * What to say when a list found nothing: the closest existing prefix (a mistyped project),
 * or the environments that prefix has (a mistyped environment). Undefined when there is
 * nothing close, or nothing at all.
 */
export function emptyListHint(
  prefix: string | undefined,
  env: string | undefined,
  existing: readonly ExistingSecret[],
): string | undefined {
  if (existing.length === 0) return undefined;
  const under =
    prefix === undefined
      ? existing
      : existing.filter((s) => s.path === prefix || s.path.startsWith(`${prefix}/`));
  if (prefix !== undefined && under.length === 0) {
    const hint = prefixHint(prefix, existing);
    return hint ?? `prefixes that exist: ${nameList(prefixesOf(existing))}`;
  }
  if (env !== undefined) {
    const envs = unique(under.map((s) => s.env)).sort();
    const near = closestMatch(env, envs);
    return `${near ? `did you mean --env ${near}? ` : ''}${prefix ?? 'the vault'} has secrets in ${nameList(envs)}`;
  }
  return undefined;
}
