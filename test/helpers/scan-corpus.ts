/**
 * A labelled corpus for the scanner, made from a seed (deterministic: the same seed gives the
 * same files byte for byte). Every file is small text in a common format (.env, YAML, JSON,
 * TypeScript, Python, Go, shell, Dockerfile, Terraform, notebooks, properties, TOML, XML,
 * Markdown), with ordinary lines around:
 *
 * - planted secrets of every rule family, each labelled with its file, line and family;
 * - decoys of every false-positive category (placeholders, references, documented examples,
 *   UUIDs, hashes, data URIs, public keys, i18n strings, test fixtures, minified code), each
 *   labelled with its category, some as whole files (lockfiles, bundles, SVG, changelogs).
 *
 * Secrets are generated in each provider's real format (checksums included), so they say
 * nothing of any real account. Used by the recall/precision tests and by `npm run bench`.
 */
import { crc32 } from 'node:zlib';

export type Family =
  | 'github'
  | 'npm'
  | 'aws'
  | 'stripe'
  | 'openai'
  | 'anthropic'
  | 'slack'
  | 'gitlab'
  | 'google'
  | 'twilio'
  | 'sendgrid'
  | 'azure'
  | 'gcp'
  | 'private-key'
  | 'jwt'
  | 'url-password'
  | 'fernet'
  | 'generic';

export type DecoyCategory =
  | 'placeholder'
  | 'reference'
  | 'documented-example'
  | 'uuid'
  | 'hash'
  | 'data-uri'
  | 'public-key'
  | 'i18n'
  | 'test-fixture'
  | 'lockfile'
  | 'minified'
  | 'svg'
  | 'changelog';

export interface Label {
  readonly file: string;
  readonly line: number;
}
export interface SecretLabel extends Label {
  readonly family: Family;
}
export interface DecoyLabel extends Label {
  readonly category: DecoyCategory;
}

export interface CorpusFile {
  readonly path: string;
  readonly content: string;
}

export interface Corpus {
  readonly files: CorpusFile[];
  readonly secrets: SecretLabel[];
  /** Decoy lines; whole decoy files label every line. */
  readonly decoys: DecoyLabel[];
}

