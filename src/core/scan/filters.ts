/**
 * False-positive filters: what looks like a secret and is not.
 *
 * - whole files that hold no secrets by construction: lockfiles, source maps, the baseline
 *   itself, binary files, images (`pathFilter`);
 * - test fixtures, where keyword matches are mostly invented values (`isTestPath`);
 * - values that are placeholders (`your-key-here`, `<TOKEN>`, `xxxx`, `changeme`),
 *   references to a secret kept elsewhere (`process.env.X`, `os.environ[...]`, `${VAR}`,
 *   `${{ secrets.X }}`, `coffer://…`), documented examples (AWS's `…EXAMPLE` keys, the jwt.io
 *   sample), UUIDs, hashes, file paths and URLs without credentials (`isFalsePositiveValue`);
 * - spans of a line that cannot hold a secret: data URIs (`maskInertSpans`).
 *
 * Provider rules use only the placeholder, reference and documented-example checks: their
 * format already says "secret". The generic keyword detector uses all of them.
 */

/** Lockfiles and other generated manifests: integrity hashes, never credentials. */
const LOCKFILES = new Set([
  'package-lock.json',
  'npm-shrinkwrap.json',
  'yarn.lock',
  'pnpm-lock.yaml',
  'bun.lock',
  'bun.lockb',
  'cargo.lock',
  'poetry.lock',
  'pipfile.lock',
  'gemfile.lock',
  'composer.lock',
  'go.sum',
  'flake.lock',
  'packages.lock.json',
  'podfile.lock',
  'mix.lock',
  'pubspec.lock',
  'uv.lock',
]);

/** Extensions of files never scanned: images, fonts, archives, media, compiled code. */
const BINARY_EXT =
  /\.(?:png|jpe?g|gif|bmp|ico|webp|avif|tiff?|psd|woff2?|ttf|otf|eot|zip|gz|tgz|bz2|xz|7z|rar|jar|war|class|o|a|so|dylib|dll|exe|bin|pdf|mp[34]|mov|avi|webm|wav|ogg|flac|wasm|pyc|db|sqlite3?|map)$/i;

/** The baseline file when none is named: at the root of what is scanned. */
export const DEFAULT_BASELINE_FILE = '.secrets.baseline';

/**
 * Why a whole file is skipped, or undefined when it is scanned. `baseline` is the baseline
 * file in use (a path as files are shown, `/`-separated): that one file is skipped, as
 * detect-secrets does, and not every file of that name (a key committed as
 * `config/.secrets.baseline` would otherwise pass every scan).
 */
export function pathFilter(
  file: string,
  baseline: string = DEFAULT_BASELINE_FILE,
): string | undefined {
  const base = (file.slice(file.lastIndexOf('/') + 1) || file).toLowerCase();
  if (LOCKFILES.has(base)) return 'lockfile';
  if (file === baseline) return 'baseline';
  if (BINARY_EXT.test(base)) return 'binary';
  return undefined;
}

/** Files whose keyword matches are skipped: minified bundles (provider rules still run). */
export function isMinifiedPath(file: string): boolean {
  return /\.min\.(?:js|css|mjs)$|[-.]bundle\.js$|\.chunk\.js$/i.test(file);
}

/** Test code and fixtures: test/, tests/, __tests__/, spec/, fixtures/, testdata/, *.test.*. */
export function isTestPath(file: string): boolean {
  return /(?:^|\/)(?:tests?|__tests__|__mocks__|specs?|fixtures?|testdata|mocks?)\/|[._-](?:test|spec)\.[a-z0-9]+$|_test\.go$|(?:^|\/)test_[^/]*\.py$/i.test(
    file,
  );
}

/** Placeholder words, and how a compound one may be written in camel case. */
const PLACEHOLDER_WORDS: readonly (readonly string[])[] = [
  ['your'],
  ['example'],
  ['change', 'me'],
  ['place', 'holder'],
  ['dummy'],
  ['sample'],
  ['replace'],
  ['insert'],
  ['fix', 'me'],
  ['todo'],
  ['redacted'],
  ['fake'],
  ['mock'],
  ['foo', 'bar'],
  ['lorem'],
];
/** Marks that are placeholders wherever they stand. */
const PLACEHOLDER_MARK = /xxxx|\*\*\*|\.\.\.|<[^>]*>|\{\{|\}\}|change[_-]me/i;
/** Whole values that are placeholders. */
const PLACEHOLDER_VALUE =
  /^(?:test|testing|secret|password|passwd|token|none|null|nil|undefined|true|false|empty|string|default|admin|root|postgres|guest|pass|user|username|demo|local|localhost|required|optional|n\/a)$/i;
/** The placeholders of coffer's .env.example: `generate-hex-32`, `set-from-JWT_SECRET`. */
const COFFER_EXAMPLE = /^(?:generate-[a-z0-9-]+|set-from-[A-Za-z_][A-Za-z0-9_]*)$/;
/** Placeholders people write where a secret goes: a word anywhere, a mark, a whole value. */
const PLACEHOLDER = new RegExp(
  [
    ...PLACEHOLDER_WORDS.map((parts) => parts.join('')),
    PLACEHOLDER_MARK.source,
    PLACEHOLDER_VALUE.source,
  ].join('|'),
  'i',
);

