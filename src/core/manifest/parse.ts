/**
 * Reads `coffer.yaml`: YAML (the `yaml` library, one document, unique keys, aliases
 * bounded) checked against the schemas of schema.ts, then every value against core's own
 * rules (key paths, descriptions, generator specs, rotation policies, environment and
 * variable names). Every problem is reported with file:line:column, all of them at once
 * (up to MAX_REPORTED), as one INVALID_MANIFEST error (exit 2). The manifest holds no secret
 * value, but a message still quotes nothing longer than a name.
 *
 * A manifest that is otherwise valid is still refused (INVALID_ARGUMENT, naming each variable
 * and where it is) when a variable's name is one coffer refuses to inject (NODE_OPTIONS,
 * BASH_ENV, ...: core/inject/names.ts) and nothing on this machine allows it: the manifest's
 * own `allow_env_names`, the local project file's for the same project, or the caller's
 * `--allow-env-name`. Setup would otherwise store a secret that `run`, `env pull` and the
 * other injectors then refuse, one the user could not use.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import type * as z from 'zod';
import { CofferError } from '../errors.js';
import { parseGeneratorSpec } from '../generate/spec.js';
import { type RefusedVariable, refusedNames } from '../inject/check.js';
import {
  envVarNameFor,
  isEnvVarName,
  isValidSegment,
  parseDescription,
  parseEnvironment,
  parseEnvVarName,
  parseKeyPath,
} from '../paths.js';
import type { ProjectConfig } from '../project-file/parse.js';
import { allowedEnvNamesFor } from '../project-file/settings.js';
import { parseRotationPolicy } from '../rotation/policy.js';
import { refusedPreviousName } from '../rotation/previous-name.js';
import { closestMatch } from '../suggest.js';
import { DEFAULT_SOURCE_KEY, type Manifest, type ManifestVariable, type Source } from './model.js';
import { ManifestSchema, type RawSource, type RawVariable, VariableSchema } from './schema.js';

/** A manifest larger than this is refused before parsing. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;
const MAX_REPORTED = 20;
const MAX_ALIASES = 100;
const MAX_ROTATE_TEXT = 2000;

type PathKey = string | number;

interface Problem {
  at: PathKey[];
  /** Point at the key of the last path element rather than its value. */
  key?: boolean;
  message: string;
  /** A position known already (YAML syntax errors). */
  pos?: { line: number; col: number };
}

/** One reported problem. */
export interface ManifestIssue {
  file: string;
  line: number;
  col: number;
  message: string;
}

export class ManifestError extends CofferError {
  readonly issues: readonly ManifestIssue[];

  constructor(file: string, issues: ManifestIssue[]) {
    const shown = issues.slice(0, MAX_REPORTED);
    const lines = shown.map((i) => `${i.file}:${i.line}:${i.col}: ${i.message}`);
    if (issues.length > shown.length) lines.push(`... and ${issues.length - shown.length} more`);
    super(
      'INVALID_MANIFEST',
      `${file} is not a valid manifest (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${lines.join('\n')}`,
    );
    this.issues = issues;
  }
}

const KNOWN_KEYS: Record<string, readonly string[]> = {
  manifest: ['$schema', 'project', 'env', 'environments', 'allow_env_names', 'variables'],
  variable: [
    'description',
    'path',
    'group',
    'tier',
    'sensitive',
    'required',
    'source',
    'sources',
    'rotation',
    'rotate',
    'previous',
    'local_only',
  ],
  source: ['generate', 'env', 'value'],
};

const SOURCE_FORMS = 'a source is ask, {generate: SPEC}, {env: VARIABLE} or {value: TEXT}';

/** The YAML node at `path` (or the nearest existing parent), and its key when asked. */
function nodeAt(root: unknown, path: PathKey[], key: boolean): YamlNode | undefined {
  let node = root as YamlNode | undefined;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (pair === undefined) return node;
      if (last && key) return pair.key as YamlNode;
      if (pair.value === null || pair.value === undefined) return pair.key as YamlNode;
      node = pair.value as YamlNode;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as YamlNode | undefined;
      if (item === undefined) return node;
      node = item;
    } else {
      return node;
    }
  }
  return node;
}

function didYouMean(input: string, names: readonly string[]): string {
  const near = closestMatch(input, names);
  return near === undefined ? '' : `; did you mean ${near}?`;
}

