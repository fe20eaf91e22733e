/**
 * The one table of secret shapes, shared by the scanner (`coffer scan`) and by redaction
 * (`coffer/redact`, whose `SECRET_PATTERNS` are derived from it): one entry per secret format
 * with a recognisable shape, each with a stable id (docs/scan.md lists them), the
 * detect-secrets type that finds the same thing (for baselines), literals every match
 * contains (so text holding none of them skips the rule with one test), and, where the format
 * allows it, a validation that confirms the shape: GitHub and npm checksums, JWT structure,
 * Fernet key length, exact lengths.
 *
 * How the two users read an entry:
 * - the regex is the shape, as broad as masking a log line wants (a GitHub token of any
 *   length after its prefix, a JWT with an empty signature); the scanner, which must be
 *   precise, reports a match only when `validate` accepts it, and redaction masks every match;
 * - the secret is the match without its named groups `keep` (before) and `keepAfter` (after),
 *   so that `Bearer [REDACTED]` and `postgres://app:[REDACTED]@db` still read, and so the
 *   scanner's `hashed_secret` is the secret alone (as detect-secrets hashes it);
 * - `redact` names the `SECRET_PATTERNS` entry a rule belongs to (several rules may share one
 *   name: GitHub's classic and fine-grained tokens are both `github`); a rule without it is
 *   the scanner's only (a shape recognised by its variable name, such as an AWS secret key,
 *   is keyword detection, which redaction deliberately does not do); `scan: false` marks a
 *   rule only redaction uses (a bearer token in an Authorization header of a log line);
 * - `redactRegex` is set only where a line-by-line scanner and a masker need different
 *   extents: a PEM private key is one finding at its header, but redaction hides the block.
 *
 * Every expression is linear on long input: a quantified run either cannot fail after it
 * (it is followed by nothing, or by `=*`), or its start is anchored by a lookbehind so that a
 * maximal run is scanned from its first character only, never once from each position in it.
 * A name that must hold a word (`TWILIO_AUTH_TOKEN`, `fernet_key`) is such a run, with the
 * words looked for by lookaheads at its start: `twilio[\w.-]*auth[\w.-]*` would try every
 * split of the run (cubic on `twilio_auth` repeated). scanner.test.ts checks each rule on
 * long adversarial lines.
 *
 * Shapes follow each provider's documented token formats; the selection and the checks were
 * informed by public scanners' rule sets (gitleaks' config, detect-secrets' plugins), written
 * here anew. Not done: calling a provider to check that a key is live.
 */
import { hasValidTokenChecksum, isFernetKey, isStructuredJwt } from './checksums.js';

/** One entry of the table. */
export interface SecretRule {
  /** Stable rule id (scanner findings, baselines, SARIF). */
  readonly id: string;
  readonly description: string;
  /** detect-secrets' type name for the same finding, when it has a plugin for it. */
  readonly detectSecretsType?: string;
  /**
   * Literals every match contains; a text holding none of them is not tried. Compared
   * case-sensitively, or case-insensitively when the regex has the `i` flag.
   */
  readonly hints: readonly string[];
  /** Global regex; the match without its groups `keep` and `keepAfter` is the secret. */
  readonly regex: RegExp;
  /** How many leading characters of the secret are public (a prefix) and may be shown. */
  readonly publicPrefix: number;
  /** The scanner's check of a match; one that fails it is not reported (redaction ignores it). */
  readonly validate?: (secret: string, line: string) => boolean;
  /** True when validate proves the format (a checksum), not only plausibility. */
  readonly proves?: boolean;
  /** The `SECRET_PATTERNS` name redaction masks this rule under; absent: scanner only. */
  readonly redact?: string;
  /** Redaction's regex when it must differ from the scanner's (same group convention). */
  readonly redactRegex?: RegExp;
  /** False for a rule only redaction uses. */
  readonly scan?: false;
  /**
   * The part of the secret detect-secrets hashes for its baseline entry, where its plugin
   * matches less than the whole secret (Stripe: the prefix and 24 characters). Default: all.
   */
  readonly baselineSecret?: (secret: string) => string;
}

