/**
 * `coffer manifest init`: a first `coffer.yaml` from what a project already has, a `.env`
 * file, a `.env.example` file or the project's secrets in the vault. It writes names,
 * descriptions (from the comment above each variable, core/dotenv/comments.ts, or the
 * vault's metadata) and guessed tiers and sources, each guess marked `# guess:` for the user
 * to confirm, and a `# TODO:` where only the user can say something (a missing or too vague
 * description).
 *
 * The guesses, from the variable's name first and its value's shape second:
 * - a connection string (`DATABASE_URL`, `REDIS_URL`, `*_DATABASE_URL`, ...): tier 1, asked
 *   (it holds the database's credentials);
 * - a provider's key or token (`OPENAI_API_KEY`, `STRIPE_WEBHOOK_SECRET`, `GITHUB_TOKEN`,
 *   `*_CLIENT_SECRET`, any `*_TOKEN`): tier 2, asked (the provider issues it);
 * - a password of the project's own infrastructure (`POSTGRES_PASSWORD`, `DB_PASS`,
 *   `REDIS_PASSWORD`, ...): tier 1, generated; any other password (`SMTP_PASS`): tier 2, asked;
 * - a data-encryption key (`ENCRYPTION_KEY`, `*_FERNET_KEY`, `DATA_KEY`): tier 3, generated;
 * - another `*_SECRET`, `*_KEY`, `*_SALT` (`JWT_SECRET`, `SECRET_KEY`, `SERVICE_ROLE_KEY`):
 *   tier 1, generated; the generator spec follows the value's shape (64 hex digits: `hex:32`,
 *   a Fernet key: `fernet`, ...) so a regenerated value has the format the program expects;
 * - plain configuration: a value `isClearlyNotSecret` keeps (core/dotenv/example.ts), or a
 *   name such as `PORT`, `NODE_ENV` or `*_HOST` with no value: `sensitive: false`;
 * - anything else: sensitive, asked, no tier (when in doubt, a secret).
 *
 * No secret value reaches the manifest. From a `.env` file no value is copied at all (its
 * values are this machine's); only a `.env.example`'s plain settings (values that are
 * clearly not secrets, placeholders never) become `value:` sources. A value's shape (length,
 * alphabet) only picks a generator spec.
 */

import { stringify } from 'yaml';
import { commentDescriptions, isTitleLine } from '../dotenv/comments.js';
import { isClearlyNotSecret, looksLikeSecret, secretLikeName } from '../dotenv/example.js';
import { parseDotenv, parseDotenvLines } from '../dotenv/parse.js';
import { CofferError } from '../errors.js';
import { parseGeneratorSpec } from '../generate/spec.js';
import { envVarNameFor, isEnvVarName, parseDescription, parseKeyPath } from '../paths.js';
import type { SecretInfo } from '../store/vault.js';
import type { Source } from './model.js';

/** Where the manifest is made from. */
export type InitFrom = 'dotenv' | 'example' | 'vault';

export interface InitVariable {
  name: string;
  /** The key path, when it is not the default `project/{project}/{name lowercased}`. */
  path?: string | undefined;
  /** The description found ('' when none). */
  description: string;
  /** The section of the file it is in (`# API Keys`), for .env.example; undefined: none. */
  group?: string | undefined;
  /** Why the description needs the user (missing or too vague); undefined when it is fine. */
  descriptionTodo?: string | undefined;
  tier: 1 | 2 | 3 | null;
  sensitive: boolean;
  /** undefined: the default source (`ask`). */
  source?: Source | undefined;
  rotation?: string | null | undefined;
  localOnly?: boolean | undefined;
  /** coffer's guesses about this variable, each to confirm ("tier", "source", "sensitive"). */
  guesses: { tier?: string; source?: string; sensitive?: string };
}

export interface ManifestInit {
  project: string;
  from: InitFrom;
  /** The file read (for the header), or undefined for the vault. */
  file?: string | undefined;
  environments: string[];
  variables: InitVariable[];
  /** Names left out, with the reason (not an environment-variable name, ...). */
  skipped: { name: string; reason: string }[];
}

