/**
 * Key paths, environment names and descriptions: the grammar every front end shares.
 *
 * A secret is addressed by `project/{project}/{name}` or `meta/{service}/{name}`. Each
 * segment is lowercase `[a-z0-9]`, with `-` and `_` allowed inside (not first or last).
 * Wrong input is refused with an error that names the rule and, where one can be derived,
 * suggests the corrected path. Nothing here ever sees a secret value.
 */
import { CofferError } from './errors.js';

export type Scope = 'project' | 'meta';
export const SCOPES: readonly Scope[] = ['project', 'meta'];

export interface KeyPath {
  readonly scope: Scope;
  /** The project (scope `project`) or service (scope `meta`). */
  readonly group: string;
  readonly name: string;
  /** The canonical text form, `scope/group/name`. */
  readonly path: string;
}

const SEGMENT = /^[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?$/;
/** The longest segment of a key path, in characters. */
export const MAX_SEGMENT = 100;
/** Every key path has exactly this many segments: scope, project or service, name. */
export const KEY_PATH_SEGMENTS = 3;
const ENV_NAME = /^[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?$/;
const MAX_ENV = 32;

/** The key-path grammar in words, for hints. */
export const PATH_RULE: string =
  'key paths are project/{project}/{name} or meta/{service}/{name}; each segment is lowercase ' +
  'letters and digits, with - and _ allowed inside';

/** True when `s` is a valid path segment (project, service or name). */
export function isValidSegment(s: string): boolean {
  return s.length <= MAX_SEGMENT && SEGMENT.test(s);
}

/** Turns free text into the closest valid segment, or '' when nothing is left. */
export function normalizeSegment(s: string): string {
  return s
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '_')
    .replace(/^[-_]+|[-_]+$/g, '')
    .slice(0, MAX_SEGMENT);
}

/**
 * Suggests a corrected path for wrong input, or undefined when no good guess exists.
 * `project/CONSILIO/Key` -> `project/consilio/key`; `consilio-stripe-key` ->
 * `project/consilio/stripe_key`.
 */
export function suggestKeyPath(input: string): string | undefined {
  const trimmed = input.trim().replace(/^\/+|\/+$/g, '');
  const parts = trimmed.split(/\/+/).filter((p) => p.length > 0);
  const first = parts[0]?.toLowerCase();
  let scope: Scope | undefined;
  if (first === 'project' || first === 'projects') scope = 'project';
  else if (first === 'meta') scope = 'meta';
  if (scope !== undefined && parts.length >= 3) {
    const group = normalizeSegment(parts[1]!);
    const name = normalizeSegment(parts.slice(2).join('_'));
    return group && name ? `${scope}/${group}/${name}` : undefined;
  }
  if (scope === undefined && parts.length === 2) {
    const group = normalizeSegment(parts[0]!);
    const name = normalizeSegment(parts[1]!);
    return group && name ? `project/${group}/${name}` : undefined;
  }
  if (scope === undefined && parts.length === 1 && !parts[0]!.includes('_')) {
    // `consilio-stripe-key`: take the first word as the project, the rest as the name. A
    // name with `_` (`stripe_api_key`) is a secret's name: no project is made up from it.
    const words = normalizeSegment(parts[0]!).split(/[-_]+/).filter(Boolean);
    if (words.length >= 2) return `project/${words[0]}/${words.slice(1).join('_')}`;
  }
  return undefined;
}

function invalidPath(input: string, why: string): CofferError {
  const suggestion = suggestKeyPath(input);
  const bareName = !input.includes('/') ? normalizeSegment(input) : '';
  const hint =
    suggestion !== undefined && suggestion !== input
      ? `did you mean ${suggestion}? (${PATH_RULE})`
      : bareName !== ''
        ? `give the full path: project/{project}/${bareName} or meta/{service}/${bareName} (${PATH_RULE})`
        : `${PATH_RULE}; e.g. project/consilio/stripe_api_key or meta/cloudflare/api_token`;
  return new CofferError('INVALID_PATH', `invalid key path "${printable(input)}": ${why}`, {
    hint,
  });
}

/** Shows untrusted input safely in a message: control characters escaped, length capped. */
export function printable(s: string, max = 120): string {
  const capped = s.length > max ? `${s.slice(0, max)}…` : s;
  return JSON.stringify(capped).slice(1, -1);
}

/** Parses and validates a key path; throws INVALID_PATH with a suggestion. */
export function parseKeyPath(input: string): KeyPath {
  if (typeof input !== 'string') throw new TypeError('key path must be a string');
  const parts = input.split('/');
  const scope = parts[0];
  if (scope !== 'project' && scope !== 'meta') {
    return fail(
      input,
      parts.length === 1
        ? 'it has no scope: paths start with project/ or meta/'
        : `"${printable(scope ?? '')}" is not a scope: paths start with project/ or meta/`,
    );
  }
  if (parts.length !== 3) {
    return fail(
      input,
      parts.length < 3
        ? `a ${scope} path has three segments: ${scope}/{${scope === 'project' ? 'project' : 'service'}}/{name}`
        : 'the name may not contain /',
    );
  }
  const group = parts[1]!;
  const name = parts[2]!;
  for (const [label, seg] of [
    [scope === 'project' ? 'project' : 'service', group],
    ['name', name],
  ] as const) {
    if (seg.length === 0) return fail(input, `the ${label} segment is empty`);
    if (seg.length > MAX_SEGMENT)
      return fail(input, `the ${label} segment is longer than ${MAX_SEGMENT} characters`);
    if (!SEGMENT.test(seg)) {
      const why =
        seg !== seg.toLowerCase()
          ? `the ${label} segment must be lowercase`
          : `the ${label} segment may hold only a-z, 0-9, and - or _ inside`;
      return fail(input, why);
    }
  }
  return { scope, group, name, path: `${scope}/${group}/${name}` };
}

function fail(input: string, why: string): never {
  throw invalidPath(input, why);
}

/** Validates a key-path prefix used by `list`: `project`, `meta`, `project/P`, `meta/S`. */
export function parsePathPrefix(input: string): { scope: Scope; group?: string } {
  const parts = input.replace(/\/+$/, '').split('/');
  const scope = parts[0];
  if ((scope === 'project' || scope === 'meta') && parts.length <= 2) {
    if (parts.length === 1) return { scope };
    const group = parts[1]!;
    if (isValidSegment(group)) return { scope, group };
  }
  // A key path given as a prefix (`project/consilio/stripe_api_key`): its group. Otherwise
  // the grammar fix of `input` as a group, never a made-up name.
  const group = parts.length >= 3 ? parts.slice(0, 2).join('/') : input;
  const suggestion = suggestKeyPath(`${group}/x`)?.replace(/\/x$/, '');
  throw new CofferError('INVALID_PATH', `invalid prefix "${printable(input)}"`, {
    hint:
      suggestion !== undefined && suggestion !== input
        ? `did you mean ${suggestion}? Prefixes are project, meta, project/{project} or meta/{service}.`
        : 'Prefixes are project, meta, project/{project} or meta/{service}.',
  });
}

/**
 * Validates a project name (`consilio`): one segment of a key path. `project/consilio` is
 * refused with a hint naming `consilio`.
 */
export function parseProjectName(input: string): string {
  if (typeof input !== 'string') throw new TypeError('project must be a string');
  if (isValidSegment(input)) return input;
  const parts = input.split('/').filter((p) => p !== '');
  const named = parts[0] === 'project' && parts.length >= 2 ? parts[1]! : input;
  const fixed = normalizeSegment(named);
  throw new CofferError(
    'INVALID_PATH',
    `invalid project name "${printable(input)}": a project is one segment of a key path (project/{project}/{name})`,
    {
      hint:
        fixed && fixed !== input
          ? `did you mean ${fixed}? Project names are lowercase letters, digits, - and _.`
          : 'Project names are lowercase letters, digits, - and _.',
    },
  );
}

/** Validates an environment name (`dev`, `staging`, `prod`, or any lowercase name). */
export function parseEnvironment(input: string): string {
  if (typeof input !== 'string') throw new TypeError('environment must be a string');
  if (input.length > 0 && input.length <= MAX_ENV && ENV_NAME.test(input)) return input;
  const fixed = normalizeSegment(input);
  throw new CofferError('INVALID_ENV', `invalid environment "${printable(input)}"`, {
    hint:
      fixed && fixed !== input
        ? `did you mean ${fixed}? Environment names are lowercase letters, digits, - and _.`
        : undefined,
  });
}

/** The env-var name of a secret: its name uppercased, `-` turned into `_`. */
export function envVarNameFor(name: string): string {
  return name.toUpperCase().replace(/-/g, '_');
}

/** The variable a stored secret is injected as: its `envVar` metadata, else from its name. */
export function secretEnvVar(s: { path: string; envVar: string | null }): string {
  return s.envVar ?? envVarNameFor(parseKeyPath(s.path).name);
}

const ENV_VAR = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Whether `input` is an environment-variable name coffer accepts (at most 128 characters). */
export function isEnvVarName(input: string): boolean {
  // `__proto__` is a name every object in JavaScript answers to: export's JSON dropped it,
  // run never set it, the .env writer refused it. One answer for all: not a variable name.
  return ENV_VAR.test(input) && input.length <= 128 && input !== '__proto__';
}

/** Validates an environment-variable name (`STRIPE_API_KEY`). */
export function parseEnvVarName(input: string): string {
  if (isEnvVarName(input)) return input;
  throw new CofferError(
    'INVALID_ARGUMENT',
    `invalid environment variable name "${printable(input)}"`,
    {
      hint: 'Use letters, digits and _, not starting with a digit (e.g. STRIPE_API_KEY).',
    },
  );
}

/**
 * Words that say nothing about what a secret is for: what kind of thing it is ("API key",
 * "password", "URL"), filler ("the", "for"), and placeholders ("TODO", "empty"). They do not
 * count towards a description's meaning.
 */
const GENERIC_WORDS = new Set([
  'api',
  'apikey',
  'key',
  'keys',
  'password',
  'passwords',
  'passwd',
  'pass',
  'pwd',
  'secret',
  'secrets',
  'token',
  'tokens',
  'credential',
  'credentials',
  'cred',
  'creds',
  'value',
  'values',
  'string',
  'private',
  'public',
  'access',
  'auth',
  'url',
  'urls',
  'uri',
  'dsn',
  'id',
  'the',
  'a',
  'an',
  'my',
  'our',
  'your',
  'this',
  'that',
  'its',
  'of',
  'for',
  'to',
  'in',
  'on',
  'at',
  'by',
  'with',
  'from',
  'is',
  'and',
  'or',
  'new',
  'old',
  'some',
  'test',
  'todo',
  'tbd',
  'fixme',
  'xxx',
  'env',
  'environment',
  'variable',
  'var',
  'config',
  'setting',
  'data',
  'info',
  'misc',
  'stuff',
  'thing',
  'none',
  'empty',
  'blank',
  'placeholder',
  'project',
  'service',
  'n/a',
  'na',
]);

export const DESCRIPTION_EXAMPLE = 'Stripe API key for payment processing';
const MAX_DESCRIPTION = 500;
/** Words other than generic ones a description needs. */
const MEANINGFUL_WORDS = 2;

const DESCRIPTION_HINT =
  `Say what the secret is for, not only what it is, e.g. "${DESCRIPTION_EXAMPLE}", ` +
  '"PostgreSQL production database password" or "SendGrid API key for transactional ' +
  'emails" (not "Stripe key", "Database" or "JWT secret").';

function descriptionWords(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}/]+/u)
    .filter((w) => w.length > 0);
}