/** Text from the file quoted in a message, cut to `max` characters. */
function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}...` : text;
}

/** Where a problem is: the keys leading to it, each cut to the length of a long name. */
function where(path: PathKey[]): string {
  return path.length === 0 ? 'the manifest' : path.map((k) => clip(String(k), 64)).join('.');
}

/** The value at `path` in plain data, or undefined. */
function valueAt(data: unknown, path: PathKey[]): unknown {
  let v = data;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PathKey, unknown>)[k];
  }
  return v;
}

function zodProblems(error: z.ZodError, data: unknown): Problem[] {
  const out: Problem[] = [];
  for (const issue of error.issues) {
    const at = issue.path.filter((k): k is PathKey => typeof k !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      const kind =
        at.length === 0
          ? 'manifest'
          : at.length === 2 && at[0] === 'variables'
            ? 'variable'
            : 'source';
      for (const k of issue.keys) {
        out.push({
          at: [...at, k],
          key: true,
          message: `unknown key "${k.slice(0, 60)}" in ${where(at)}; known keys: ${KNOWN_KEYS[kind]!.join(', ')}`,
        });
      }
    } else if (at.at(-1) === 'tier' || (at.at(-2) === 'tier' && issue.code === 'invalid_union')) {
      out.push({ at, message: `${where(at)}: tier must be 1, 2 or 3` });
    } else if (
      issue.code === 'invalid_union' &&
      (at.at(-1) === 'source' || at.at(-2) === 'sources')
    ) {
      out.push({ at, message: `${where(at)}: ${SOURCE_FORMS}` });
    } else if (issue.code === 'invalid_type') {
      const missing = valueAt(data, at) === undefined;
      out.push({
        at,
        message: missing
          ? `${where(at)} is required`
          : `${where(at)}: expected ${issue.expected === 'object' || issue.expected === 'record' ? 'a mapping' : issue.expected === 'array' ? 'a list' : `a ${issue.expected}`}`,
      });
    } else {
      out.push({ at, message: `${where(at)}: ${issue.message}` });
    }
  }
  return out;
}

/** Runs a core parser; its CofferError becomes a problem at `at`. */
function check<T>(problems: Problem[], at: PathKey[], fn: () => T, key = false): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof CofferError)) throw err;
    const hint = err.hint !== undefined && /did you mean/.test(err.hint) ? ` (${err.hint})` : '';
    problems.push({ at, key, message: `${where(at)}: ${err.message}${hint}` });
    return undefined;
  }
}

function toSource(
  problems: Problem[],
  at: PathKey[],
  raw: RawSource,
  sensitive: boolean,
): Source | undefined {
  if (raw === 'ask') return { kind: 'ask' };
  if ('generate' in raw) {
    const ok = check(problems, [...at, 'generate'], () => parseGeneratorSpec(raw.generate));
    return ok === undefined ? undefined : { kind: 'generate', spec: raw.generate };
  }
  if ('env' in raw) {
    if (!isEnvVarName(raw.env)) {
      problems.push({
        at: [...at, 'env'],
        message: `${where([...at, 'env'])}: not an environment-variable name (letters, digits and _, not starting with a digit)`,
      });
      return undefined;
    }
    return { kind: 'env', variable: raw.env };
  }
  if (sensitive) {
    problems.push({
      at: [...at, 'value'],
      message: `${where([...at, 'value'])}: a sensitive variable may not carry a value in the manifest (set sensitive: false for plain configuration, or use ask, env or generate)`,
    });
    return undefined;
  }
  return { kind: 'value', value: raw.value };
}

/** What a variable of a shared `meta/` secret may not say: the secret's own metadata does. */
const NOT_FOR_SHARED = [
  'source',
  'sources',
  'tier',
  'sensitive',
  'rotation',
  'rotate',
  'previous',
  'local_only',
] as const;

/**
 * The key path `raw.path` names, when the manifest of `project` may name it: one of its own
 * secrets (`project/{project}/...`), or a shared `meta/{service}/{name}` secret read under its
 * own name (`meta/cloudflare/api_token` as API_TOKEN). Any other project's secret is refused:
 * a committed manifest would otherwise have setup copy it into this project's .env file, or
 * create secrets (and their env-var names) in a project it does not belong to.
 */
function ownPath(project: string | undefined, name: string, raw: RawVariable): string {
  const key = parseKeyPath(raw.path!);
  if (project === undefined || (key.scope === 'project' && key.group === project)) {
    return key.path;
  }
  if (key.scope === 'project') {
    throw new CofferError(
      'INVALID_MANIFEST',
      `${key.path} is another project's secret; the variables of project ${project} are under project/${project}/ (or a shared meta/{service}/{name} secret, only read)`,
    );
  }
  const own = envVarNameFor(key.name);
  if (own !== name) {
    throw new CofferError(
      'INVALID_MANIFEST',
      `a shared secret is read under its own name: ${key.path} is ${own}, not ${name}`,
    );
  }
  return key.path;
}