const isLetter = (c: string | undefined) => c !== undefined && /[A-Za-z]/.test(c);
const isLower = (c: string | undefined) => c !== undefined && /[a-z]/.test(c);
const isUpper = (c: string | undefined) => c !== undefined && /[A-Z]/.test(c);
const capitalized = (w: string) => w[0]!.toUpperCase() + w.slice(1);

/** The ways a person writes a placeholder word: lower, UPPER, Capitalized, camelCase. */
function writtenForms(parts: readonly string[]): Set<string> {
  const lower = parts.join('');
  return new Set([
    lower,
    lower.toUpperCase(),
    capitalized(lower),
    parts.map(capitalized).join(''),
    parts[0]! + parts.slice(1).map(capitalized).join(''),
  ]);
}
const PLACEHOLDER_FORMS = PLACEHOLDER_WORDS.map((parts) => ({
  word: parts.join(''),
  forms: writtenForms(parts),
}));

/**
 * A value that looks machine-made: 24 characters or more with lowercase and uppercase
 * letters and digits. Four letters in a row spell a placeholder word in about one such value
 * in 3,000 (`...MoCk...`), so in these a word counts only written as a person writes it.
 */
function machineMade(value: string): boolean {
  return value.length >= 24 && /[a-z]/.test(value) && /[A-Z]/.test(value) && /[0-9]/.test(value);
}

/**
 * Whether a machine-made value holds a placeholder word as a person writes one: in one of
 * its written forms, standing apart (a non-letter or the end on each side) or at a case
 * boundary (`sk_test_YourSecretKeyHere`, `myFakeApiKey`). Four random letters spell a word
 * far more often than they also fit its case and its boundaries.
 */
function placeholderWord(value: string): boolean {
  if (PLACEHOLDER_MARK.test(value)) return true;
  const lower = value.toLowerCase();
  for (const { word, forms } of PLACEHOLDER_FORMS) {
    for (let at = lower.indexOf(word); at >= 0; at = lower.indexOf(word, at + 1)) {
      const seg = value.slice(at, at + word.length);
      if (!forms.has(seg)) continue;
      const before = value[at - 1];
      const after = value[at + word.length];
      const startsApart = !isLetter(before) || (isUpper(seg[0]) && isLower(before));
      const endsApart = !isLetter(after) || (isLower(seg[seg.length - 1]) && isUpper(after));
      if (startsApart && endsApart) return true;
    }
  }
  return false;
}

/** References to a secret kept elsewhere: environment, templates, secret stores. */
const REFERENCE =
  /^(?:\$\{?\{?|%\(|%\{|#\{|@\{|\{\{|<%)|^\$[A-Za-z_]|process\.env|import\.meta\.env|os\.environ|os\.getenv|getenv\(|System\.getenv|ENV\[|env\(|Environment\.GetEnvironmentVariable|secrets\.[A-Za-z_]|coffer:\/\/|vault:|op:\/\/|ssm:|arn:aws|!Ref|!Sub|\bvar\.|\blocal\.|data\.aws|keyvault|secretKeyRef|valueFrom/i;

/**
 * Keys that vendors publish in their documentation as examples: matching them is noise.
 * (AWS's example key pair, the jwt.io sample token, Stripe's documented test key.)
 */
const DOCUMENTED_EXAMPLES = new Set([
  'AKIAIOSFODNN7EXAMPLE',
  'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
  'sk_test_4eC39HqLyjWDarjtT1zdp7dc',
  'sk_test_BQokikJOvBiI2HlWgH4olfQ2',
]);

/** True for a placeholder, a reference or a documented example. */
export function isPlaceholderOrReference(value: string): boolean {
  if (DOCUMENTED_EXAMPLES.has(value)) return true;
  // What coffer's own .env.example says goes there (manifest/example.ts).
  if (COFFER_EXAMPLE.test(value)) return true;
  if (/EXAMPLE/.test(value)) return true;
  if (REFERENCE.test(value)) return true;
  return machineMade(value) ? placeholderWord(value) : PLACEHOLDER.test(value);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SRI = /^(?:sha(?:1|256|384|512)-[A-Za-z0-9+/]+=*|[a-z0-9]+:[0-9a-f]{32,})$/;

/** True for a UUID. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** True for a subresource-integrity or `algo:hex` digest string (`sha512-...`, `sha256:...`). */
export function isIntegrityString(value: string): boolean {
  return SRI.test(value);
}

/** Blanks out data URIs (`data:image/png;base64,…`) so no rule reads inside them. */
export function maskInertSpans(line: string): string {
  if (!line.includes('data:')) return line;
  return line.replace(
    // A parameter value stops at `:`, so a run of `data:` never restarts inside another.
    /data:[a-z]+\/[a-z0-9.+-]+(?:;[a-z-]+=[^;,:\s"']+)*;base64,[A-Za-z0-9+/=]+/gi,
    (m) => ' '.repeat(m.length),
  );
}
