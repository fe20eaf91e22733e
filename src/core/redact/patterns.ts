/**
 * Well-known secret shapes, in one named table, for text where the value itself is not known:
 * provider API keys, tokens, private keys, credentials in URLs and headers.
 *
 * Each pattern masks its whole match, except the named groups `keep` (before the secret) and
 * `keepAfter` (after it), which stay so the line still reads ("Bearer [REDACTED]",
 * "postgres://app:[REDACTED]@db"). The shapes follow each provider's documented prefixes.
 *
 * Deliberately not done: entropy or keyword detection (that is the scanner's job,
 * `coffer scan`), and validating checksums. Patterns favour masking too much in logs over
 * missing a real key. Patterns are matched on the original text, not on text already
 * masked, and their spans are merged with those of known values by the caller.
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

/** The table. Order matters only where shapes overlap: the first pattern wins. */
export const SECRET_PATTERNS: readonly SecretPattern[] = [
  {
    name: 'private-key',
    description:
      'PEM private key block (RSA, EC, DSA, OPENSSH, ENCRYPTED, PGP); to the end of the text if truncated',
    regex:
      /-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]*?-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----|[\s\S]*$)/g,
  },
  {
    name: 'jwt',
    description: 'JSON Web Token: base64url header and payload that both start with `{"`',
    regex: new RegExp(`\\beyJ[${B64URL}]+\\.eyJ[${B64URL}]+\\.[${B64URL}]*`, 'g'),
  },
  {
    name: 'authorization-bearer',
    description: 'a bearer token after `Bearer` (Authorization headers, curl commands)',
    regex: /(?<keep>\b(?:Bearer|bearer|BEARER)[ \t]+)[A-Za-z0-9._~+/-]{8,}=*/g,
  },
  {
    name: 'authorization-basic',
    description: 'Basic credentials in an Authorization header',
    regex: /(?<keep>\bauthorization["']?\s*[:=]\s*["']?basic[ \t]+)[A-Za-z0-9+/]{4,}=*/gi,
  },
  {
    name: 'url-credentials',
    description: 'the password of `scheme://user:password@host`',
    regex:
      /(?<keep>\b[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s:/?#@"'<>\\]*:)[^\s/?#"'<>\\]+(?<keepAfter>@)/g,
  },
  {
    name: 'stripe',
    description: 'Stripe secret and restricted keys: sk_live_, sk_test_, rk_live_, rk_test_',
    regex: /\b[rs]k_(?:live|test)_[0-9A-Za-z]{10,}\b/g,
  },
  {
    name: 'github',
    description:
      'GitHub tokens: ghp_, gho_, ghu_, ghs_, ghr_ (classic) and github_pat_ (fine-grained)',
    regex: /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b/g,
  },
  {
    name: 'aws-access-key-id',
    description: 'AWS access key ids: AKIA (long-term), ASIA (temporary) and kin',
    regex: /\b(?:AKIA|ASIA|ABIA|ACCA|AIDA|AROA)[0-9A-Z]{16}\b/g,
  },
  {
    name: 'slack',
    description: 'Slack tokens: xoxb-, xoxa-, xoxp-, xoxr-, xoxs-',
    regex: /\bxox[abprs]-[0-9A-Za-z-]{10,}/g,
  },
  {
    name: 'openai',
    description: 'OpenAI API keys: sk-… and project/service-account/admin keys sk-proj-…',
    regex: /\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}/g,
  },
];

/**
 * Where the patterns match in `text`, as flat `[start, end, …]` spans of the secret part (the
 * match without its `keep` and `keepAfter` groups), in table order, possibly overlapping.
 */
export function findPatternSpans(text: string): number[] {
  const spans: number[] = [];
  for (const { regex } of SECRET_PATTERNS) {
    for (const m of text.matchAll(regex)) {
      const start = m.index + (m.groups?.keep?.length ?? 0);
      const end = m.index + m[0].length - (m.groups?.keepAfter?.length ?? 0);
      if (end > start) spans.push(start, end);
    }
  }
  return spans;
}