const PROVIDERS = new Set([
  'ALGOLIA',
  'ANTHROPIC',
  'AUTH0',
  'AWS',
  'AZURE',
  'CLERK',
  'CLOUDFLARE',
  'CLOUDFLARED',
  'COHERE',
  'DATADOG',
  'DEEPSEEK',
  'DISCORD',
  'DROPBOX',
  'FACEBOOK',
  'FIREBASE',
  'GCP',
  'GEMINI',
  'GITHUB',
  'GITLAB',
  'GOOGLE',
  'GROQ',
  'HF',
  'HUBSPOT',
  'HUGGINGFACE',
  'LINEAR',
  'MAILGUN',
  'MAPBOX',
  'MISTRAL',
  'NETLIFY',
  'NOTION',
  'OKTA',
  'OPENAI',
  'OPENROUTER',
  'PAYPAL',
  'PINECONE',
  'PLAID',
  'POSTHOG',
  'POSTMARK',
  'PUSHER',
  'REPLICATE',
  'RESEND',
  'SENDGRID',
  'SENTRY',
  'SHOPIFY',
  'SLACK',
  'SMTP',
  'STRIPE',
  'SUPABASE',
  'TELEGRAM',
  'TWILIO',
  'VERCEL',
]);

/** Services a project runs itself: their passwords are generated (seed 002's tier 1). */
const INFRASTRUCTURE = new Set([
  'ADMIN',
  'CLICKHOUSE',
  'DATABASE',
  'DB',
  'ELASTIC',
  'ELASTICSEARCH',
  'GRAFANA',
  'KEYCLOAK',
  'MARIADB',
  'MINIO',
  'MONGO',
  'MONGODB',
  'MYSQL',
  'PG',
  'POSTGRES',
  'POSTGRESQL',
  'RABBITMQ',
  'REDIS',
  'ROOT',
]);

const CONNECTION_STRING =
  /^(?:([A-Z0-9]+_)*)(DATABASE|DB|POSTGRES|POSTGRESQL|PG|MYSQL|MARIADB|MONGO|MONGODB|REDIS|RABBITMQ|AMQP|ELASTICSEARCH|CLICKHOUSE)(_[A-Z0-9]+)*_(URL|URI|DSN)$/;
const PLAIN_NAME =
  /(^|_)(PORT|HOST|HOSTNAME|ENV|NODE_ENV|MODE|LEVEL|LOG_LEVEL|DEBUG|REGION|TIMEOUT|ENABLED|DISABLED|VERSION|TZ|LOCALE|LANG|WORKERS|CONCURRENCY)$/;

/** A generator spec for a value of this shape (length and alphabet only); undefined: none fits. */
export function specForShape(value: string | undefined, fernetName = false): string | undefined {
  if (value === undefined || value === '' || looksLikePlaceholder(value)) return undefined;
  const v = value.trim();
  let spec: string | undefined;
  if (/^[0-9a-f]+$/i.test(v) && v.length % 2 === 0 && v.length >= 32) spec = `hex:${v.length / 2}`;
  // A Fernet key is URL-safe base64 of 32 bytes; the same length in standard base64 is not.
  else if (/^[A-Za-z0-9_-]{43}=$/.test(v) && (/[-_]/.test(v) || fernetName)) spec = 'fernet';
  else if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v)) spec = 'uuid';
  else if (/^[A-Za-z0-9+/]+={0,2}$/.test(v) && v.length % 4 === 0 && /[+/=]/.test(v)) {
    spec = `base64:${(v.length / 4) * 3 - (v.match(/=+$/)?.[0].length ?? 0)}`;
  } else if (/^[A-Za-z0-9_-]+$/.test(v) && v.length >= 22) {
    spec = `urlsafe:${Math.floor((v.length * 3) / 4)}`;
  }
  if (spec === undefined) return undefined;
  try {
    parseGeneratorSpec(spec);
    return spec;
  } catch {
    return undefined;
  }
}

const PLACEHOLDER =
  /^(<.*>|\$\{.*\}|your[-_ ].*|set-from-.*|.*(changeme|change-me|example|placeholder|xxx|\.\.\.).*)$/i;

function looksLikePlaceholder(value: string): boolean {
  return PLACEHOLDER.test(value.trim());
}

type Guess = Pick<InitVariable, 'tier' | 'sensitive' | 'source' | 'guesses'>;