function toVariable(
  problems: Problem[],
  project: string | undefined,
  environments: readonly string[],
  name: string,
  raw: RawVariable,
): ManifestVariable | undefined {
  const at: PathKey[] = ['variables', name];
  const before = problems.length;
  if (!isEnvVarName(name)) {
    problems.push({
      at,
      key: true,
      message: `"${name.slice(0, 60)}" is not an environment-variable name (letters, digits and _, not starting with a digit)`,
    });
  }
  const path =
    raw.path !== undefined
      ? check(problems, [...at, 'path'], () => ownPath(project, name, raw))
      : project !== undefined && isEnvVarName(name)
        ? check(
            problems,
            at,
            () => parseKeyPath(`project/${project}/${name.toLowerCase()}`).path,
            true,
          )
        : undefined;
  const description = check(problems, [...at, 'description'], () =>
    parseDescription(raw.description, path),
  );
  if (path?.startsWith('meta/')) {
    // Read, never created or changed: setup keeps it when it is stored and reports it
    // missing otherwise (setup-plan.ts).
    for (const k of NOT_FOR_SHARED) {
      if (raw[k] === undefined) continue;
      problems.push({
        at: [...at, k],
        key: true,
        message: `${where([...at, k])}: ${path} is a shared secret that this manifest only reads; ${k} belongs to the secret itself (coffer set, coffer describe), not to a project's manifest`,
      });
    }
  }
  const rotation =
    raw.rotation === undefined
      ? null
      : check(problems, [...at, 'rotation'], () => parseRotationPolicy(raw.rotation!));
  if (raw.rotate !== undefined && raw.rotate.length > MAX_ROTATE_TEXT) {
    problems.push({
      at: [...at, 'rotate'],
      message: `${where([...at, 'rotate'])}: longer than ${MAX_ROTATE_TEXT} characters; link to a page instead`,
    });
  }
  const previous =
    raw.previous === undefined
      ? null
      : check(problems, [...at, 'previous'], () => parseEnvVarName(raw.previous!));
  if (previous === name) {
    problems.push({
      at: [...at, 'previous'],
      message: `${where([...at, 'previous'])}: the previous value needs a name of its own, not ${name}`,
    });
  }
  const group = raw.group?.trim().replace(/\s+/g, ' ');
  if (group !== undefined && (group === '' || group.length > 60 || /\p{Cc}/u.test(group))) {
    problems.push({
      at: [...at, 'group'],
      message: `${where([...at, 'group'])}: a group is a short title on one line (at most 60 characters)`,
    });
  }
  const sensitive = raw.sensitive ?? true;
  const sources = new Map<string, Source>();
  if (raw.source !== undefined && raw.sources?.[DEFAULT_SOURCE_KEY] !== undefined) {
    problems.push({
      at: [...at, 'source'],
      key: true,
      message: `${where(at)}: give either source or sources.${DEFAULT_SOURCE_KEY}, not both`,
    });
  }
  if (raw.source !== undefined) {
    const s = toSource(problems, [...at, 'source'], raw.source, sensitive);
    if (s !== undefined) sources.set(DEFAULT_SOURCE_KEY, s);
  }
  for (const [env, rawSource] of Object.entries(raw.sources ?? {})) {
    const sat: PathKey[] = [...at, 'sources', env];
    if (env !== DEFAULT_SOURCE_KEY) {
      if (check(problems, sat, () => parseEnvironment(env), true) === undefined) continue;
      if (environments.length > 0 && !environments.includes(env)) {
        problems.push({
          at: sat,
          key: true,
          message: `${where(sat)}: environment "${env}" is not in environments (${environments.join(', ')})${didYouMean(env, environments)}`,
        });
        continue;
      }
    }
    const s = toSource(problems, sat, rawSource, sensitive);
    if (s !== undefined) sources.set(env, s);
  }
  if (problems.length > before) return undefined;
  return {
    name,
    path: path!,
    description: description!,
    group: group ?? null,
    tier: raw.tier ?? null,
    sensitive,
    required: raw.required ?? true,
    sources,
    rotation: rotation ?? null,
    rotate: raw.rotate ?? null,
    previous: previous ?? null,
    localOnly: raw.local_only ?? false,
  };
}

