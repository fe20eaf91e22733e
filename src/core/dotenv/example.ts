/**
 * `.env.example` from `.env`: every value becomes a placeholder, except values that are
 * clearly not secrets (plain configuration such as `OPENAI_BASE_URL=https://api.openai.com/v1`
 * or `PORT=8080`), which a newcomer needs as they are. When in doubt, a placeholder.
 *
 * Kept (`isClearlyNotSecret`) only when the variable's name does not suggest a secret
 * (`secretLikeName`: `*_KEY`, `*TOKEN*`, `*SECRET*`, `*PASSW*`, `*_PW`, `*_PWD`, `*_PASS`,
 * `*PASSCODE*`, `*_PIN`, `*UNLOCK*`, `*_AUTH`, `*_DSN`, `*WEBHOOK*`, `*SESSION*`, ...) AND the
 * value is of a kind the name says it holds. A PIN is a number and a password can read as a
 * host name (`letmein.now`), so the value alone never decides:
 * - booleans (`true`, `false`, `yes`, `no`, `on`, `off`), under any such name;
 * - whole numbers 0..65535 under a name that says port, count, size or time (`PORT`,
 *   `DB_PORT`, `WORKERS`, `REQUEST_TIMEOUT`, `MAX_*`, `PUID`, ...);
 * - environment names (`production`, `dev`, ...) under `*_ENV`, `*_MODE`, `STAGE`, ... and
 *   log levels (`debug`, `info`, ...) under `LOG_LEVEL`, `RUST_LOG`, `VERBOSITY`, ...;
 * - host names (`localhost`, `db.internal`, `api.example.com`, IPv4 addresses, with a port)
 *   and URLs without credentials (no user or password, no query string or fragment, no `@`
 *   or `%`, host and path made of plain words) under a name that says host, URL or address
 *   (`*_HOST`, `*_URL`, `*_ENDPOINT`, `BIND`, `*_DOMAIN`, ...).
 * A "plain word" is a run of letters or digits that does not look random: at most 24 letters
 * in one case, at most 6 digits, or a short mix such as `v1beta` or `ec2` (at most 6 letters
 * and 4 digits); a run of 16 characters or more whose Shannon entropy reaches 3.5 bits per
 * character is never plain, nor is a run of 8 or more hex letters, nor a path segment or host
 * label whose letters and digits together do that. Known secret formats (`sk_live_`, `ghp_`, `AKIA`, JWTs,
 * PEM blocks) are never kept.
 *
 * `exampleValueLooksReal` judges the other way round, a value already in an example file:
 * placeholders (`change-me`, `your-...-here`, `xxx`, `<...>`, `generate-a-32-char-...`,
 * `postgresql://user:password@localhost/db`) and values `isClearlyNotSecret` keeps are not
 * real secrets; a value that looks random or has a known secret format is.
 *
 * Only names leave this module in reports; values stay in the returned text.
 */
import { isPlaceholderOrReference } from '../scan/filters.js';
import { setDotenvVariables } from './edit.js';
import { type DotenvPairEntry, parseDotenv, parseDotenvLines } from './parse.js';

const PLACEHOLDER =
  /^(<.*>|\$\{.*\}|your[-_ ].*|.*(changeme|change-me|example|placeholder|xxx|\.\.\.).*)$/i;
const KNOWN_SECRET =
  /(sk|rk|pk)_(live|test)_|gh[pousr]_|github_pat_|AKIA[0-9A-Z]{12}|xox[baprs]-|-----BEGIN|sk-[A-Za-z0-9_-]{16}|eyJ[A-Za-z0-9_-]+\.eyJ/;

