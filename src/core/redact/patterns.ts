/**
 * Well-known secret shapes, in one named table, for text where the value itself is not known:
 * provider API keys, tokens, private keys, credentials in URLs and headers.
 *
 * Each pattern masks its whole match, except the named groups `keep` (before the secret) and
 * `keepAfter` (after it), which stay so the line still reads ("Bearer [REDACTED]",
 * "postgres://app:[REDACTED]@db"). The shapes follow each provider's documented prefixes.
 *
 * Patterns favour masking too much in logs over missing a real key, but leave ordinary prose
 * alone (`the bearer instrumentation` stays). A masked part never holds a quote or an
 * unpaired backslash, so masking a JSON log line keeps it valid JSON. Patterns are matched on
 * the original text, not on text already masked, and their spans are merged with those of
 * known values by the caller.
 *
 * Deliberately not done: entropy or keyword detection (that is the scanner's job,
 * `coffer scan`), validating checksums, and secrets with no recognisable shape (an AWS secret
 * access key is 40 characters of base64 and nothing more).
 */

/** One entry of the pattern table. */
export interface SecretPattern {
  /** Stable, kebab-case name (tests and documentation refer to it). */
  readonly name: string;
  /** What it finds. */
  readonly description: string;
  /** Global regular expression; groups `keep` and `keepAfter` are left in place. */
  readonly regex: RegExp;
}

/** Base64url characters, the alphabet of most tokens. */
const B64URL = 'A-Za-z0-9_-';
/** What a PEM body may hold: base64, header lines, whitespace, and `\n` escapes in JSON. */
const PEM_BODY = '(?:[A-Za-z0-9+/=:,. \\t\\r\\n-]|\\\\[nrt])';
const PEM_LABEL = '[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----';

/**
 * The table. Order matters only where shapes overlap: spans are merged, so the union of all
 * matches is hidden.
 *
 * Every expression is linear on long input: a quantified run either cannot fail after it
 * (it is followed by nothing, or by `=*`), or its start is anchored by a lookbehind so that a
 * maximal run is scanned from its first character only, never once from each position in it.
 */
export const SECRET_PATTERNS: readonly SecretPattern[] = [
  {
    name: 'private-key',
    description:
      'PEM private key block (RSA, EC, DSA, OPENSSH, ENCRYPTED, PGP); a truncated one up to the first character a PEM body cannot hold',
    regex: new RegExp(
      `-----BEGIN${PEM_LABEL}${PEM_BODY}*?(?:-----END${PEM_LABEL}|(?!${PEM_BODY}))`,
      'g',
    ),
  },
  {
    name: 'jwt',
    description: 'JSON Web Token: base64url header and payload that both start with `{"`',
    regex: new RegExp(`(?<![${B64URL}])eyJ[${B64URL}]+\\.eyJ[${B64URL}]+\\.[${B64URL}]*`, 'g'),
  },
  {
    name: 'authorization-bearer',
    description:
      'a bearer token after `Bearer` (Authorization headers, curl commands); not a plain word',
    regex:
      /(?<keep>\b(?:Bearer|bearer|BEARER)[ \t]+)(?![A-Za-z][a-z]*[.,;:!?]*(?![A-Za-z0-9._~+/=-]))[A-Za-z0-9._~+/-]{8,}=*/g,
  },
  {
    name: 'authorization-header',
    description: 'Basic and token credentials in an Authorization header or field',
    regex:
      /(?<keep>\bauthorization\\?["']?[ \t]*[:=][ \t]*\\?["']?(?:basic|token)[ \t]+)[A-Za-z0-9._~+/-]{4,}=*/gi,
  },
  {
    name: 'url-credentials',
    description: 'the password of `scheme://user:password@host`',
    regex:
      /(?<keep>(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s:/?#@"'<>\\]*:)[^\s/"'<>\\]+(?<keepAfter>@)/g,
  },
  {
    name: 'stripe',
    description:
      'Stripe secret, restricted and webhook signing keys: sk_live_, sk_test_, rk_live_, rk_test_, whsec_',
    regex: /\b(?:[rs]k_(?:live|test)_[0-9A-Za-z]{10,}|whsec_[0-9A-Za-z]{20,})/g,
  },
  {
    name: 'github',
    description:
      'GitHub tokens: ghp_, gho_, ghu_, ghs_, ghr_ (classic) and github_pat_ (fine-grained)',
    regex: /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})/g,
  },
  {
    name: 'gitlab',
    description: 'GitLab personal, project and group access tokens: glpat-',
    regex: /\bglpat-[A-Za-z0-9_-]{20,}/g,
  },
  {
    name: 'aws-access-key-id',
    description: 'AWS access key ids: AKIA (long-term), ASIA (temporary) and kin',
    regex: /\b(?:AKIA|ASIA|ABIA|ACCA|AIDA|AROA)[0-9A-Z]{16}\b/g,
  },
  {
    name: 'google-api-key',
    description: 'Google API keys: AIza followed by 35 characters',
    regex: /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g,
  },
  {
    name: 'slack',
    description: 'Slack tokens: xoxb-, xoxa-, xoxp-, xoxr-, xoxs-',
    regex: /\bxox[abprs]-[0-9A-Za-z-]{10,}/g,
  },
  {
    name: 'npm',
    description: 'npm access tokens: npm_ followed by 36 characters',
    regex: /\bnpm_[A-Za-z0-9]{36}(?![A-Za-z0-9])/g,
  },
  {
    name: 'sendgrid',
    description: 'SendGrid API keys: SG. and two base64url parts',
    regex: /\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g,
  },
  {
    name: 'openai',
    description:
      'OpenAI and Anthropic API keys: sk-…, sk-proj-…, sk-svcacct-…, sk-admin-…, sk-ant-…',
    regex: /\bsk-[A-Za-z0-9_-]{20,}/g,
  },
];

/**
 * A literal every match of some pattern contains (its provider prefix or keyword): one test
 * of it lets text without any of them skip the whole table. Keep it in step with the table;
 * a property test checks that no pattern matches where it does not.
 */
export const PATTERN_HINT: RegExp =
  /-----BEGIN|eyJ|bearer|authorization|:\/\/|_live_|_test_|whsec_|gh[pousr]_|github_pat_|glpat-|AKIA|ASIA|ABIA|ACCA|AIDA|AROA|AIza|xox|npm_|SG\.|sk-/i;

/**
 * Private copies: a caller's `test()` on an exported regex moves its `lastIndex`, and cloning
 * per call (as `matchAll` does) costs more than the search itself on short strings.
 */
const OWN_REGEXES = SECRET_PATTERNS.map(({ regex }) => new RegExp(regex.source, regex.flags));

/**
 * Where the patterns match in `text`, as flat `[start, end, …]` spans of the secret part (the
 * match without its `keep` and `keepAfter` groups), in table order, possibly overlapping.
 */
export function findPatternSpans(text: string): number[] {
  const spans: number[] = [];
  if (!PATTERN_HINT.test(text)) return spans;
  for (const regex of OWN_REGEXES) {
    regex.lastIndex = 0;
    for (let m = regex.exec(text); m !== null; m = regex.exec(text)) {
      const start = m.index + (m.groups?.keep?.length ?? 0);
      const end = m.index + m[0].length - (m.groups?.keepAfter?.length ?? 0);
      if (end > start) spans.push(start, end);
      // Every pattern matches at least one character, so exec always moves on.
    }
  }
  return spans;
}