/** What this machine allows besides the manifest's own `allow_env_names`. */
export interface ManifestOptions {
  /** Names allowed on the command line (`--allow-env-name`), validated here. */
  allowEnvNames?: readonly string[] | undefined;
  /** The local project file: its `allow_env_names` count when it names the same project. */
  projectFile?: ProjectConfig | undefined;
}

/**
 * Parses and validates a manifest. `file` names it in messages. Throws ManifestError
 * (INVALID_MANIFEST) listing every problem with its line and column, or INVALID_ARGUMENT for
 * a variable name coffer refuses to inject that neither the manifest nor `options` allows.
 */
export function parseManifest(text: string, file: string, options: ManifestOptions = {}): Manifest {
  if (Buffer.byteLength(text, 'utf8') > MAX_MANIFEST_BYTES) {
    throw new ManifestError(file, [
      { file, line: 1, col: 1, message: `larger than ${MAX_MANIFEST_BYTES} bytes` },
    ]);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: true });
  const problems: Problem[] = [];
  for (const e of doc.errors) {
    const pos = e.linePos?.[0] ?? lineCounter.linePos(e.pos[0]);
    // The parser's first line can quote the file (an alias, a key): cut to a name's length.
    problems.push({ at: [], pos, message: clip(e.message.split('\n')[0]!, 200) });
  }
  let data: unknown;
  if (problems.length === 0) {
    try {
      data = doc.toJS({ maxAliasCount: MAX_ALIASES });
    } catch (err) {
      problems.push({
        at: [],
        pos: { line: 1, col: 1 },
        message: clip((err as Error).message, 200),
      });
    }
  }
  let manifest: Manifest | undefined;
  if (problems.length === 0) {
    const parsed = ManifestSchema.safeParse(data ?? {});
    if (!parsed.success) {
      problems.push(...zodProblems(parsed.error, data));
      // The variables whose own shape is right are still checked, so that one run reports
      // every problem of the file.
      const variables = valueAt(data, ['variables']);
      if (variables !== null && typeof variables === 'object' && !Array.isArray(variables)) {
        const project = valueAt(data, ['project']);
        for (const [name, v] of Object.entries(variables)) {
          const one = VariableSchema.safeParse(v);
          if (!one.success) continue;
          toVariable(
            problems,
            typeof project === 'string' && isValidSegment(project) ? project : undefined,
            [],
            name,
            one.data,
          );
        }
      }
    } else {
      manifest = build(problems, parsed.data, file, options);
    }
  }
  if (problems.length > 0 || manifest === undefined) {
    const issues = problems.map((p) => {
      const pos =
        p.pos ?? lineCounter.linePos(nodeAt(doc.contents, p.at, p.key === true)?.range?.[0] ?? 0);
      return { file, line: pos.line, col: pos.col, message: p.message };
    });
    issues.sort((a, b) => a.line - b.line || a.col - b.col);
    throw new ManifestError(file, issues);
  }
  const allowed = manifestAllowedNames(manifest.allowEnvNames, manifest.project, options);
  const refused = refusedNames(
    manifest.variables.map((v) => ({ name: v.name, path: v.path })),
    allowed,
  );
  if (refused.length > 0) {
    throw refusedVariables(file, refused, (name) => {
      const pos = lineCounter.linePos(
        nodeAt(doc.contents, ['variables', name], true)?.range?.[0] ?? 0,
      );
      return `${file}:${pos.line}:${pos.col}`;
    });
  }
  return manifest;
}

/**
 * The names a manifest of `project` may use although the injection rules refuse them, for its
 * variables and its `previous:` names alike: its own `allow_env_names`, the local project
 * file's when it is the same project's, and the caller's `--allow-env-name`. `coffer rotate`
 * gets the same list with the manifest's rotation hints (load.ts), so what `manifest check`
 * accepts, `rotate` accepts.
 */
export function manifestAllowedNames(
  own: readonly string[],
  project: string,
  options: ManifestOptions,
): string[] {
  return [...own, ...allowedEnvNamesFor(options.projectFile, project, options.allowEnvNames ?? [])];
}

/**
 * The refusal of variables whose names make programs load code: each named with its key
 * path, where it is, and why; the hint says how to allow them if that is intended.
 */
