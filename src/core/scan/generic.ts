/**
 * Generic secrets: a value assigned to a name that says "secret" (`password = …`,
 * `SECRET_KEY: …`, `"apiKey": "…"`, `ENV DB_PASSWORD=…`, `export TOKEN=…`,
 * `<password>…</password>`), in code, YAML, JSON, .env, Dockerfiles, shell, Terraform,
 * INI/TOML and notebooks (whose source lines are JSON strings, hence the optional `\"`).
 *
 * A match is reported only when the value looks random enough for its length (Shannon
 * entropy and character classes) and passes every filter of filters.ts. Names that describe
 * a secret without being one (`password_length`, `token_url`, `secret_name`, `public_key`,
 * `*_hash`) are skipped, and in code an unquoted value is an expression, not a literal.
 */
import { charClasses, isSequentialOrRepeated, shannonEntropy } from './entropy.js';
import { isIntegrityString, isPlaceholderOrReference, isUuid } from './filters.js';

/**
 * A line that holds none of these (in any case) cannot hold a generic secret: every keyword
 * below contains one. The scanner's keyword automaton looks for them.
 */
export const GENERIC_HINTS: readonly string[] = [
  'pass',
  'pwd',
  'secret',
  'token',
  'key',
  'auth',
  'cred',
  'dsn',
  'salt',
  'conn',
];

const KEYWORD =
  'passwor[dt]|passwd|passphrase|pwd|secret|token|api[_.-]?key|apikey|access[_.-]?key|auth[_.-]?key|private[_.-]?key|signing[_.-]?key|encryption[_.-]?key|master[_.-]?key|session[_.-]?key|client[_.-]?key|app[_.-]?key|credentials?|salt|conn(?:ection)?[_.-]?str(?:ing)?|dsn';

/**
 * name, optional closing quote, an assignment operator, optional opening quote, the value.
 * The name is a whole run of name characters holding a keyword (`DB_PASSWORD`,
 * `stripeSecretKey`): the run is entered at its first character only and the keyword is
 * looked for by a lookahead inside it, so a long run costs its length once, not once per
 * position (`[A-Za-z0-9_.-]*(?:keyword)[A-Za-z0-9_.-]*` was quadratic on `a_a_a_…`).
 */
const ASSIGNMENT = new RegExp(
  `(?<![A-Za-z0-9_.-])(?=[A-Za-z0-9_.-]*?(?:${KEYWORD}))(?<name>[A-Za-z0-9_.-]+)(?<closeq>\\\\?["'\`]?)(?<sp>[ \\t]*)(?<op>:=|=>|:|=|\\s(?=["']))[ \\t]*(?<q>\\\\?["'\`]|)(?<value>[^\\s"'\`\\\\,;]{1,300})`,
  'gi',
);

/** `<password>value</password>` in XML and config files (the name as in ASSIGNMENT). */
const XML_ELEMENT = new RegExp(
  `<(?=[A-Za-z0-9_.:-]*?(?:${KEYWORD}))(?<name>[A-Za-z0-9_.:-]+)>(?<value>[^<\\s]{1,300})</`,
  'gi',
);

/** Type names with digits that code annotates secrets with (`key: Uint8Array`). */
const TYPE_NAME =
  /^(?:Big)?(?:Uint|Int|Float)(?:8|16|32|64)(?:Clamped)?Array$|^(?:Sha|SHA|Md|MD)\d+$/;

/**
 * A PascalCase type name with digits (`Ed25519PrivateKey`, `OAuth2Token`, `Argon2Hash`):
 * capitalised words and numbers only, most letters in words of three letters or more, at most
 * two lone capitals. Generated text has short letter runs and lowercase after digits
 * (`Xk29fJq83LmZ0`, `A1B2C3`): about one random base62 string in 200 passes for one.
 */
function isTypeName(value: string): boolean {
  if (!/^(?:[A-Z][a-z]*|\d+)+$/.test(value)) return false;
  const words = value.match(/[A-Z][a-z]*/g) ?? [];
  let letters = 0;
  let inWords = 0;
  let lone = 0;
  for (const w of words) {
    letters += w.length;
    if (w.length >= 3) inWords += w.length;
    if (w.length === 1) lone++;
  }
  return inWords >= 0.7 * letters && lone <= 2;
}