/**
 * The guessed tier, sensitivity and source of variable `name`. `value` (its value in the file,
 * if any) is looked at for its shape and for `isClearlyNotSecret`, and becomes a `value:`
 * source only when `keepPlainValue` (a .env.example) and it is clearly not a secret; an
 * example file's values are placeholders, so their shape picks no generator spec.
 */
export function guessVariable(
  name: string,
  value: string | undefined,
  options: { keepPlainValue: boolean },
): Guess {
  const upper = name.toUpperCase();
  const words = upper.split('_').filter((w) => w !== '');
  const first = words[0] ?? '';
  const last = words.at(-1) ?? '';
  const generate = (tier: 1 | 3, why: string, fallback: string): Guess => {
    // An example file's values are placeholders: their shape says nothing, but their words
    // may (`generate-a-32-byte-fernet-key`).
    const shaped = options.keepPlainValue
      ? /fernet/i.test(value ?? '')
        ? 'fernet'
        : undefined
      : specForShape(value, /FERNET/.test(upper));
    return {
      tier,
      sensitive: true,
      source: { kind: 'generate', spec: shaped ?? fallback },
      guesses: {
        tier: why,
        source:
          shaped && !options.keepPlainValue
            ? 'generated when missing, in the format of the current value'
            : 'generated when missing (never overwritten)',
      },
    };
  };
  const ask = (tier: 2 | null, why: string | undefined, how: string): Guess => ({
    tier,
    sensitive: true,
    source: { kind: 'ask' },
    guesses: { ...(why ? { tier: why } : {}), source: how },
  });

  if (CONNECTION_STRING.test(upper)) {
    return {
      tier: 1,
      sensitive: true,
      source: { kind: 'ask' },
      guesses: {
        tier: 'a connection string with credentials (infrastructure core)',
        source:
          'entered once; or derive it from the password with a {{ coffer://... }} template (coffer inject)',
      },
    };
  }
  if (/SALT|PEPPER/.test(upper)) {
    return generate(1, 'a key the project makes itself (infrastructure core)', 'hex:32');
  }
  const isPassword = /PASSW|PASSPHRASE/.test(upper) || last === 'PASS' || last === 'PWD';
  if (isPassword) {
    if (INFRASTRUCTURE.has(first) || words.some((w) => INFRASTRUCTURE.has(w) && w !== 'ROOT')) {
      return generate(
        1,
        "a password of the project's own service (infrastructure core)",
        'password:32',
      );
    }
    return ask(2, "a third-party account's password", 'entered by a person (hidden prompt)');
  }
  const providerKey =
    /API_?KEY|API_?TOKEN|ACCESS_?TOKEN|AUTH_?TOKEN|ACCESS_KEY|CLIENT_SECRET|WEBHOOK/.test(upper) ||
    last === 'TOKEN' ||
    (PROVIDERS.has(first) && secretLikeName(upper));
  if (providerKey) {
    return ask(
      2,
      'issued by a provider (third-party service)',
      "entered by a person (hidden prompt); it comes from the provider's dashboard",
    );
  }
  if (/ENCRYPT|FERNET|CIPHER|DATA_KEY|(^|_)DEK(_|$)|(^|_)KEK(_|$)/.test(upper)) {
    return generate(
      3,
      'encrypts stored data (data-encryption key)',
      /FERNET/.test(upper) ? 'fernet' : 'base64:32',
    );
  }
  if (last === 'SECRET' || last === 'KEY' || /SECRET_KEY|SALT|PEPPER|SIGNING/.test(upper)) {
    return generate(1, 'a key the project makes itself (infrastructure core)', 'hex:32');
  }
  if (secretLikeName(upper)) {
    return ask(null, undefined, 'entered by a person (hidden prompt); tier unknown');
  }
  // Not a secret by its name: plain configuration when its value (or, with no value, its
  // name) says so; when in doubt a secret.
  const v = value ?? '';
  if (v !== '' && !looksLikePlaceholder(v)) {
    if (isClearlyNotSecret(name, v)) {
      return {
        tier: null,
        sensitive: false,
        source: options.keepPlainValue ? { kind: 'value', value: v } : undefined,
        guesses: {
          sensitive: options.keepPlainValue
            ? 'plain configuration (its value is not a secret)'
            : 'plain configuration; its value is not copied from the .env file: add source: { value: ... } if it is the same everywhere',
        },
      };
    }
    return ask(
      null,
      undefined,
      looksLikeSecret(v)
        ? 'entered by a person (hidden prompt); its value looks like a secret'
        : 'entered by a person (hidden prompt); not clearly plain configuration',
    );
  }
  if (PLAIN_NAME.test(upper)) {
    return {
      tier: null,
      sensitive: false,
      source: undefined,
      guesses: { sensitive: 'plain configuration (by its name); add source: { value: ... }' },
    };
  }
  return ask(
    null,
    undefined,
    'entered by a person (hidden prompt); not clearly plain configuration',
  );
}