function refusedVariables(
  file: string,
  refused: readonly RefusedVariable[],
  where: (name: string) => string,
): CofferError {
  const names = refused.map((r) => r.name);
  const one = refused.length === 1;
  const parts = refused.map(
    (r) => `${where(r.name)}: variables.${r.name} (${r.path}): ${r.reason}`,
  );
  return new CofferError(
    'INVALID_ARGUMENT',
    `${file}: refused ${one ? 'the variable' : `${refused.length} variables`} ${names.join(', ')}: ${one ? 'its name changes' : 'their names change'} how programs load or run code, and coffer stores no secret it would then refuse to inject:\n${parts.join('\n')}`,
    {
      hint: `If this project really sets ${names.join(', ')}, allow ${one ? 'it' : 'them'} in ${file}: allow_env_names: [${names.join(', ')}] (or allow_env_names=${names.join(',')} in the project's .coffer file); otherwise rename ${one ? 'the variable' : 'them'}. See docs/injection.md.`,
    },
  );
}

function build(
  problems: Problem[],
  raw: z.infer<typeof ManifestSchema>,
  file: string,
  options: ManifestOptions,
): Manifest | undefined {
  const project = isValidSegment(raw.project) ? raw.project : undefined;
  if (project === undefined) {
    problems.push({
      at: ['project'],
      message: `project: "${raw.project.slice(0, 60)}" is not a project name (lowercase letters, digits, - and _)`,
    });
  }
  const environments: string[] = [];
  for (const [i, env] of (raw.environments ?? []).entries()) {
    const ok = check(problems, ['environments', i], () => parseEnvironment(env));
    if (ok === undefined) continue;
    if (env === DEFAULT_SOURCE_KEY) {
      problems.push({
        at: ['environments', i],
        message: `environments: "${DEFAULT_SOURCE_KEY}" is reserved (sources.${DEFAULT_SOURCE_KEY} covers every other environment)`,
      });
    } else if (environments.includes(env)) {
      problems.push({ at: ['environments', i], message: `environments: "${env}" is listed twice` });
    } else {
      environments.push(env);
    }
  }
  const env =
    raw.env === undefined
      ? null
      : (check(problems, ['env'], () => parseEnvironment(raw.env!)) ?? null);
  if (env !== null && environments.length > 0 && !environments.includes(env)) {
    problems.push({
      at: ['env'],
      message: `env: "${env}" is not in environments (${environments.join(', ')})${didYouMean(env, environments)}`,
    });
  }
  const allowRaw = raw.allow_env_names;
  const allowList =
    allowRaw === undefined
      ? []
      : Array.isArray(allowRaw)
        ? allowRaw
        : allowRaw.split(/[\s,]+/).filter((n) => n !== '');
  const allowEnvNames: string[] = [];
  for (const [i, n] of allowList.entries()) {
    if (isEnvVarName(n)) allowEnvNames.push(n);
    else {
      problems.push({
        at: Array.isArray(allowRaw) ? ['allow_env_names', i] : ['allow_env_names'],
        message: `allow_env_names: "${n.slice(0, 60)}" is not an environment-variable name`,
      });
    }
  }
  const variables: ManifestVariable[] = [];
  const byPath = new Map<string, string>();
  for (const [name, v] of Object.entries(raw.variables ?? {})) {
    const variable = toVariable(problems, project, environments, name, v);
    if (variable === undefined) continue;
    const other = byPath.get(variable.path);
    if (other !== undefined) {
      problems.push({
        at: ['variables', name],
        key: true,
        message: `variables.${name}: the key path ${variable.path} is also ${other}'s`,
      });
      continue;
    }
    byPath.set(variable.path, name);
    // The previous value is injected under this name during a grace window: one that run and
    // env pull refuse would stop them for the whole project until the rotation ends. The rule
    // rotate applies (refusedPreviousName), with the names allowed as for the variables.
    const previous = variable.previous;
    const refusedPrevious =
      previous === null || refusedPreviousName(variable.path, previous) === undefined
        ? undefined
        : refusedPreviousName(
            variable.path,
            previous,
            project === undefined
              ? allowEnvNames
              : manifestAllowedNames(allowEnvNames, project, options),
          );
    if (refusedPrevious !== undefined) {
      problems.push({
        at: ['variables', name, 'previous'],
        message: `variables.${name}.previous: ${previous} changes how programs load or run code (${refusedPrevious.reason}); coffer does not inject it unless allow_env_names (here or in the project's .coffer file) or --allow-env-name allows it (docs/injection.md)`,
      });
    }
    variables.push(variable);
  }
  if (problems.length > 0 || project === undefined) return undefined;
  return { file, project, env, environments, allowEnvNames, variables };
}