/** Words in a name that say something about a secret without holding one. */
const NOT_A_SECRET_WORDS = new Set(
  (
    'public pub url uri endpoint path file filename dir name type length len count size max min ' +
    'expiry expires expiration expire timeout ttl lifetime field label prompt policy id ids hash ' +
    'hashed sha sha1 sha256 sha512 md5 digest checksum fingerprint integrity etag commit rev ' +
    'revision version header param params format mode cache hint placeholder regex pattern rule ' +
    'valid validation validator required enabled enable disable disabled provider manager prefix ' +
    'suffix tokenizer tokens usage scheme algorithm alg kid ref input message error text title ' +
    'description class keyboard keyword keywords keyframe keyframes keys location arn env var ' +
    'variable rotation generator schema column table template example sample'
  ).split(' '),
);

/** True when a word of `name` (split at case changes and separators) says "not a secret". */
function isDescriptiveName(name: string): boolean {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/);
  return words.some((w) => NOT_A_SECRET_WORDS.has(w));
}

/** Extensions where a value without quotes is an expression (a variable), not a literal. */
const CODE_EXT =
  /\.(?:[cm]?[jt]sx?|py|go|java|kt|kts|scala|rb|php|cs|swift|rs|c|cc|cpp|h|hpp|m|dart|lua|pl|r|jl|ex|exs|groovy|vue|svelte)$/i;

/** Extensions of prose, where `password: abc` is text, not configuration. */
const PROSE_EXT = /\.(?:md|markdown|rst|txt|adoc|html?|csv)$/i;

/** A found generic secret: its column range in the line. */
export interface GenericMatch {
  readonly name: string;
  readonly start: number;
  readonly end: number;
}

/** True when `value` looks like a generated secret rather than a word or an identifier. */
export function looksRandom(value: string): boolean {
  const n = value.length;
  if (n < 8) return false;
  if (isSequentialOrRepeated(value)) return false;
  // Generated secrets are ASCII; text with accented letters is a word in some language.
  if (/[^\x20-\x7e]/.test(value)) return false;
  // Words and identifiers: all lowercase letters, Capitalized, camelCase, snake_case words.
  if (/^[a-z]+$|^[A-Z][a-z]+$|^[A-Z]+$/.test(value) && n < 24) return false;
  // (One lowercase run after another, single separators between: linear on any input.)
  if (n < 24 && /^[a-z]+(?:[A-Z_.-][a-z]+)*$/.test(value)) return false;
  // Words joined by separators: `this-is-fine`, `NAME@ADDRESS`, `USER:PASSWORD` (placeholders).
  if (/^[a-z]+(?:[_.-][a-z]+)+$|^[A-Z]+(?:[_@:.-][A-Z]+)+$/.test(value)) return false;
  // Numbers, dates, versions, sizes.
  if (/^[\d.,:_ -]+$/.test(value) || /^v?\d+\.\d+(?:\.\d+)?(?:[-+][\w.]+)?$/.test(value))
    return false;
  const h = shannonEntropy(value);
  const classes = charClasses(value);
  if (n >= 20) return h >= 3.0 && classes >= 2;
  if (n >= 12) return h >= 2.9 && classes >= 2;
  return h >= 2.5 && classes >= 3;
}

