/**
 * The provider rules: one entry per secret format with a recognisable shape, each with a
 * stable id (docs/scan.md lists them), the detect-secrets type that finds the same thing
 * (for baselines), a literal every match contains (so a line without any is skipped with one
 * test), and, where the format allows it, a validation that confirms the shape: GitHub and npm
 * checksums, JWT structure, Fernet key length, a PEM body after a private-key header.
 *
 * Shapes follow each provider's documented token formats; the selection and the checks were
 * informed by public scanners' rule sets (gitleaks' config, detect-secrets' plugins), written
 * here anew. Not done: calling a provider to check that a key is live.
 */
import { hasValidTokenChecksum, isFernetKey, isStructuredJwt } from './checksums.js';

/** One provider rule. */
export interface ProviderRule {
  readonly id: string;
  readonly description: string;
  /** detect-secrets' type name for the same finding, when it has a plugin for it. */
  readonly detectSecretsType?: string;
  /** Literals (case-sensitive); a line holding none of them is not tried. */
  readonly hints: readonly string[];
  /** Global regex; the named group `secret` (else the whole match) is the secret. */
  readonly regex: RegExp;
  /** How many leading characters of the secret are public (a prefix) and may be shown. */
  readonly publicPrefix: number;
  /** A check of the secret's format; a match that fails it is not reported. */
  readonly validate?: (secret: string, line: string) => boolean;
  /** True when validate proves the format (a checksum), not only plausibility. */
  readonly proves?: boolean;
}

const B64 = 'A-Za-z0-9+/';

