/**
 * Secret references: text that names a secret instead of holding it, so a file that needs
 * secrets (a .env file, a config template) can be committed.
 *
 *   reference = "coffer://" key-path [ "?env=" environment ]
 *   template  = any text with "{{" [spaces] reference [spaces] "}}" in it
 *
 * A reference may use `${NAME}` variables (`coffer://project/app/db_password?env=${COFFER_ENV}`),
 * expanded from the variables the caller passes (one template for every environment); an
 * unset variable is an error naming it. coffer's own credential variables (COFFER_MASTER_KEY,
 * COFFER_TOKEN, ...) are never expanded, and a reference that is not valid once expanded is
 * named as written: a message never shows what a variable held. A .env value that is a reference on its own
 * (`STRIPE_KEY=coffer://project/shop/stripe_key`) is replaced whole; a value with `{{ }}`
 * around references is rendered, so a derived value
 * (`postgres://app:{{ coffer://project/app/postgres_password }}@db/app`) follows the
 * secret when it rotates.
 *
 * Resolving is two steps, so that every secret is read in one audited batch: `references`
 * lists what a text needs, the caller reads those values, and `render` puts them in. Nothing
 * here reads the vault; a message names a reference, never a value.
 */
import { CofferError } from '../errors.js';
import { CREDENTIAL_ENV_NAMES } from '../inject/child-env.js';
import { parseEnvironment, parseKeyPath } from '../paths.js';

export const REFERENCE_SCHEME = 'coffer://';

/** A parsed reference: the secret and, when the reference names one, its environment. */
export interface SecretReference {
  /** The reference as written (before variable expansion), for messages. */
  text: string;
  path: string;
  env: string | undefined;
}

/** Variables a reference may use (`${NAME}`). */
export type ReferenceVariables = Readonly<Record<string, string | undefined>>;

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
// Inside {{ }}: the reference runs to the first space or "}}", `${NAME}` variables included.
const TEMPLATE =
  /\{\{[ \t]*(coffer:\/\/(?:[^\s{}$]|\$(?:\{[A-Za-z_][A-Za-z0-9_]*\})?)*)[ \t]*\}\}/g;