/** True when `value` is not a secret whatever its name says. */
export function isGenericFalsePositive(value: string): boolean {
  return (
    isPlaceholderOrReference(value) ||
    isUuid(value) ||
    // A hex digest under a name that says digest (hash, sha, checksum, integrity, etag, commit)
    // never gets here (isDescriptiveName); under a secret's name, 64 hex characters are what
    // `openssl rand -hex 32` makes. Only integrity strings (`sha512-...`) are left out.
    isIntegrityString(value) ||
    value.includes('://') ||
    // A template with an interpolation (`coffer_${id}_${secret}`) is no literal.
    /\$\{[^}]*\}/.test(value) ||
    /^(?:\.{0,2}\/|~\/|[A-Za-z]:\\)/.test(value) ||
    // A lowercase relative path or key path (`project/app/api_key`, `config/keys/dev.pem`).
    /^[a-z0-9_.-]+(?:\/[a-z0-9_.-]+)+$/.test(value) ||
    /^[\w-]+\.(?:pem|key|crt|json|ya?ml|txt|env|p12|pfx|jks)$/i.test(value) ||
    /^(?:ssh-(?:rsa|ed25519|dss)|ecdsa-sha2-)/.test(value) ||
    /\(\)?$|^\w+\(/.test(value) ||
    !looksRandom(value)
  );
}

/**
 * Generic secrets in one line of `file`. `codeFile` and `proseFile` say how to read unquoted
 * values (computed once per file by the caller with `fileKind`).
 */
export function findGeneric(line: string, kind: FileKind): GenericMatch[] {
  const out: GenericMatch[] = [];
  ASSIGNMENT.lastIndex = 0;
  for (let m = ASSIGNMENT.exec(line); m !== null; m = ASSIGNMENT.exec(line)) {
    const g = m.groups!;
    const name = g.name!;
    let value = g.value!;
    const quoted = g.q !== '';
    if (g.op!.trim() === '' && !quoted) continue;
    if (isDescriptiveName(name)) continue;
    // `password == "x"` is a comparison; `:=` and `=>` are assignments.
    const opStart = m.index + name.length + g.closeq!.length + g.sp!.length;
    const opEnd = opStart + g.op!.length;
    if (/[=!<>]/.test(line[opStart - 1] ?? '') || line[opEnd] === '=') continue;
    if (!quoted && kind !== 'config') {
      if (kind === 'prose') continue;
      // In code an unquoted value is an expression or a type (`password = input`,
      // `key: opts.key`, `token: Pick<TokenRecord`, `(s: Secret)`, `masterKey: Uint8Array`);
      // a bare token with digits is an identifier only when it does not look generated (a
      // key pasted into a comment, `// api_key: hX9fK2mQ7vL4`, is still found).
      const ident = /^[A-Za-z_$][\w$]*(?:([.[(<>|&)?!])|$)/.exec(value);
      // A type name stands where a type does: before `,` `;` `=` `|` or a closing bracket.
      const typed =
        ident !== null &&
        isTypeName(value) &&
        /^[ \t]*[,;=|>)}\]]/.test(line.slice(m.index + m[0].length));
      if (
        ident !== null &&
        (ident[1] !== undefined || !/\d/.test(value) || TYPE_NAME.test(value) || typed)
      )
        continue;
      if (/[.([]/.test(value)) continue;
    }
    // A code span in prose (`key: \`opts.key\``) is code.
    if (kind === 'prose' && g.q!.endsWith('`') && /[.([]/.test(value)) continue;
    // `{` starts a template or an object; `}` ends one.
    if (/^[{[(]/.test(value)) continue;
    if (!quoted) value = value.replace(/[)}\]>]+$/, '');
    if (isGenericFalsePositive(value)) continue;
    const start = m.index + m[0].length - g.value!.length;
    out.push({ name, start, end: start + value.length });
  }
  if (line.includes('</')) {
    XML_ELEMENT.lastIndex = 0;
    for (let m = XML_ELEMENT.exec(line); m !== null; m = XML_ELEMENT.exec(line)) {
      const value = m.groups!.value!;
      if (isDescriptiveName(m.groups!.name!) || isGenericFalsePositive(value)) continue;
      const start = m.index + m[0].length - 2 - value.length;
      out.push({ name: m.groups!.name!, start, end: start + value.length });
    }
  }
  return out;
}

/** How the generic detector reads a file: code, configuration or prose. */
export type FileKind = 'code' | 'config' | 'prose';

export function fileKind(file: string): FileKind {
  if (PROSE_EXT.test(file)) return 'prose';
  if (CODE_EXT.test(file)) return 'code';
  return 'config';
}