/** The description and, when it needs the user, why. */
function describe(
  description: string | undefined,
  path: string,
): { description: string; descriptionTodo?: string } {
  const text = (description ?? '').trim().replace(/\s+/g, ' ');
  if (text === '')
    return { description: '', descriptionTodo: 'say what it is for and where it is used' };
  try {
    return { description: parseDescription(text, path) };
  } catch (err) {
    if (!(err instanceof CofferError)) throw err;
    return { description: text, descriptionTodo: `${err.message}: say what it is for` };
  }
}

function defaultPath(project: string, name: string): string | undefined {
  try {
    return parseKeyPath(`project/${project}/${name.toLowerCase()}`).path;
  } catch {
    return undefined;
  }
}

const MAX_GROUP = 60;
/** Values shorter than this are not looked for in comments (they occur in words by chance). */
const MIN_QUOTED_VALUE = 6;

/** `=== API Keys ===`, `# Database` (from `## Database`): the title, or undefined. */
function decoratedTitle(line: string): string | undefined {
  if (!(/^#/.test(line) || /^[=\-*~]{2,}/.test(line) || /[=\-*~#]{2,}$/.test(line))) {
    return undefined;
  }
  const title = line.replace(/^[\s#=\-*~_+.|]+|[\s#=\-*~_+.|:]+$/g, '');
  return title !== '' && /\p{L}/u.test(title) ? title : undefined;
}

/**
 * The section each variable of a .env text is in: the title of the nearest section header
 * above it (`# ===== Payments =====`, `## Database`, a title line alone above a blank line
 * or above a run of variables, a title line before a description: the headers
 * core/dotenv/comments.ts leaves out of descriptions). Comments only, never a value.
 */
export function dotenvSections(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let group: string | undefined;
  const startSection = (block: readonly string[]): void => {
    const texts = block.filter((l) => l !== '');
    let title: string | undefined;
    for (const l of texts) title = decoratedTitle(l) ?? title;
    if (title === undefined && texts.length > 0 && isTitleLine(texts[0]!)) {
      // A title alone (above a blank line, or right above a variable: `# Database` above
      // DATABASE_URL names its section whether it also describes the variable or not), or a
      // title before a sentence.
      if (texts.length === 1) title = texts[0];
      else if (/^[^\p{L}\p{N}]*[\p{Lu}\p{N}]/u.test(texts[1]!)) title = texts[0];
    }
    if (title === undefined) return;
    const t = title.replace(/:$/, '').replace(/\s+/g, ' ').trim();
    if (t !== '' && t.length <= MAX_GROUP && !/\p{Cc}/u.test(t)) group = t;
  };
  // Comment lines as comments.ts reads them: from the dotenv parser's entries, so a line
  // inside a multi-line value is never taken for a comment.
  let block: string[] = [];
  let afterPair = false;
  for (const entry of parseDotenvLines(text)) {
    if (entry.kind === 'pair') {
      startSection(block);
      block = [];
      if (group !== undefined) out.set(entry.key, group);
      afterPair = true;
      continue;
    }
    const lines = entry.raw.split(/\r?\n|\r/);
    // The rest of a variable's own line (an inline comment) is not a line of its own; the
    // last piece is the start of the next variable's line.
    if (afterPair) lines.shift();
    lines.pop();
    afterPair = false;
    for (const line of lines) {
      const m = /^\s*#\s?(.*)$/.exec(line);
      if (m) {
        block.push(m[1]!.trim());
      } else {
        if (line.trim() === '') startSection(block);
        block = [];
      }
    }
  }
  return out;
}

/**
 * A word of a comment that looks like a secret: a known format (`sk_live_...`, `ghp_...`), or
 * a long random-looking token with a digit (so `OpenAI-compatible` is a word, not a key).
 */
function secretWord(word: string): boolean {
  return looksLikeSecret(word) && (word.length < 16 || /\d/.test(word));
}

/** A manifest from the text of a `.env` (`from: 'dotenv'`) or `.env.example` file. */
export function manifestFromDotenv(
  text: string,
  options: { project: string; from: 'dotenv' | 'example'; file?: string | undefined },
): ManifestInit {
  const values = parseDotenv(text);
  const comments = commentDescriptions(text);
  const sections = dotenvSections(text);
  const out: ManifestInit = {
    project: options.project,
    from: options.from,
    file: options.file,
    environments: [],
    variables: [],
    skipped: [],
  };
  const guessed = Object.entries(values).flatMap(([name, value]) => {
    const path = isEnvVarName(name) ? defaultPath(options.project, name) : undefined;
    if (path === undefined) {
      out.skipped.push({
        name,
        reason: 'not an environment-variable name coffer can give a key path to',
      });
      return [];
    }
    const keepPlainValue = options.from === 'example';
    return [{ name, path, guess: guessVariable(name, value, { keepPlainValue }) }];
  });
  // A comment may quote a value ("# old key: sk_live_..."): such text is left out. Every
  // value counts but those the manifest keeps anyway (an example file's plain settings).
  const kept = new Set(
    guessed.flatMap(({ guess }) => (guess.source?.kind === 'value' ? [guess.source.value] : [])),
  );
  // A comment line is read without its outer spaces: a value is looked for by its core too.
  const quoted = Object.values(values)
    .filter((v) => !kept.has(v))
    .map((v) => v.trim())
    .filter((v) => v.length >= MIN_QUOTED_VALUE);
  const holdsSecret = (text: string | undefined): boolean =>
    text !== undefined &&
    (quoted.some((v) => text.includes(v)) || text.split(/\s+/).some(secretWord));
  for (const { name, path, guess } of guessed) {
    const comment = comments.get(name);
    const group = sections.get(name);
    out.variables.push({
      name,
      ...(holdsSecret(comment)
        ? {
            description: '',
            descriptionTodo:
              'the comment above it looks like it holds a secret, so it was left out: say what it is for',
          }
        : describe(comment, path)),
      group: holdsSecret(group) ? undefined : group,
      ...guess,
    });
  }
  return out;
}

/**
 * A manifest from the project's secrets in the vault (metadata only: no value is read). The
 * description, tier, rotation policy and local-only flag are the vault's; a secret with a
 * generator spec is generated, any other is guessed from its name.
 */
export function manifestFromVault(
  secrets: readonly Pick<
    SecretInfo,
    | 'path'
    | 'env'
    | 'deletedAt'
    | 'description'
    | 'tier'
    | 'rotation'
    | 'envVar'
    | 'localOnly'
    | 'generator'
  >[],
  options: { project: string },
): ManifestInit {
  const prefix = `project/${options.project}/`;
  const live = secrets.filter((s) => s.deletedAt === null && s.path.startsWith(prefix));
  const environments = [...new Set(live.map((s) => s.env))].sort(envOrder);
  // One variable per key path; dev's metadata first, then the others in order.
  const byPath = new Map<string, (typeof live)[number]>();
  for (const s of [...live].sort((a, b) => envOrder(a.env, b.env))) {
    if (!byPath.has(s.path)) byPath.set(s.path, s);
  }
  const out: ManifestInit = {
    project: options.project,
    from: 'vault',
    environments,
    variables: [],
    skipped: [],
  };
  const names = new Set<string>();
  for (const s of [...byPath.values()].sort((a, b) => a.path.localeCompare(b.path))) {
    const key = parseKeyPath(s.path);
    const name = s.envVar ?? envVarNameFor(key.name);
    if (!isEnvVarName(name) || names.has(name)) {
      out.skipped.push({
        name: s.path,
        reason: names.has(name)
          ? `its variable name ${name} is another secret's`
          : 'its name is not an environment-variable name',
      });
      continue;
    }
    names.add(name);
    const guessed = guessVariable(name, undefined, { keepPlainValue: false });
    const tier = s.tier === 1 || s.tier === 2 || s.tier === 3 ? s.tier : null;
    const v: InitVariable = {
      name,
      path: defaultPath(options.project, name) === s.path ? undefined : s.path,
      ...describe(s.description, s.path),
      tier: tier ?? guessed.tier,
      // A secret in the vault is sensitive, whatever its name.
      sensitive: true,
      source: s.generator !== null ? { kind: 'generate', spec: s.generator } : guessed.source,
      rotation: s.rotation,
      localOnly: s.localOnly,
      guesses: {
        ...(tier === null && guessed.guesses.tier ? { tier: guessed.guesses.tier } : {}),
        ...(s.generator === null
          ? {
              source:
                guessed.source?.kind === 'generate'
                  ? `${guessed.guesses.source} (the vault has no generator spec for it)`
                  : (guessed.guesses.source ?? 'entered by a person (hidden prompt)'),
            }
          : {}),
      },
    };
    if (v.source?.kind === 'value' || (!guessed.sensitive && v.source === undefined)) {
      v.source = { kind: 'ask' };
    }
    out.variables.push(v);
  }
  return out;
}

const ENV_ORDER = ['dev', 'development', 'local', 'test', 'staging', 'prod', 'production'];

function envOrder(a: string, b: string): number {
  const ia = ENV_ORDER.indexOf(a);
  const ib = ENV_ORDER.indexOf(b);
  if (ia !== -1 || ib !== -1) return (ia === -1 ? 99 : ia) - (ib === -1 ? 99 : ib);
  return a.localeCompare(b);
}

/** One YAML scalar on one line. */
function scalar(s: string): string {
  return stringify(s, { lineWidth: 0 }).trimEnd();
}

function sourceText(s: Source): string {
  switch (s.kind) {
    case 'ask':
      return 'ask';
    case 'generate':
      return `{ generate: ${JSON.stringify(s.spec)} }`;
    case 'env':
      return `{ env: ${s.variable} }`;
    case 'value':
      return `{ value: ${scalar(s.value)} }`;
  }
}

/** The text of `coffer.yaml` for `init`: the manifest with its guesses marked. */
export function formatManifestInit(init: ManifestInit): string {
  const from =
    init.from === 'vault'
      ? `the vault's project/${init.project} secrets`
      : (init.file ?? (init.from === 'example' ? '.env.example' : '.env'));
  const lines = [
    '# yaml-language-server: $schema=./node_modules/coffer/docs/coffer.schema.json',
    `# Written by \`coffer manifest init\` from ${from}. It holds no secret value: commit it.`,
    '# Lines marked "guess:" are guesses from names and comments: confirm or fix each one and',
    '# delete the mark; "TODO:" marks what only you can say. Check it with `coffer manifest check`.',
    '# Keys, tiers and sources: docs/manifest.md.',
    `project: ${init.project}`,
  ];
  if (init.environments.length > 0) {
    lines.push(`environments: [${init.environments.join(', ')}]`);
  } else {
    lines.push('# environments: [dev, staging, prod]   # list the environments that exist');
  }
  if (init.variables.length === 0) {
    lines.push('variables: {}');
    return `${lines.join('\n')}\n`;
  }
  lines.push('variables:');
  for (const v of init.variables) {
    lines.push(`  ${v.name}:`);
    lines.push(
      `    description: ${scalar(v.description)}${v.descriptionTodo ? `   # TODO: ${v.descriptionTodo}` : ''}`,
    );
    if (v.path !== undefined) lines.push(`    path: ${v.path}`);
    if (v.group !== undefined) lines.push(`    group: ${scalar(v.group)}`);
    if (v.tier !== null) {
      lines.push(`    tier: ${v.tier}${v.guesses.tier ? `   # guess: ${v.guesses.tier}` : ''}`);
    }
    if (!v.sensitive) {
      lines.push(
        `    sensitive: false${v.guesses.sensitive ? `   # guess: ${v.guesses.sensitive}` : ''}`,
      );
    }
    if (v.source !== undefined) {
      lines.push(
        `    source: ${sourceText(v.source)}${v.guesses.source ? `   # guess: ${v.guesses.source}` : ''}`,
      );
    }
    if (v.rotation) lines.push(`    rotation: ${scalar(v.rotation)}`);
    if (v.localOnly) lines.push('    local_only: true');
  }
  return `${lines.join('\n')}\n`;
}