export const PROVIDER_RULES: readonly ProviderRule[] = [
  {
    id: 'github-token',
    description: 'GitHub token (ghp_, gho_, ghu_, ghs_, ghr_) with a valid CRC32 checksum',
    detectSecretsType: 'GitHub Token',
    hints: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'],
    regex: /(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36}(?![A-Za-z0-9])/g,
    publicPrefix: 4,
    validate: hasValidTokenChecksum,
    proves: true,
  },
  {
    id: 'github-fine-grained-token',
    description: 'GitHub fine-grained personal access token (github_pat_)',
    detectSecretsType: 'GitHub Token',
    hints: ['github_pat_'],
    regex: /(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}(?![A-Za-z0-9])/g,
    publicPrefix: 11,
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
  },
  {
    id: 'slack-token',
    description: 'Slack token (xoxb-, xoxp-, xoxa-, xoxr-, xoxs-, xoxe-)',
    detectSecretsType: 'Slack Token',
    hints: ['xox'],
    regex: /(?<![A-Za-z0-9-])xox(?:[abprs]|e(?:\.xox[bp])?)-(?:\d+-){1,3}[A-Za-z0-9-]{10,}/g,
    publicPrefix: 5,
  },
  {
    id: 'slack-webhook',
    description: 'Slack incoming webhook URL',
    detectSecretsType: 'Slack Token',
    hints: ['hooks.slack.com'],
    regex:
      /https:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9]{8,12}\/[A-Za-z0-9]{8,12}\/[A-Za-z0-9]{20,}/g,
    publicPrefix: 24,
  },
  {
    id: 'stripe-secret-key',
    description: 'Stripe secret or restricted key (sk_live_, rk_live_, sk_test_, rk_test_)',
    detectSecretsType: 'Stripe Access Key',
    hints: ['k_live_', 'k_test_', 'k_prod_'],
    regex: /(?<![A-Za-z0-9_])[rs]k_(?:live|test|prod)_[A-Za-z0-9]{24,247}(?![A-Za-z0-9])/g,
    publicPrefix: 8,
  },
  {
    id: 'openai-api-key',
    description: 'OpenAI API key (sk-proj-, sk-svcacct-, sk-admin-, legacy sk-…T3BlbkFJ…)',
    detectSecretsType: 'OpenAI Token',
    hints: ['sk-'],
    regex:
      /(?<![A-Za-z0-9_-])sk-(?:(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{58,200}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})(?![A-Za-z0-9_-])/g,
    publicPrefix: 3,
  },
  {
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
  },
  {
    id: 'aws-access-key-id',
    description: 'AWS access key id (AKIA, ASIA, ABIA, ACCA)',
    detectSecretsType: 'AWS Access Key',
    hints: ['AKIA', 'ASIA', 'ABIA', 'ACCA'],
    regex: /(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}(?![A-Z0-9])/g,
    publicPrefix: 4,
  },
  {
    id: 'aws-secret-access-key',
    description: 'AWS secret access key (40 characters) next to an AWS secret key name',
    detectSecretsType: 'AWS Access Key',
    hints: ['ecret', 'ECRET'],
    regex: new RegExp(
      `(?:aws_?secret_?(?:access_?)?key|secret_?access_?key|secretAccessKey|SecretAccessKey)\\\\?["']?\\s*(?::=|=>|[:=])\\s*\\\\?["']?(?<secret>[${B64}]{40})(?![${B64}])`,
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
    hints: ['twilio', 'TWILIO', 'Twilio'],
    regex:
      /twilio[A-Za-z0-9_.-]*(?:auth|token|secret)[A-Za-z0-9_.-]*\\?["']?\s*(?::=|=>|[:=])\s*\\?["']?(?<secret>[0-9a-f]{32})(?![0-9A-Za-z])/gi,
    publicPrefix: 0,
  },
  {
    id: 'sendgrid-api-key',
    description: 'SendGrid API key (SG. and two base64url parts)',
    detectSecretsType: 'SendGrid API Key',
    hints: ['SG.'],
    regex: /(?<![A-Za-z0-9])SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g,
    publicPrefix: 3,
  },
  {
    id: 'azure-storage-key',
    description: 'Azure storage account key (AccountKey= in a connection string)',
    detectSecretsType: 'Azure Storage Account access key',
    hints: ['AccountKey'],
    regex: new RegExp(`AccountKey\\s*=\\s*(?<secret>[${B64}]{86,88}={0,2})`, 'g'),
    publicPrefix: 0,
  },
  {
    id: 'gcp-service-account-key',
    description: 'Google Cloud service account key (a private_key in service-account JSON)',
    hints: ['private_key'],
    regex:
      /"private_key"\s*:\s*"(?<secret>-----BEGIN (?:RSA )?PRIVATE KEY-----\\n[A-Za-z0-9+/=\\]{64,})/g,
    publicPrefix: 0,
  },
  {
    id: 'private-key',
    description: 'PEM or OpenSSH private key (RSA, EC, DSA, OPENSSH, ENCRYPTED, PGP)',
    detectSecretsType: 'Private Key',
    hints: ['PRIVATE KEY'],
    regex:
      /(?<secret>BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?)-----(?<body>(?:\\n|\\r|\s)*[A-Za-z0-9+/=:-]{0,80})/g,
    publicPrefix: 0,
  },
  {
    id: 'jwt',
    description: 'JSON Web Token (base64url header with alg, payload, signature)',
    detectSecretsType: 'JSON Web Token',
    hints: ['eyJ'],
    regex: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{16,}/g,
    publicPrefix: 3,
    validate: isStructuredJwt,
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
  },
  {
    id: 'npmrc-auth-token',
    description: 'registry auth token in an .npmrc (_authToken=)',
    detectSecretsType: 'NPM tokens',
    hints: ['_authToken', '_auth'],
    regex: /:_auth(?:Token)?\s*=\s*(?<secret>[A-Za-z0-9_+/=.-]{20,})/g,
    publicPrefix: 0,
  },
  {
    id: 'url-password',
    description:
      'password in a database, broker or service URL (postgres://user:password@host, redis, amqp, mongodb, mysql, …)',
    detectSecretsType: 'Basic Auth Credentials',
    hints: ['://'],
    regex:
      /(?<![A-Za-z0-9+.-])(?<scheme>[a-z][a-z0-9+.-]{1,20}):\/\/(?<user>[^\s:/?#@"'<>\\`]*):(?<secret>[^\s/?#@"'<>\\`]{3,})@(?<host>[A-Za-z0-9.[\]_-]+)/g,
    publicPrefix: 0,
  },
  {
    id: 'fernet-key',
    description: 'Fernet key (url-safe base64 of 32 bytes) next to a key name',
    hints: ['KEY', 'key', 'Key', 'ernet'],
    regex:
      /(?:fernet|crypt|cipher|key)[A-Za-z0-9_.-]*\\?["']?\s*(?::=|=>|[:=])\s*\\?["'`]?(?:b["'])?(?<secret>[A-Za-z0-9_-]{43}=)(?![A-Za-z0-9_=-])/gi,
    publicPrefix: 0,
    validate: isFernetKey,
  },
];

/** One regex of every rule's hints: a line that does not match it skips the table. */
export const PROVIDER_HINT: RegExp = new RegExp(
  [...new Set(PROVIDER_RULES.flatMap((r) => r.hints))]
    .map((h) => h.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('|'),
);