/** The scanner's view of a rule (the name it had before the table was shared). */
export type ProviderRule = SecretRule;

const B64 = 'A-Za-z0-9+/';
const B64URL = 'A-Za-z0-9_-';
/** What a PEM body may hold: base64, header lines, whitespace, and `\n` escapes in JSON. */
const PEM_BODY = '(?:[A-Za-z0-9+/=:,. \\t\\r\\n-]|\\\\[nrt])';
const PEM_LABEL = '[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----';

/** A validate that accepts what `shape` matches whole. */
const whole =
  (shape: RegExp) =>
  (s: string): boolean =>
    shape.test(s);

export const SECRET_RULES: readonly SecretRule[] = [
  {
    id: 'github-token',
    description: 'GitHub token (ghp_, gho_, ghu_, ghs_, ghr_) with a valid CRC32 checksum',
    detectSecretsType: 'GitHub Token',
    hints: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'],
    regex: /(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36,}/g,
    publicPrefix: 4,
    validate: (s) => s.length === 40 && hasValidTokenChecksum(s),
    proves: true,
    redact: 'github',
  },
  {
    id: 'github-fine-grained-token',
    description: 'GitHub fine-grained personal access token (github_pat_)',
    detectSecretsType: 'GitHub Token',
    hints: ['github_pat_'],
    regex: /(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{22,}/g,
    publicPrefix: 11,
    validate: whole(/^github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}$/),
    redact: 'github',
  },
  {
    id: 'gitlab-token',
    description:
      'GitLab token: personal, project or group (glpat-), deploy (gldt-), runner (glrt-), pipeline trigger (glptt-), CI job (glcbt-)',
    detectSecretsType: 'GitLab Token',
    hints: ['glpat-', 'gldt-', 'glrt-', 'glptt-', 'glcbt-', 'GR1348941'],
    regex:
      /(?<![A-Za-z0-9_-])(?:glpat-|gldt-|glrt-|glcbt-|GR1348941)[A-Za-z0-9_-]{20,}(?:\.[0-9a-z]{2}\.[0-9a-z]{9})?|(?<![A-Za-z0-9_-])glptt-[0-9a-f]{40}/g,
    publicPrefix: 5,
    redact: 'gitlab',
  },
  {
    id: 'slack-token',
    description: 'Slack token (xoxb-, xoxp-, xoxa-, xoxr-, xoxs-, xoxe-)',
    detectSecretsType: 'Slack Token',
    hints: ['xox'],
    regex: /(?<![A-Za-z0-9-])xox(?:[abprs]|e(?:\.xox[bp])?)-[A-Za-z0-9-]{10,}/g,
    publicPrefix: 5,
    validate: whole(/^xox(?:[abprs]|e(?:\.xox[bp])?)-(?:\d+-){1,3}[A-Za-z0-9-]{10,}$/),
    redact: 'slack',
  },
  {
    id: 'slack-webhook',
    description: 'Slack incoming webhook URL',
    detectSecretsType: 'Slack Token',
    hints: ['hooks.slack.com'],
    regex:
      /https:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9]{8,12}\/[A-Za-z0-9]{8,12}\/[A-Za-z0-9]{20,}/g,
    publicPrefix: 24,
    redact: 'slack',
  },
  {
    id: 'stripe-secret-key',
    description: 'Stripe secret or restricted key (sk_live_, rk_live_, sk_test_, rk_test_)',
    detectSecretsType: 'Stripe Access Key',
    hints: ['k_live_', 'k_test_', 'k_prod_'],
    regex: /(?<![A-Za-z0-9_])[rs]k_(?:live|test|prod)_[A-Za-z0-9]{10,}/g,
    publicPrefix: 8,
    validate: whole(/^[rs]k_[a-z]{4}_[A-Za-z0-9]{24,247}$/),
    // detect-secrets' StripeDetector matches `[rs]k_live_` and 24 characters, and hashes that.
    baselineSecret: (s) => s.slice(0, 32),
    redact: 'stripe',
  },
  {
    id: 'stripe-webhook-secret',
    description: 'Stripe webhook signing secret (whsec_)',
    hints: ['whsec_'],
    regex: /(?<![A-Za-z0-9_])whsec_[A-Za-z0-9]{20,}/g,
    publicPrefix: 6,
    validate: (s) => s.length >= 32,
    redact: 'stripe',
  },
  {
    id: 'openai-api-key',
    description: 'OpenAI API key (sk-proj-, sk-svcacct-, sk-admin-, legacy sk-…T3BlbkFJ…)',
    detectSecretsType: 'OpenAI Token',
    hints: ['sk-'],
    regex: /(?<![A-Za-z0-9_-])sk-[A-Za-z0-9_-]{20,}/g,
    publicPrefix: 3,
    validate: whole(
      /^sk-(?:(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{58,200}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})$/,
    ),
    redact: 'openai',
  },
  {
    // Redaction: the openai rule's sk- shape covers these keys.
    id: 'anthropic-api-key',
    description: 'Anthropic API or admin key (sk-ant-api03-, sk-ant-admin01-)',
    hints: ['sk-ant-'],
    regex:
      /(?<![A-Za-z0-9_-])sk-ant-(?:api|admin|oat|sid)\d{2}-[A-Za-z0-9_-]{80,110}(?![A-Za-z0-9_-])/g,
    publicPrefix: 7,
  },
  {
    id: 'google-api-key',
    description: 'Google API key (AIza…)',
    hints: ['AIza'],
    regex: /(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])/g,
    publicPrefix: 4,
    redact: 'google-api-key',
  },
  {
    // AIDA (user) and AROA (role) ids are not credentials: masked in logs, not reported.
    id: 'aws-access-key-id',
    description: 'AWS access key id (AKIA, ASIA, ABIA, ACCA)',
    detectSecretsType: 'AWS Access Key',
    hints: ['AKIA', 'ASIA', 'ABIA', 'ACCA', 'AIDA', 'AROA'],
    regex: /(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA|AIDA|AROA)[0-9A-Z]{16}(?![A-Z0-9])/g,
    publicPrefix: 4,
    validate: whole(/^(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}$/),
    redact: 'aws-access-key-id',
  },
  {
    id: 'aws-secret-access-key',
    description: 'AWS secret access key (40 characters) next to an AWS secret key name',
    detectSecretsType: 'AWS Access Key',
    hints: ['secret'],
    regex: new RegExp(
      `(?<keep>(?:aws_?secret_?(?:access_?)?key|secret_?access_?key|secretAccessKey|SecretAccessKey)\\\\?["']?\\s*(?::=|=>|[:=])\\s*\\\\?["']?)[${B64}]{40}(?![${B64}])`,
      'gi',
    ),
    publicPrefix: 0,
    validate: (s) => /[A-Z]/.test(s) && /[a-z0-9]/.test(s) && !/^[A-Za-z]+$/.test(s),
  },
  {
    id: 'twilio-api-key',
    description: 'Twilio API key (SK followed by 32 hex characters)',
    detectSecretsType: 'Twilio API Key',
    hints: ['SK'],
    regex: /(?<![A-Za-z0-9])SK[0-9a-f]{32}(?![A-Za-z0-9])/g,
    publicPrefix: 2,
  },
  {
    id: 'twilio-auth-token',
    description: 'Twilio auth token (32 hex characters) next to a Twilio name',
    detectSecretsType: 'Twilio API Key',
    hints: ['twilio'],
    regex:
      /(?<keep>(?<![A-Za-z0-9_.-])(?=[A-Za-z0-9_.-]*?twilio)(?=[A-Za-z0-9_.-]*?(?:auth|token|secret))[A-Za-z0-9_.-]+\\?["']?\s*(?::=|=>|[:=])\s*\\?["']?)[0-9a-f]{32}(?![0-9A-Za-z])/gi,
    publicPrefix: 0,
  },
  {
    id: 'sendgrid-api-key',
    description: 'SendGrid API key (SG. and two base64url parts)',
    detectSecretsType: 'SendGrid API Key',
    hints: ['SG.'],
    regex: /(?<![A-Za-z0-9])SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g,
    publicPrefix: 3,
    redact: 'sendgrid',
  },
  {
    id: 'azure-storage-key',
    description: 'Azure storage account key (AccountKey= in a connection string)',
    detectSecretsType: 'Azure Storage Account access key',
    hints: ['AccountKey'],
    regex: new RegExp(`(?<keep>AccountKey\\s*=\\s*)[${B64}]{86,88}={0,2}`, 'g'),
    publicPrefix: 0,
  },
  {
    id: 'gcp-service-account-key',
    description: 'Google Cloud service account key (a private_key in service-account JSON)',
    hints: ['private_key'],
    regex:
      /(?<keep>"private_key"\s*:\s*")-----BEGIN (?:RSA )?PRIVATE KEY-----\\n[A-Za-z0-9+/=\\]{64,}/g,
    publicPrefix: 0,
  },
  {
    // The scanner reports the header (`BEGIN RSA PRIVATE KEY`, what detect-secrets hashes)
    // when a PEM body follows on its line or the next; redaction hides the whole block, and a
    // truncated one up to the first character a PEM body cannot hold.
    id: 'private-key',
    description: 'PEM or OpenSSH private key (RSA, EC, DSA, OPENSSH, ENCRYPTED, PGP)',
    detectSecretsType: 'Private Key',
    hints: ['PRIVATE KEY'],
    regex:
      /BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?(?<keepAfter>-----(?<body>(?:\\n|\\r|\s)*[A-Za-z0-9+/=:-]{0,80}))/g,
    publicPrefix: 0,
    redact: 'private-key',
    redactRegex: new RegExp(
      `-----BEGIN${PEM_LABEL}${PEM_BODY}*?(?:-----END${PEM_LABEL}|(?!${PEM_BODY}))`,
      'g',
    ),
  },
  {
    id: 'jwt',
    description: 'JSON Web Token (base64url header with alg, payload, signature)',
    detectSecretsType: 'JSON Web Token',
    hints: ['eyJ'],
    regex: new RegExp(`(?<![${B64URL}])eyJ[${B64URL}]+\\.eyJ[${B64URL}]+\\.[${B64URL}]*`, 'g'),
    publicPrefix: 3,
    validate: (s) =>
      /^eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{16,}$/.test(s) &&
      isStructuredJwt(s),
    redact: 'jwt',
  },
  {
    id: 'npm-token',
    description: 'npm access token (npm_) with a valid CRC32 checksum',
    detectSecretsType: 'NPM tokens',
    hints: ['npm_'],
    regex: /(?<![A-Za-z0-9_])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])/g,
    publicPrefix: 4,
    validate: hasValidTokenChecksum,
    proves: true,
    redact: 'npm',
  },
  {
    id: 'npmrc-auth-token',
    description: 'registry auth token in an .npmrc (_authToken=)',
    detectSecretsType: 'NPM tokens',
    hints: ['_auth'],
    regex: /(?<keep>:_auth(?:Token)?\s*=\s*)[A-Za-z0-9_+/=.-]{20,}/g,
    publicPrefix: 0,
    redact: 'npm',
  },
  {
    // The password runs to the last `@` before the host (`p@ss` is masked whole); the
    // scanner then checks it is not a placeholder, a reference or the user name.
    id: 'url-password',
    description:
      'password in a database, broker or service URL (postgres://user:password@host, redis, amqp, mongodb, mysql, …)',
    detectSecretsType: 'Basic Auth Credentials',
    hints: ['://'],
    regex:
      /(?<keep>(?<![A-Za-z0-9+.-])(?<scheme>[A-Za-z][A-Za-z0-9+.-]*):\/\/(?<user>[^\s:/?#@"'<>\\]*):)[^\s/"'<>\\]+(?<keepAfter>@(?<host>[A-Za-z0-9.[\]_-]*))/g,
    publicPrefix: 0,
    redact: 'url-credentials',
  },
  {
    id: 'fernet-key',
    description: 'Fernet key (url-safe base64 of 32 bytes) next to a key name',
    hints: ['key', 'fernet', 'crypt', 'cipher'],
    // The value first: 44 characters ending in `=` are rare, the names before them common
    // (`key`), so the name is checked by a lookbehind at each value only.
    regex:
      /(?<![A-Za-z0-9_-])(?=[A-Za-z0-9_-]{43}=(?![A-Za-z0-9_=-]))(?<=(?:fernet|crypt|cipher|key)[A-Za-z0-9_.-]*\\?["']?\s*(?::=|=>|[:=])\s*\\?["'`]?(?:b["'])?)[A-Za-z0-9_-]{43}=/gi,
    publicPrefix: 0,
    validate: isFernetKey,
  },
  {
    id: 'authorization-bearer',
    description:
      'a bearer token after `Bearer` (Authorization headers, curl commands); not a plain word',
    hints: ['earer', 'EARER'],
    regex:
      /(?<keep>\b(?:Bearer|bearer|BEARER)[ \t]+)(?![A-Za-z][a-z]*[.,;:!?]*(?![A-Za-z0-9._~+/=-]))[A-Za-z0-9._~+/-]{8,}=*/g,
    publicPrefix: 0,
    redact: 'authorization-bearer',
    scan: false,
  },
  {
    id: 'authorization-header',
    description: 'Basic and token credentials in an Authorization header or field',
    hints: ['authorization'],
    regex:
      /(?<keep>\bauthorization\\?["']?[ \t]*[:=][ \t]*\\?["']?(?:basic|token)[ \t]+)[A-Za-z0-9._~+/-]{4,}=*/gi,
    publicPrefix: 0,
    redact: 'authorization-header',
    scan: false,
  },
];

/** The rules the scanner runs, in the order they claim a line's characters. */
export const PROVIDER_RULES: readonly SecretRule[] = SECRET_RULES.filter((r) => r.scan !== false);

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** One regex of the hints of `rules`: text that does not match it skips them all. */
export function hintRegex(rules: readonly SecretRule[], flags = ''): RegExp {
  const parts = new Set<string>();
  for (const r of rules) {
    for (const h of r.hints) {
      // A case-insensitive rule's hint, spelt as a class per letter in a case-sensitive regex.
      parts.add(
        r.regex.flags.includes('i') && !flags.includes('i')
          ? [...h]
              .map((c) =>
                c.toLowerCase() !== c.toUpperCase()
                  ? `[${c.toLowerCase()}${c.toUpperCase()}]`
                  : escapeRegex(c),
              )
              .join('')
          : escapeRegex(h),
      );
    }
  }
  return new RegExp([...parts].join('|'), flags);
}

/** One regex of every scanner rule's hints: a line that does not match it skips the table. */
export const PROVIDER_HINT: RegExp = hintRegex(PROVIDER_RULES);

/** Where the secret of a match is: the match less its `keep` and `keepAfter` groups. */
export function secretSpan(m: RegExpExecArray): [start: number, end: number] {
  const g = m.groups;
  const start = m.index + (g?.keep?.length ?? 0);
  const end = m.index + m[0].length - (g?.keepAfter?.length ?? 0);
  return [start, end];
}