/**
 * Validates a description: required, and it must say what the secret is for, not only what
 * it is. Words that only name a kind of secret or fill a sentence ("API key", "the", "for";
 * `GENERIC_WORDS`) do not count; at least two other words must be left, and when `path` is
 * given, one of them must be more than a word of the path itself (a template's
 * "STRIPE_API_KEY for the consilio project" repeats project/consilio/stripe_api_key).
 * "Stripe API key for payment processing" passes; "Stripe key", "Database", "JWT secret"
 * and "EMPTY for the agents project" do not. Returns the text with its whitespace
 * collapsed. The message never repeats the text: an agent that swapped the value and
 * description arguments would otherwise see the value echoed.
 */
export function parseDescription(input: string | undefined, path?: string): string {
  const text = (input ?? '').trim().replace(/\s+/g, ' ');
  if (text.length === 0) {
    throw new CofferError('INVALID_DESCRIPTION', 'a description is required', {
      hint: DESCRIPTION_HINT,
    });
  }
  if (text.length > MAX_DESCRIPTION) {
    throw new CofferError(
      'INVALID_DESCRIPTION',
      `the description is longer than ${MAX_DESCRIPTION} characters`,
      { hint: 'Keep it to one sentence.' },
    );
  }
  // Control characters and invisible formatting (right-to-left overrides, zero-width spaces)
  // would make a description read otherwise than it is stored, in a list, a page or an
  // agent's prompt; the joiner of emoji sequences (U+200D) is the one kept.
  const hidden = /\p{Cc}|(?!\u200D)\p{Cf}/u.exec(text);
  if (hidden) {
    const code = hidden[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    throw new CofferError(
      'INVALID_DESCRIPTION',
      `the description holds an invisible or control character (U+${code})`,
      { hint: 'Write it as plain text: what the secret is for, in words anyone reads alike.' },
    );
  }
  const meaningful = new Set(
    descriptionWords(text).filter((w) => !GENERIC_WORDS.has(w) && !/^\d+$/.test(w)),
  );
  if (meaningful.size < MEANINGFUL_WORDS) {
    throw new CofferError(
      'INVALID_DESCRIPTION',
      'the description does not say what the secret is for',
      { hint: DESCRIPTION_HINT },
    );
  }
  if (path !== undefined) {
    const own = new Set(pathWords(path));
    if ([...meaningful].every((w) => own.has(w))) {
      throw new CofferError(
        'INVALID_DESCRIPTION',
        'the description only repeats the key path: say what the secret is for',
        { hint: DESCRIPTION_HINT },
      );
    }
  }
  return text;
}

/** The words of a key path's group and name (`project/consilio/stripe_api_key`). */
function pathWords(path: string): string[] {
  return path
    .split('/')
    .slice(1)
    .flatMap((seg) => seg.split(/[-_]+/))
    .filter((w) => w.length > 0);
}