// Where a template starts: each must be one TEMPLATE reads, or the text is refused.
const TEMPLATE_START = /\{\{[ \t]*coffer:\/\//g;
const MAX_REFERENCE = 512;

function invalid(text: string, why: string): CofferError {
  const shown = text.length > 80 ? `${text.slice(0, 80)}...` : text;
  return new CofferError('INVALID_REFERENCE', `invalid reference ${JSON.stringify(shown)}: ${why}`);
}

/** Parses one reference; `${NAME}` variables come from `vars`. Throws INVALID_REFERENCE. */
export function parseReference(text: string, vars: ReferenceVariables = {}): SecretReference {
  if (!text.startsWith(REFERENCE_SCHEME)) {
    throw invalid(text, `a reference starts with ${REFERENCE_SCHEME}`);
  }
  if (text.length > MAX_REFERENCE) throw invalid(text, `longer than ${MAX_REFERENCE} characters`);
  const expanded = text.replace(VARIABLE, (_m, name: string) => {
    if (CREDENTIAL_ENV_NAMES.includes(name.toUpperCase())) {
      throw invalid(text, `\${${name}} is one of coffer's credentials, never put into a reference`);
    }
    const value = vars[name];
    if (value === undefined || value === '') {
      throw invalid(text, `the variable \${${name}} is not set`);
    }
    return value;
  });
  // The parsers' messages quote what they were given: after expansion, that could be a
  // variable's value, so only the part that failed is said.
  const why = (err: unknown, what: string) =>
    expanded === text
      ? (err as Error).message
      : `its ${what} is not valid once its \${...} variables are expanded`;
  const rest = expanded.slice(REFERENCE_SCHEME.length);
  const q = rest.indexOf('?');
  const pathText = q < 0 ? rest : rest.slice(0, q);
  let env: string | undefined;
  if (q >= 0) {
    const query = rest.slice(q + 1);
    const m = /^env=([^&]*)$/.exec(query);
    if (m === null) throw invalid(text, 'the only query a reference takes is ?env=ENVIRONMENT');
    try {
      env = parseEnvironment(m[1]!);
    } catch (err) {
      throw invalid(text, why(err, 'environment'));
    }
  }
  let path: string;
  try {
    path = parseKeyPath(pathText).path;
  } catch (err) {
    throw invalid(text, why(err, 'key path'));
  }
  return { text, path, env };
}

/** The reference to `path` in `env`, in its one written form: `coffer://PATH?env=ENV`. */
export function formatReference(path: string, env: string): string {
  return `${REFERENCE_SCHEME}${path}?env=${env}`;
}

/** Whether a .env value is a reference on its own (replaced whole). */
export function isReference(value: string): boolean {
  return value.startsWith(REFERENCE_SCHEME);
}

/**
 * Whether a stored value names other secrets: a reference on its own, or text with
 * `{{ coffer://... }}` templates (a derived value).
 */
export function isDerived(value: string): boolean {
  return isReference(value) || hasTemplates(value);
}

/** Whether a text holds `{{ coffer://... }}` templates. */
export function hasTemplates(text: string): boolean {
  TEMPLATE.lastIndex = 0;
  const found = TEMPLATE.test(text);
  // test() on a global pattern leaves lastIndex after the match, and matchAll (references)
  // starts from a copy of it: leave it at 0 for the next user.
  TEMPLATE.lastIndex = 0;
  return found;
}

/**
 * The references a text needs, in order of first use: the whole text when it is a
 * reference, else each `{{ coffer://... }}` in it. Throws INVALID_REFERENCE for the first
 * one that does not parse.
 */
export function references(text: string, vars: ReferenceVariables = {}): SecretReference[] {
  if (isReference(text)) return [parseReference(text, vars)];
  const out: SecretReference[] = [];
  const seen = new Set<string>();
  const starts = new Set([...text.matchAll(TEMPLATE)].map((m) => m.index));
  for (const m of text.matchAll(TEMPLATE_START)) {
    if (!starts.has(m.index)) {
      // Left as it is, it would reach the output unrendered, and the command succeed. Named
      // by the reference only: the text after it may be anything the value holds.
      const at = /^\{\{[ \t]*coffer:\/\/[^\s{}]*/.exec(text.slice(m.index, m.index + 600))![0];
      throw invalid(
        at,
        'a {{ coffer://... }} template that does not close with }} after the reference',
      );
    }
  }
  for (const m of text.matchAll(TEMPLATE)) {
    if (seen.has(m[1]!)) continue;
    seen.add(m[1]!);
    out.push(parseReference(m[1]!, vars));
  }
  return out;
}

/** The key a resolved value is looked up by: path and environment. */
export function referenceKey(path: string, env: string): string {
  return `${path}\0${env}`;
}

/**
 * Puts resolved values into `text` (whose references `references` listed). `lookup` gives
 * the value of a path in an environment, or undefined when it has none; `env` is the
 * environment of references that name none. Throws UNRESOLVED_REFERENCE naming the first
 * reference without a value.
 */
export function render(
  text: string,
  env: string,
  lookup: (path: string, env: string) => string | undefined,
  vars: ReferenceVariables = {},
): string {
  const one = (refText: string): string => {
    const ref = parseReference(refText, vars);
    const value = lookup(ref.path, ref.env ?? env);
    if (value === undefined) {
      // With variables, the reference as written only: the path it expanded to would show
      // what a variable held.
      const what = refText.includes('${')
        ? 'no such secret in that environment'
        : `no secret ${ref.path} in environment ${ref.env ?? env}`;
      throw new CofferError('UNRESOLVED_REFERENCE', `${refText} does not resolve: ${what}`);
    }
    return value;
  };
  if (isReference(text)) return one(text);
  return text.replace(TEMPLATE, (_m, refText: string) => one(refText));
}