/** mulberry32: a small seeded PRNG (not for secrets; for reproducible test data). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
const ALNUM = UPPER + LOWER + DIGITS;
const B64 = `${ALNUM}+/`;
const B64URL = `${ALNUM}-_`;
const HEX = '0123456789abcdef';
const BASE62 = DIGITS + UPPER + LOWER;

/** Random text and choices from one seed. */
export class Gen {
  readonly #r: () => number;
  constructor(seed: number) {
    this.#r = prng(seed);
  }
  int(n: number): number {
    return Math.floor(this.#r() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  str(n: number, alphabet = ALNUM): string {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[this.int(alphabet.length)];
    return s;
  }
  /** Random text with at least one upper, lower and digit (as generated keys have). */
  token(n: number, alphabet = ALNUM): string {
    for (;;) {
      const s = this.str(n, alphabet);
      if (/[A-Z]/.test(s) && /[a-z]/.test(s) && /\d/.test(s)) return s;
    }
  }
  uuid(): string {
    const h = (n: number) => this.str(n, HEX);
    return `${h(8)}-${h(4)}-4${h(3)}-${this.pick(['8', '9', 'a', 'b'])}${h(3)}-${h(12)}`;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

function checksummed(g: Gen, prefix: string): string {
  const random = g.str(30);
  let n = crc32(random) >>> 0;
  let sum = '';
  do {
    sum = BASE62[n % 62]! + sum;
    n = Math.floor(n / 62);
  } while (n > 0);
  return `${prefix}${random}${sum.padStart(6, '0')}`;
}

/** One secret value of a family, in its real format. */
export function secretOf(g: Gen, family: Family): string {
  switch (family) {
    case 'github':
      return g.int(3) === 0
        ? `github_pat_${g.str(22)}_${g.str(59)}`
        : checksummed(g, g.pick(['ghp_', 'gho_', 'ghs_', 'ghu_', 'ghr_']));
    case 'npm':
      return checksummed(g, 'npm_');
    case 'aws':
      return `${g.pick(['AKIA', 'ASIA'])}${g.str(16, `${UPPER}234567`)}`;
    case 'stripe':
      return `${g.pick(['sk_live_', 'rk_live_', 'sk_test_'])}${g.token(24 + g.int(76))}`;
    case 'openai':
      return g.int(2) === 0
        ? `sk-proj-${g.token(74, B64URL)}T3BlbkFJ${g.token(74, B64URL)}`
        : `sk-${g.token(20)}T3BlbkFJ${g.token(20)}`;
    case 'anthropic':
      return `sk-ant-api03-${g.token(93, B64URL)}AA`;
    case 'slack':
      return g.int(3) === 0
        ? `https://hooks.slack.com/services/T${g.str(8, UPPER + DIGITS)}/B${g.str(10, UPPER + DIGITS)}/${g.token(24)}`
        : `${g.pick(['xoxb', 'xoxp'])}-${g.str(11, DIGITS)}-${g.str(12, DIGITS)}-${g.token(24)}`;
    case 'gitlab':
      return `glpat-${g.token(20, B64URL)}`;
    case 'google':
      return `AIza${g.token(35, B64URL)}`;
    case 'twilio':
      return `SK${g.str(32, HEX)}`;
    case 'sendgrid':
      return `SG.${g.token(22, B64URL)}.${g.token(43, B64URL)}`;
    case 'azure':
      return g.bytes(64).toString('base64');
    case 'jwt': {
      const head = Buffer.from(JSON.stringify({ alg: g.pick(['HS256', 'RS256']), typ: 'JWT' }));
      const body = Buffer.from(
        JSON.stringify({ sub: g.uuid(), iat: 1700000000 + g.int(1e7), scope: 'api' }),
      );
      return `${head.toString('base64url')}.${body.toString('base64url')}.${g.bytes(32).toString('base64url')}`;
    }
    case 'fernet':
      return g.bytes(32).toString('base64url').concat('=');
    default:
      return g.token(16 + g.int(24), `${ALNUM}!#%^*_+-`);
  }
}

/** A PEM body of `lines` lines of 64 base64 characters. */
function pemBody(g: Gen, lines: number): string[] {
  return Array.from({ length: lines }, () => g.str(64, B64));
}

/** Lines that hold no secret, per file kind, to dilute and to fill. */
const FILLER: Record<string, readonly string[]> = {
  env: [
    'NODE_ENV=production',
    'PORT=8080',
    'LOG_LEVEL=info',
    '# database settings',
    'FEATURE_FLAGS=beta,search',
  ],
  yml: [
    'version: "3.9"',
    'services:',
    '  web:',
    '    image: node:20-alpine',
    '    ports: ["8080:8080"]',
    '    restart: unless-stopped',
  ],
  json: [
    '  "name": "billing-service",',
    '  "version": "1.4.2",',
    '  "private": true,',
    '  "scripts": { "start": "node dist/server.js" },',
  ],
  ts: [
    "import { createServer } from 'node:http';",
    'export function total(items: Item[]): number {',
    '  return items.reduce((sum, i) => sum + i.price * i.quantity, 0);',
    '}',
    "const logger = pino({ level: 'info' });",
    '// keep the retry budget small: the upstream is rate limited',
  ],
  py: [
    'import os',
    'def handler(event, context):',
    '    return {"statusCode": 200}',
    'logger = logging.getLogger(__name__)',
  ],
  go: ['package main', 'func main() {', '\thttp.ListenAndServe(":8080", nil)', '}'],
  sh: ['#!/bin/sh', 'set -eu', 'npm ci --omit=dev', 'exec node dist/server.js'],
  docker: [
    'FROM node:20-alpine',
    'WORKDIR /app',
    'COPY package*.json ./',
    'RUN npm ci --omit=dev',
    'CMD ["node", "dist/server.js"]',
  ],
  tf: [
    'resource "aws_s3_bucket" "assets" {',
    '  bucket = "acme-assets"',
    '}',
    'variable "region" { default = "eu-west-1" }',
  ],
  md: ['# Deploying', 'Run the migrations before the release.', '', '- [ ] update the changelog'],
  properties: ['server.port=8080', 'spring.application.name=orders', 'logging.level.root=INFO'],
  toml: ['[server]', 'port = 8080', 'workers = 4'],
  xml: [
    '<?xml version="1.0"?>',
    '<configuration>',
    '  <appSettings>',
    '  </appSettings>',
    '</configuration>',
  ],
};

/** How a secret sits in a file of each kind: [extension kind, line template]. */
const PLACEMENTS: Record<Family, readonly [string, string][]> = {
  github: [
    ['env', 'GITHUB_TOKEN=$V'],
    ['yml', '  github_token: $V'],
    ['ts', "const octokit = new Octokit({ auth: '$V' });"],
    ['sh', 'git clone https://x-access-token:$V@github.com/acme/app.git'],
  ],
  npm: [
    ['npmrc', '//registry.npmjs.org/:_authToken=$V'],
    ['env', 'NPM_TOKEN=$V'],
    ['yml', '  NODE_AUTH_TOKEN: $V'],
  ],
  aws: [
    ['env', 'AWS_ACCESS_KEY_ID=$V'],
    ['ini', 'aws_access_key_id = $V'],
    ['py', 'boto3.client("s3", aws_access_key_id="$V")'],
    ['tf', '  access_key = "$V"'],
  ],
  stripe: [
    ['env', 'STRIPE_SECRET_KEY=$V'],
    ['ts', "const stripe = new Stripe('$V');"],
    ['py', 'stripe.api_key = "$V"'],
  ],
  openai: [
    ['env', 'OPENAI_API_KEY=$V'],
    ['py', 'client = OpenAI(api_key="$V")'],
    ['ipynb', '    "openai.api_key = \\"$V\\"\\n",'],
  ],
  anthropic: [
    ['env', 'ANTHROPIC_API_KEY=$V'],
    ['json', '      "env": { "ANTHROPIC_API_KEY": "$V" }'],
    ['ts', "const anthropic = new Anthropic({ apiKey: '$V' });"],
  ],
  slack: [
    ['env', 'SLACK_WEBHOOK=$V'],
    ['yml', '  slack: $V'],
    ['py', 'SLACK = "$V"'],
  ],
  gitlab: [
    ['env', 'GITLAB_TOKEN=$V'],
    ['yml', '    - git clone https://oauth2:$V@gitlab.com/acme/app.git'],
    ['sh', 'export CI_TOKEN="$V"'],
  ],
  google: [
    ['env', 'GOOGLE_MAPS_KEY=$V'],
    ['ts', "const maps = loader({ key: '$V' });"],
    ['xml', '  <string name="maps_key">$V</string>'],
  ],
  twilio: [
    ['env', 'TWILIO_API_KEY=$V'],
    ['py', 'client = Client("$V", secret)'],
    ['json', '  "twilioKey": "$V",'],
  ],
  sendgrid: [
    ['env', 'SENDGRID_API_KEY=$V'],
    ['ts', "sgMail.setApiKey('$V');"],
    ['yml', '  sendgrid: $V'],
  ],
  azure: [
    [
      'env',
      'AZURE_STORAGE=DefaultEndpointsProtocol=https;AccountName=acmeprod;AccountKey=$V;EndpointSuffix=core.windows.net',
    ],
    ['json', '  "Storage": "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=$V",'],
  ],
  gcp: [['json', '']],
  'private-key': [['pem', '']],
  jwt: [
    ['env', 'SERVICE_JWT=$V'],
    ['sh', 'curl -H "Authorization: Bearer $V" https://api.acme.dev/v1/me'],
    ['json', '  "access": "$V",'],
  ],
  'url-password': [
    ['env', 'DATABASE_URL=postgres://app:$V@db.acme.internal:5432/orders'],
    ['yml', '  url: redis://:$V@cache.acme.internal:6379/0'],
    ['py', 'BROKER = "amqp://worker:$V@mq.acme.internal:5672/"'],
    ['ts', "const uri = 'mongodb+srv://api:$V@cluster0.acme.mongodb.net/app';"],
  ],
  fernet: [
    ['env', 'FERNET_KEY=$V'],
    ['py', 'ENCRYPTION_KEY = b"$V"'],
    ['yml', '  fernet_key: "$V"'],
  ],
  generic: [
    ['env', 'SESSION_SECRET=$V'],
    ['yml', '  password: "$V"'],
    ['json', '  "apiKey": "$V",'],
    ['ts', "const clientSecret = '$V';"],
    ['py', 'SECRET_KEY = "$V"'],
    ['go', '\tdbPassword := "$V"'],
    ['docker', 'ENV API_TOKEN=$V'],
    ['sh', 'export DB_PASSWORD="$V"'],
    ['tf', '  password = "$V"'],
    ['properties', 'spring.datasource.password=$V'],
    ['toml', 'secret_key = "$V"'],
    ['xml', '    <add key="ApiSecret" value="x" /><password>$V</password>'],
    ['ipynb', '    "api_key = \\"$V\\"\\n",'],
  ],
};

const EXT: Record<string, string> = {
  env: '.env',
  yml: 'config.yml',
  json: 'settings.json',
  ts: 'index.ts',
  py: 'settings.py',
  go: 'main.go',
  sh: 'deploy.sh',
  docker: 'Dockerfile',
  tf: 'main.tf',
  md: 'README.md',
  properties: 'application.properties',
  toml: 'config.toml',
  xml: 'web.config',
  ipynb: 'analysis.ipynb',
  npmrc: '.npmrc',
  ini: 'credentials',
  pem: 'server.key',
};

/** `$`, so that template references read as written. */
const DOLLAR = '$';

/** Decoy lines: [kind, template]; `$U` a UUID, `$H` hex, `$B` base64 text. */
const DECOYS: Record<
  Exclude<DecoyCategory, 'lockfile' | 'minified' | 'svg' | 'changelog'>,
  readonly [string, string][]
> = {
  placeholder: [
    ['env', 'API_KEY=your-api-key-here'],
    ['env', 'STRIPE_SECRET_KEY=sk_live_xxxxxxxxxxxxxxxxxxxxxxxx'],
    ['yml', '  password: <PASSWORD>'],
    ['env', 'DB_PASSWORD=changeme'],
    ['md', 'export GITHUB_TOKEN=ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX'],
    ['ts', "const apiKey = 'REPLACE_ME_WITH_YOUR_KEY';"],
    ['py', 'SECRET_KEY = "insert-secret-here"'],
    ['json', '  "token": "********",'],
    ['env', 'OPENAI_API_KEY=sk-...'],
    ['yml', '  url: postgres://user:password@localhost:5432/app'],
  ],
  reference: [
    ['ts', 'const apiKey = process.env.STRIPE_SECRET_KEY;'],
    ['py', 'password = os.environ["DB_PASSWORD"]'],
    ['py', 'SECRET_KEY = os.getenv("SECRET_KEY")'],
    ['yml', `  token: ${DOLLAR}{{ secrets.DEPLOY_TOKEN }}`],
    ['env', `DATABASE_URL=postgres://app:${DOLLAR}{DB_PASSWORD}@db:5432/app`],
    ['env', 'STRIPE_SECRET_KEY=coffer://project/shop/stripe_secret_key'],
    ['sh', 'export API_TOKEN="$API_TOKEN_FROM_CI"'],
    ['tf', '  password = var.db_password'],
    ['yml', '  secretKeyRef: { name: api, key: token }'],
    ['go', '\tapiKey := os.Getenv("API_KEY")'],
    ['ts', "const token = await vault.get('project/app/token');"],
  ],
  'documented-example': [
    ['md', 'AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE'],
    ['md', 'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
    [
      'md',
      'Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
    ],
    ['md', "stripe.api_key = 'sk_test_4eC39HqLyjWDarjtT1zdp7dc'"],
    ['ini', 'aws_access_key_id = AKIAI44QH8DHBEXAMPLE'],
  ],
  uuid: [
    ['json', '  "idempotency_key": "$U",'],
    ['yml', '  client_token: $U'],
    ['env', 'SESSION_SECRET_SALT_ID=$U'],
    ['ts', "const secretRef = '$U';"],
  ],
  hash: [
    ['json', '  "sha256": "$H64",'],
    ['yml', '  commit: $H40'],
    ['env', 'PASSWORD_HASH=$H64'],
    ['json', '  "integrity": "sha512-$B88",'],
    ['md', 'Fixed the token refresh race ($H40).'],
    ['py', 'EXPECTED_TOKEN_DIGEST = "$H64"'],
    ['ts', "const apiKeyChecksum = '$H40';"],
  ],
  'data-uri': [
    ['ts', "const tokenIcon = 'data:image/png;base64,$B120';"],
    ['json', '  "secretBadge": "data:image/svg+xml;base64,$B160",'],
    ['md', '![key](data:image/png;base64,$B200)'],
  ],
  'public-key': [
    ['pub', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI$B43 deploy@acme'],
    ['env', 'JWT_PUBLIC_KEY=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA$B120'],
    ['yml', '  public_key: "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ$B160"'],
    ['pem', '-----BEGIN PUBLIC KEY-----'],
    ['pem', '-----BEGIN CERTIFICATE-----'],
  ],
  i18n: [
    ['json', '  "password": "Mot de passe",'],
    ['json', '  "passwordHint": "Au moins huit caractères",'],
    ['yml', '  password_label: Passwort'],
    ['json', '  "token_expired": "Votre session a expiré",'],
    ['properties', 'login.password=Contraseña'],
    ['json', '  "apiKeyTitle": "API-Schlüssel",'],
  ],
  'test-fixture': [
    ['fixture', '  "password": "$T",'],
    ['fixture', 'API_SECRET=$T'],
    ['fixture', "    const token = '$T';"],
  ],
};

const DECOY_EXT: Record<string, string> = { ...EXT, pub: 'id_ed25519.pub', fixture: '' };

/** The options of a corpus. */
export interface CorpusOptions {
  /** Planted secrets per family (default 20). */
  perFamily?: number;
  /** Repetitions of each decoy template (default 4). */
  perDecoy?: number;
  /** Ordinary lines between labelled lines (default 4). */
  filler?: number;
}

/** Builds the corpus of `seed`. */
export function generateCorpus(seed: number, options: CorpusOptions = {}): Corpus {
  const g = new Gen(seed);
  const perFamily = options.perFamily ?? 20;
  const perDecoy = options.perDecoy ?? 4;
  const fillerLines = options.filler ?? 4;
  const files: CorpusFile[] = [];
  const secrets: SecretLabel[] = [];
  const decoys: DecoyLabel[] = [];
  let serial = 0;
  const dirOf = () => g.pick(['', 'src/', 'config/', 'deploy/', 'services/api/', 'infra/']);

  const fill = (kind: string, out: string[]) => {
    const pool = FILLER[kind] ?? FILLER.env!;
    const n = g.int(fillerLines + 1);
    for (let i = 0; i < n; i++) out.push(g.pick(pool));
  };
  const emit = (path: string, lines: string[]) =>
    files.push({ path, content: `${lines.join('\n')}\n` });
  const expand = (t: string) =>
    t
      .replace(/\$H(\d+)/g, (_m, n) => g.str(Number(n), HEX))
      .replace(/\$B(\d+)/g, (_m, n) => g.str(Number(n), B64))
      .replace(/\$U/g, () => g.uuid())
      .replace(/\$T/g, () => g.token(20, `${ALNUM}_-`));

  for (const family of Object.keys(PLACEMENTS) as Family[]) {
    for (let k = 0; k < perFamily; k++) {
      const [kind, template] = g.pick(PLACEMENTS[family]);
      const path = `${dirOf()}${family}-${serial++}/${EXT[kind]}`;
      const lines: string[] = [];
      fill(kind, lines);
      if (family === 'gcp') {
        const key = [
          '-----BEGIN PRIVATE KEY-----',
          ...pemBody(g, 25),
          '-----END PRIVATE KEY-----',
          '',
        ].join('\\n');
        lines.push('{', '  "type": "service_account",', '  "project_id": "acme-prod",');
        lines.push(`  "private_key_id": "${g.str(40, HEX)}",`);
        secrets.push({ file: path, line: lines.length + 1, family });
        lines.push(
          `  "private_key": "${key}",`,
          `  "client_email": "deploy@acme-prod.iam.gserviceaccount.com"`,
          '}',
        );
      } else if (family === 'private-key') {
        const label = g.pick([
          'RSA PRIVATE KEY',
          'EC PRIVATE KEY',
          'PRIVATE KEY',
          'OPENSSH PRIVATE KEY',
        ]);
        secrets.push({ file: path, line: lines.length + 1, family });
        lines.push(`-----BEGIN ${label}-----`, ...pemBody(g, 12), `-----END ${label}-----`);
      } else {
        // A password in a URL is percent-encoded, as a URL requires.
        const raw = secretOf(g, family);
        const value = family === 'url-password' ? encodeURIComponent(raw) : raw;
        const line = template.replace('$V', value);
        secrets.push({ file: path, line: lines.length + 1, family });
        lines.push(line);
        // An AWS key id travels with its secret key.
        if (family === 'aws' && kind !== 'py' && kind !== 'tf') {
          secrets.push({ file: path, line: lines.length + 1, family });
          lines.push(
            kind === 'ini'
              ? `aws_secret_access_key = ${g.token(40, B64)}`
              : `AWS_SECRET_ACCESS_KEY=${g.token(40, B64)}`,
          );
        }
      }
      fill(kind, lines);
      emit(path, lines);
    }
  }

  for (const [category, templates] of Object.entries(DECOYS) as [
    DecoyCategory,
    [string, string][],
  ][]) {
    for (const [kind, template] of templates) {
      for (let k = 0; k < perDecoy; k++) {
        const name =
          kind === 'fixture'
            ? g.pick([
                'test/fixtures/users.json',
                'tests/conftest.py',
                'src/api.test.ts',
                'spec/support/env',
              ])
            : DECOY_EXT[kind]!;
        const path = `${dirOf()}decoy-${serial++}/${name}`;
        const lines: string[] = [];
        fill(kind, lines);
        decoys.push({ file: path, line: lines.length + 1, category });
        lines.push(expand(template));
        if (kind === 'pem') lines.push(...pemBody(g, 6), template.replace('BEGIN', 'END'));
        fill(kind, lines);
        emit(path, lines);
      }
    }
  }

  const whole = (path: string, category: DecoyCategory, lines: string[]) => {
    emit(path, lines);
    for (let i = 0; i < lines.length; i++) decoys.push({ file: path, line: i + 1, category });
  };
  for (let k = 0; k < perDecoy; k++) {
    whole(`${dirOf()}w${serial++}/package-lock.json`, 'lockfile', lockfile(g));
    whole(`${dirOf()}w${serial++}/yarn.lock`, 'lockfile', yarnLock(g));
    whole(`public/w${serial++}/app.${g.str(8, HEX)}.min.js`, 'minified', bundle(g));
    whole(`assets/w${serial++}/icon-key.svg`, 'svg', svg(g));
    whole(`w${serial++}/CHANGELOG.md`, 'changelog', changelog(g));
  }
  return { files, secrets, decoys };
}

function lockfile(g: Gen): string[] {
  const out = ['{', '  "name": "app",', '  "lockfileVersion": 3,', '  "packages": {'];
  for (let i = 0; i < 30; i++) {
    const name =
      g.pick(['token-types', 'secret-handshake', 'jsonwebtoken', 'keygrip', 'passport', 'bcrypt']) +
      i;
    out.push(
      `    "node_modules/${name}": {`,
      `      "version": "${g.int(9)}.${g.int(20)}.${g.int(9)}",`,
      `      "resolved": "https://registry.npmjs.org/${name}/-/${name}-1.0.0.tgz",`,
      `      "integrity": "sha512-${g.str(86, B64)}==",`,
      '    },',
    );
  }
  out.push('  }', '}');
  return out;
}

function yarnLock(g: Gen): string[] {
  const out = ['# yarn lockfile v1', ''];
  for (let i = 0; i < 20; i++) {
    out.push(
      `"secret-stream-${i}@^1.0.0":`,
      `  version "1.${i}.0"`,
      `  resolved "https://registry.yarnpkg.com/secret-stream/-/secret-stream-1.${i}.0.tgz#${g.str(40, HEX)}"`,
      `  integrity sha1-${g.str(27, B64)}=`,
      '',
    );
  }
  return out;
}

function bundle(g: Gen): string[] {
  const parts: string[] = [];
  for (let i = 0; i < 120; i++) {
    parts.push(
      g.pick([
        `function ${g.str(2, LOWER)}(e,t){return e.token=t.secretKey,e.apiKey=t.apiKey,e}`,
        `var ${g.str(1, LOWER)}="${g.str(20, B64)}";`,
        `${g.str(1, LOWER)}.password=${g.str(1, LOWER)}.value;`,
        `{chunkHash:"${g.str(20, HEX)}",secretName:"${g.str(8, LOWER)}"}`,
        `n.p+"static/js/"+({}[e]||e)+"."+{${g.int(999)}:"${g.str(8, HEX)}"}[e]+".chunk.js"`,
        `const ${g.str(2, LOWER)}={token:"csrf",key:"${g.str(12, ALNUM)}"};`,
      ]),
    );
  }
  return [parts.join('')];
}

function svg(g: Gen): string[] {
  const out = ['<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" id="icon-secret-key">'];
  for (let i = 0; i < 12; i++) {
    out.push(
      `  <path d="M${g.int(24)} ${g.int(24)}C${g.int(99)}.${g.int(99)} ${g.int(9)}.${g.int(99)} ${g.str(6, DIGITS)}z" fill="#${g.str(6, HEX)}"/>`,
    );
  }
  out.push(`  <image href="data:image/png;base64,${g.str(400, B64)}"/>`, '</svg>');
  return out;
}

function changelog(g: Gen): string[] {
  const out = ['# Changelog', ''];
  for (let i = 0; i < 15; i++) {
    out.push(
      `## ${g.int(5)}.${g.int(20)}.${g.int(9)}`,
      `- rotate the session token signing key on deploy (${g.str(7, HEX)})`,
      `- fix password reset emails ([${g.str(40, HEX)}](https://github.com/acme/app/commit/${g.str(40, HEX)}))`,
      '',
    );
  }
  return out;
}
