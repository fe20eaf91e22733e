/**
 * Well-known secret shapes, in one named table, for text where the value itself is not known:
 * provider API keys, tokens, private keys, credentials in URLs and headers.
 *
 * The shapes are the scanner's: `SECRET_PATTERNS` is derived from the one table of secret
 * rules (`../scan/rules.ts`), where each rule says under which name redaction masks it. Here
 * a match is masked whatever the scanner's validation would say (a checksum, an exact
 * length): in a log line, masking too much is better than showing a real key.
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
 * `coffer scan`: its rules without a redaction name), validating checksums, and secrets with
 * no recognisable shape (an AWS secret access key is 40 characters of base64 and nothing more).
 */
import { hintRegex, SECRET_RULES, type SecretRule } from '../scan/rules.js';

/** One entry of the pattern table. */
export interface SecretPattern {
  /** Stable, kebab-case name (tests and documentation refer to it). */
  readonly name: string;
  /** What it finds. */
  readonly description: string;
  /** Global regular expression; groups `keep` and `keepAfter` are left in place. */
  readonly regex: RegExp;
}

/** The names, in the order of the table, and what each finds. */
const NAMES: readonly (readonly [name: string, description: string])[] = [
  [
    'private-key',
    'PEM private key block (RSA, EC, DSA, OPENSSH, ENCRYPTED, PGP); a truncated one up to the first character a PEM body cannot hold',
  ],
  ['jwt', 'JSON Web Token: base64url header and payload that both start with `{"`'],
  [
    'authorization-bearer',
    'a bearer token after `Bearer` (Authorization headers, curl commands); not a plain word',
  ],
  ['authorization-header', 'Basic and token credentials in an Authorization header or field'],
  ['url-credentials', 'the password of `scheme://user:password@host`'],
  [
    'stripe',
    'Stripe secret, restricted and webhook signing keys: sk_live_, sk_test_, rk_live_, rk_test_, whsec_',
  ],
  [
    'github',
    'GitHub tokens: ghp_, gho_, ghu_, ghs_, ghr_ (classic) and github_pat_ (fine-grained)',
  ],
  ['gitlab', 'GitLab tokens: glpat- (personal, project, group), gldt-, glrt-, glptt-, glcbt-'],
  ['aws-access-key-id', 'AWS access key ids: AKIA (long-term), ASIA (temporary) and kin'],
  ['google-api-key', 'Google API keys: AIza followed by 35 characters'],
  ['slack', 'Slack tokens (xoxb-, xoxa-, xoxp-, xoxr-, xoxs-, xoxe-) and webhook URLs'],
  ['npm', 'npm access tokens (npm_ followed by 36 characters) and .npmrc _authToken values'],
  ['sendgrid', 'SendGrid API keys: SG. and two base64url parts'],
  ['openai', 'OpenAI and Anthropic API keys: sk-…, sk-proj-…, sk-svcacct-…, sk-admin-…, sk-ant-…'],
];

/** The rules redaction runs, in the order of `NAMES`. */
const REDACTION_RULES: readonly SecretRule[] = NAMES.flatMap(([name]) =>
  SECRET_RULES.filter((r) => r.redact === name),
);

const redactionRegex = (r: SecretRule): RegExp => r.redactRegex ?? r.regex;

/**
 * One pattern per name: the union of its rules' expressions (each rule of a name uses its own
 * named groups, so the union is a valid expression).
 */
export const SECRET_PATTERNS: readonly SecretPattern[] = NAMES.map(([name, description]) => {
  const regexes = REDACTION_RULES.filter((r) => r.redact === name).map(redactionRegex);
  const regex =
    regexes.length === 1
      ? new RegExp(regexes[0]!.source, regexes[0]!.flags)
      : new RegExp(regexes.map((x) => `(?:${x.source})`).join('|'), regexes[0]!.flags);
  return { name, description, regex };
});

/**
 * A literal every match of some pattern contains (its provider prefix or keyword): one test
 * of it lets text without any of them skip the whole table. Made from the rules' hints; a
 * property test checks that no pattern matches where it does not.
 */
export const PATTERN_HINT: RegExp = hintRegex(REDACTION_RULES, 'i');

/**
 * Private copies with each rule's own hint: a caller's `test()` on an exported regex moves
 * its `lastIndex`, and cloning per call (as `matchAll` does) costs more than the search itself
 * on short strings.
 */
const OWN: readonly { regex: RegExp; hint: RegExp }[] = REDACTION_RULES.map((r) => {
  const x = redactionRegex(r);
  return { regex: new RegExp(x.source, x.flags), hint: hintRegex([r], 'i') };
});

/**
 * Where the patterns match in `text`, as flat `[start, end, …]` spans of the secret part (the
 * match without its `keep` and `keepAfter` groups), in table order, possibly overlapping.
 */
export function findPatternSpans(text: string): number[] {
  const spans: number[] = [];
  if (!PATTERN_HINT.test(text)) return spans;
  for (const { regex, hint } of OWN) {
    if (!hint.test(text)) continue;
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