/** Bits of entropy per character of `s` (Shannon, over its own character frequencies). */
export function shannonEntropy(s: string): number {
  if (s.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  const n = [...s].length;
  for (const c of counts.values()) {
    const p = c / n;
    h -= p * Math.log2(p);
  }
  return h;
}

/** Whether a value in an example file looks like a real secret rather than a placeholder. */
export function looksLikeSecret(value: string): boolean {
  const v = value.trim();
  if (KNOWN_SECRET.test(v)) return true;
  if (v.length < 12 || PLACEHOLDER.test(v)) return false;
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((r) => r.test(v)).length;
  return v.length >= 16 && classes >= 2 && shannonEntropy(v) >= 3.5 && !/\s/.test(v);
}

/**
 * The words of a variable's name, upper case: split at `_`, `-`, `.` and other separators and
 * at case changes (`adminPw`, `ADMIN_PW` and `admin-pw` all give `ADMIN`, `PW`).
 */
function nameWords(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toUpperCase()
    .split(/[^A-Z0-9]+/)
    .filter((w) => w !== '');
}

/** Parts of a variable's name that say its value is (or holds) a secret, wherever they stand. */
const SECRET_NAME_PARTS =
  /SECRET|TOKEN|PASSW|PASSPHRASE|PASSCODE|PASSKEY|PINCODE|APIKEY|PRIVATE|CREDENTIAL|SIGNATURE|SIGNING|WEBHOOK|COOKIE|SALT|PEPPER|BEARER|SESSION|UNLOCK|AUTHORIZATION/;
/** Whole words of a name that say so (`PIN` is one, `PINNED` is not). */
const SECRET_NAME_WORDS = new Set([
  'KEY',
  'KEYS',
  'PASS',
  'PW',
  'PWD',
  'PIN',
  'OTP',
  'TOTP',
  'HOTP',
  'PSK',
  'HMAC',
  'AUTH',
  'DSN',
  'SIG',
  'CERT',
  'SEED',
  'HASH',
  'CODE',
  'CREDS',
  'LICENSE',
]);

/**
 * Does the variable's name suggest a secret (whatever its value)? The one rule for variable
 * names in coffer's .env handling (`env example`, `manifest init`, `doctor`): a part such as
 * `SECRET`, `TOKEN`, `PASSW`, `PASSCODE`, `UNLOCK` anywhere, a word such as `KEY`, `PW`, `PWD`,
 * `PASS`, `PIN`, `AUTH`, or a word ending in `KEY` or `PW` (`APIKEY`, `MASTERKEY`, `ROOTPW`).
 * `KEYBOARD_LAYOUT` or `PINNED_VERSION` are not secret names. Errs towards "secret": the cost
 * of a wrong yes is a placeholder in .env.example, of a wrong no a leaked value.
 */
export function secretLikeName(key: string): boolean {
  const words = nameWords(key);
  if (SECRET_NAME_PARTS.test(words.join('_'))) return true;
  return words.some((w) => SECRET_NAME_WORDS.has(w) || /.(?:KEYS?|PWD?)$/.test(w));
}

const BOOLEAN = /^(true|false|yes|no|on|off)$/i;
const ENVIRONMENTS = new Set([
  'development',
  'production',
  'staging',
  'test',
  'testing',
  'local',
  'dev',
  'prod',
]);
const LOG_LEVELS = new Set([
  'trace',
  'debug',
  'info',
  'warn',
  'warning',
  'error',
  'fatal',
  'silent',
  'none',
]);
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Name words under which a whole number 0..65535 is a setting (a port, a count, a time). */
const NUMBER_NAME_WORDS = new Set(
  (
    'PORT PORTS TIMEOUT TTL COUNT NUM WORKERS WORKER THREADS CONCURRENCY PROCESSES REPLICAS ' +
    'RETRIES RETRY ATTEMPTS LIMIT MAX MIN SIZE LENGTH LEN DEPTH INTERVAL DELAY BACKOFF SECONDS ' +
    'SECS SEC MS MILLIS MINUTES MINS HOURS DAYS POOL CONNECTIONS BATCH WORKERS LEVEL VERSION ' +
    'DB INDEX WIDTH HEIGHT PERCENT RATE QUOTA CAPACITY BACKLOG UID GID PUID PGID UMASK'
  ).split(' '),
);
/** Name words under which a host name, an address or a URL without credentials is a setting. */
const LOCATION_NAME_WORDS = new Set(
  (
    'HOST HOSTS HOSTNAME DOMAIN DOMAINS SERVER SERVERS ADDR ADDRESS BIND LISTEN IP FQDN ' +
    'ENDPOINT URL URLS URI URIS BASE ORIGIN ORIGINS SITE HOMEPAGE LINK HREF REDIRECT CALLBACK ' +
    'PROXY REGISTRY MIRROR UPSTREAM'
  ).split(' '),
);
/** Name words that say the value is a deployment environment (`NODE_ENV=production`). */
const ENVIRONMENT_NAME_WORDS = new Set(['ENV', 'ENVIRONMENT', 'STAGE', 'MODE', 'PROFILE', 'TIER']);
/** Name words that say the value is a log level (`LOG_LEVEL=debug`, `RUST_LOG=info`). */
const LOG_NAME_WORDS = new Set(['LOG', 'LOGS', 'LOGGING', 'LEVEL', 'LOGLEVEL', 'VERBOSITY']);

function isPort(s: string): boolean {
  return /^(0|[1-9]\d{0,4})$/.test(s) && Number(s) <= 65535;
}

/** A run of letters or digits that reads as a word, a version or a short number. */
function plainRun(run: string): boolean {
  if (run.length >= 16 && shannonEntropy(run) >= 3.5) return false;
  if (/^\d+$/.test(run)) return run.length <= 6;
  const oneCase = run === run.toLowerCase() || run === run.toUpperCase();
  if (/^[A-Za-z]+$/.test(run)) {
    if (run.length >= 8 && /^[a-fA-F]+$/.test(run)) return false;
    const capitalized = /^[A-Z][a-z]+$/.test(run);
    return run.length <= 24 && (oneCase || capitalized);
  }
  // Letters and digits mixed: short, one case, at most two letter/digit switches (v1beta, ec2).
  if (!/^[A-Za-z0-9]+$/.test(run) || run.length > 10 || !oneCase) return false;
  if (run.replace(/\d/g, '').length > 6 || run.replace(/\D/g, '').length > 4) return false;
  let switches = 0;
  for (let i = 1; i < run.length; i++) {
    if (/\d/.test(run[i]!) !== /\d/.test(run[i - 1]!)) switches++;
  }
  return switches <= 2;
}

/**
 * `s` has no other characters than `allowed`, every letter/digit run of it is plain, and no
 * part between `/` or `.` looks random once its `-`, `_` and `~` are dropped (a token cut
 * into short runs: `kgkujnokgdgjp-gacf_akozfb7ih`).
 */
function plainText(s: string, allowed: RegExp): boolean {
  if (!allowed.test(s)) return false;
  for (const part of s.split(/[/.]+/)) {
    const alnum = part.replace(/[^A-Za-z0-9]+/g, '');
    if (alnum.length >= 16 && shannonEntropy(alnum) >= 3.5) return false;
  }
  return s
    .split(/[^A-Za-z0-9]+/)
    .filter((r) => r !== '')
    .every(plainRun);
}

/** `localhost`, an IPv4 address or a dotted lowercase name with an alphabetic last label. */
function isHostName(host: string): boolean {
  if (host === 'localhost' || IPV4.test(host)) return true;
  const labels = host.split('.');
  if (labels.length < 2 || !/^[a-z]{2,24}$/.test(labels.at(-1)!)) return false;
  return labels.every(
    (l) => /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(l) && plainText(l, /^[a-z0-9-]+$/),
  );
}

function isHostAndPort(s: string): boolean {
  const m = /^([^:]+)(?::(\d+))?$/.exec(s);
  return m !== null && isHostName(m[1]!) && (m[2] === undefined || isPort(m[2]));
}

function isPlainUrl(s: string): boolean {
  const m = /^([a-z][a-z0-9+.-]{0,15}):\/\/([^/?#]*)(\/[^?#]*)?$/.exec(s);
  if (m === null || /[@%\\]/.test(s)) return false;
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return false;
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    return false;
  }
  if (!isHostAndPort(m[2]!)) return false;
  const path = m[3] ?? '';
  return path === '' || plainText(path, /^[A-Za-z0-9/._~-]+$/);
}

/**
 * Whether `value` of variable `key` is clearly not a secret, so `.env.example` may keep it as
 * it is (see the module header for the rules). False whenever in doubt: a value is kept only
 * when the name does not look secret and the value is of a kind the name says it holds.
 */
export function isClearlyNotSecret(key: string, value: string): boolean {
  if (typeof value !== 'string' || value === '' || value.length > 200) return false;
  if (secretLikeName(key) || KNOWN_SECRET.test(value)) return false;
  if (BOOLEAN.test(value)) return true;
  const words = nameWords(key);
  const says = (set: ReadonlySet<string>) => words.some((w) => set.has(w));
  // A PIN or a password is a number or a dotted word too: only the name tells them apart.
  if (/^\d+$/.test(value)) return isPort(value) && says(NUMBER_NAME_WORDS);
  if (ENVIRONMENTS.has(value) && says(ENVIRONMENT_NAME_WORDS)) return true;
  if (LOG_LEVELS.has(value) && says(LOG_NAME_WORDS)) return true;
  return says(LOCATION_NAME_WORDS) && (isHostAndPort(value) || isPlainUrl(value));
}

/** Words people put in a placeholder: "your-key-here", "generate-a-32-char-random-string". */
const PLACEHOLDER_WORDS =
  /your|example|generate|here|change-?me|replace|placeholder|xxx|\.\.\.|<[^>]*>|\d+-(?:char|byte|bit)/i;

/** A value (or a part of a URL) that is a placeholder, a reference or a documented example. */
function isPlaceholder(v: string): boolean {
  return PLACEHOLDER.test(v) || PLACEHOLDER_WORDS.test(v) || isPlaceholderOrReference(v);
}

/**
 * Whether `value`, found under `key` in an example file (committed, shared), looks like a
 * real secret rather than a placeholder or a plain setting. The one rule `env example` warns
 * by and doctor's `files/env-example-values` check reports by (`flagged`: a scanner rule
 * found something on its line).
 * - a URL: real when its password is (`postgresql://user:password@localhost/db` is an
 *   example, `postgres://app:Xk29fJq83LmZ@db/app` is not), or when it has no credentials but
 *   a part that looks random under a secret name (a Slack webhook's path);
 * - anything else: not when it is a placeholder (`change-me`, `your-...-here`, `xxx`,
 *   `<...>`, coffer's own `<what it is>` and `generate-hex-32`, `${VAR}`), nor when `.env.example`
 *   may keep it (`isClearlyNotSecret`); real when `flagged` or `looksLikeSecret`.
 */
export function exampleValueLooksReal(key: string, value: string, flagged = false): boolean {
  const v = value.trim();
  if (v === '') return false;
  if (KNOWN_SECRET.test(v) && !isPlaceholder(v)) return true;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) {
    let url: URL;
    try {
      url = new URL(v);
    } catch {
      return false;
    }
    let password = url.password;
    try {
      password = decodeURIComponent(password);
    } catch {
      // A stray % is still a password.
    }
    if (password !== '') return password.length >= 6 && !isPlaceholder(password);
    if (isClearlyNotSecret(key, v) || isPlaceholder(v)) return false;
    return secretLikeName(key) && v.split(/[/?#&=:@.]+/).some((part) => looksLikeSecret(part));
  }
  if (isPlaceholder(v) || isClearlyNotSecret(key, v)) return false;
  return flagged || looksLikeSecret(v);
}

/** The text of `.env.example` made from `.env` text, and what became of each variable. */
export interface DotenvExample {
  text: string;
  /** Variables whose value became a placeholder. */
  placeholders: string[];
  /** Variables whose value was kept (clearly not secrets). */
  kept: string[];
}

/**
 * `.env.example` text from `.env` text: comments, order and unrelated lines kept; each value
 * replaced by `<what it is>` (from `describe(key)`, else the name in words), unless `keep` is
 * on (the default) and the value is clearly not a secret.
 */
export function dotenvExample(
  text: string,
  describe: (key: string) => string | undefined = () => undefined,
  options: { keep?: boolean } = {},
): DotenvExample {
  const keep = options.keep !== false;
  const updates: Record<string, string> = {};
  const placeholders: string[] = [];
  const kept: string[] = [];
  for (const [key, value] of Object.entries(parseDotenv(text))) {
    if (keep && isClearlyNotSecret(key, value)) {
      kept.push(key);
      continue;
    }
    const what = describe(key) ?? key.toLowerCase().replace(/_/g, ' ');
    updates[key] = `<${what.replace(/[<>]/g, '')}>`;
    placeholders.push(key);
  }
  return {
    text: setDotenvVariables(withoutValueTails(text, updates), updates),
    placeholders,
    kept,
  };
}

/**
 * `text` without the `#...` right after a replaced value (`P=p@ss#w0rd!`): dotenv ends an
 * unquoted value at `#`, so that is the rest of a value (cut short), not a comment, and it
 * would land in the committed example. A comment after a space (`K=v # note`) is kept.
 */
function withoutValueTails(text: string, replaced: Readonly<Record<string, string>>): string {
  let out = text;
  const pairs = parseDotenvLines(text).filter(
    (e): e is DotenvPairEntry => e.kind === 'pair' && Object.hasOwn(replaced, e.key),
  );
  for (const e of pairs.reverse()) {
    if (out[e.end] !== '#') continue;
    const eol = out.slice(e.end).search(/\r\n|\n|\r/);
    out = out.slice(0, e.end) + (eol < 0 ? '' : out.slice(e.end + eol));
  }
  return out;
}
