import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SEED_004_ENV_EXAMPLE } from '../../../test/helpers/seed-004.js';
import { isClearlyNotSecret } from '../dotenv/example.js';
import { dotenvValueEncodings, formatDotenv } from '../dotenv/format.js';
import { manifestEnvExample } from './example.js';
import {
  dotenvSections,
  formatManifestInit,
  guessVariable,
  type ManifestInit,
  manifestFromDotenv,
  manifestFromVault,
  specForShape,
} from './init.js';
import { ManifestError, parseManifest } from './parse.js';
import { ManifestSchema } from './schema.js';

const KEEP = { keepPlainValue: false };

function summary(name: string, value?: string, keepPlainValue = false) {
  const g = guessVariable(name, value, { keepPlainValue });
  return { tier: g.tier, sensitive: g.sensitive, source: g.source };
}

/** The text `init` writes; it always has the schema's shape. */
function written(init: ManifestInit): string {
  const text = formatManifestInit(init);
  const shape = ManifestSchema.safeParse(parse(text));
  expect(shape.success, JSON.stringify(shape.error?.issues)).toBe(true);
  return text;
}

/** The problems `manifest check` reports for `text` (none: []). */
function problems(text: string): string[] {
  try {
    parseManifest(text, 'coffer.yaml');
    return [];
  } catch (err) {
    if (!(err instanceof ManifestError)) throw err;
    return err.issues.map((i) => i.message);
  }
}

describe('guessVariable', () => {
  it('generates *_SECRET and *_KEY made by the project (tier 1), in the format of the value', () => {
    expect(summary('JWT_SECRET', 'ab'.repeat(32))).toEqual({
      tier: 1,
      sensitive: true,
      source: { kind: 'generate', spec: 'hex:32' },
    });
    expect(summary('SECRET_KEY').source).toEqual({ kind: 'generate', spec: 'hex:32' });
    expect(summary('SERVICE_ROLE_KEY').tier).toBe(1);
    expect(summary('PASSWORD_SALT').source?.kind).toBe('generate');
  });

  it("asks for a provider's keys and tokens (tier 2)", () => {
    for (const name of [
      'OPENAI_API_KEY',
      'ANTHROPIC_API_KEY',
      'STRIPE_SECRET_KEY',
      'STRIPE_WEBHOOK_SECRET',
      'GITHUB_TOKEN',
      'CLOUDFLARED_TOKEN',
      'GOOGLE_CLIENT_SECRET',
      'AWS_SECRET_ACCESS_KEY',
      'SENDGRID_APIKEY',
    ]) {
      expect(summary(name), name).toEqual({ tier: 2, sensitive: true, source: { kind: 'ask' } });
    }
  });

  it('DATABASE_URL and other connection strings are tier 1, asked', () => {
    for (const name of ['DATABASE_URL', 'REDIS_URL', 'ANALYTICS_DATABASE_URL', 'MONGODB_URI']) {
      expect(summary(name, 'postgres://localhost:5432/app'), name).toEqual({
        tier: 1,
        sensitive: true,
        source: { kind: 'ask' },
      });
    }
  });

  it("generates the passwords of the project's own services, asks for the others", () => {
    expect(summary('POSTGRES_PASSWORD')).toEqual({
      tier: 1,
      sensitive: true,
      source: { kind: 'generate', spec: 'password:32' },
    });
    expect(summary('REDIS_PASS').source?.kind).toBe('generate');
    expect(summary('SMTP_PASS')).toEqual({ tier: 2, sensitive: true, source: { kind: 'ask' } });
  });

  it('data-encryption keys are tier 3', () => {
    expect(summary('ENCRYPTION_KEY')).toMatchObject({
      tier: 3,
      source: { kind: 'generate', spec: 'base64:32' },
    });
    expect(summary('TOKEN_FERNET_KEY').source).toEqual({ kind: 'generate', spec: 'fernet' });
  });

  it('plain configuration is not sensitive; its value is kept only from an example file', () => {
    const url = 'https://api.openai.com/v1';
    expect(summary('OPENAI_BASE_URL', url)).toEqual({
      tier: null,
      sensitive: false,
      source: undefined,
    });
    expect(summary('OPENAI_BASE_URL', url, true).source).toEqual({ kind: 'value', value: url });
    expect(summary('PORT', '8080', true).source).toEqual({ kind: 'value', value: '8080' });
    expect(summary('NODE_ENV').sensitive).toBe(false);
    // A placeholder is never a value.
    expect(summary('LOG_LEVEL', '<your log level>', true).source).toBeUndefined();
  });

  it('when in doubt, a secret: asked, no tier', () => {
    expect(summary('FOO', 'Zx8qL1mN0pQr7sTu')).toEqual({
      tier: null,
      sensitive: true,
      source: { kind: 'ask' },
    });
    expect(summary('WIDGET')).toMatchObject({ sensitive: true, source: { kind: 'ask' } });
    // A secret-like name is never plain, whatever its value.
    expect(summary('SESSION_TOKEN', 'true', true).sensitive).toBe(true);
  });

  it('marks every guess for the user', () => {
    const g = guessVariable('JWT_SECRET', undefined, KEEP);
    expect(g.guesses.tier).toBeDefined();
    expect(g.guesses.source).toBeDefined();
  });
});

describe('specForShape', () => {
  it("follows the value's alphabet and length, never below the generator's floor", () => {
    expect(specForShape('0123456789abcdef'.repeat(4))).toBe('hex:32');
    expect(specForShape('0123456789abcdef'.repeat(2))).toBe('hex:16');
    expect(specForShape(`${'A-b_'.repeat(10)}xyz=`)).toBe('fernet');
    expect(specForShape(`${'A+b/'.repeat(10)}xyz=`)).toBe('base64:32');
    expect(specForShape('123e4567-e89b-12d3-a456-426614174000')).toBe('uuid');
    expect(specForShape('abcDEF123_-'.repeat(4))).toBe('urlsafe:33');
    expect(specForShape('short')).toBeUndefined();
    expect(specForShape('<your secret>')).toBeUndefined();
  });
});

describe('manifestFromDotenv', () => {
  const ENV = [
    '# ===== Auth =====',
    "# Signs the API's session tokens; rotating it logs every user out",
    'JWT_SECRET=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    '',
    '# API Keys',
    '# OpenAI API key the assistant uses for chat completions',
    'OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwxyz0123',
    '# Base URL of the OpenAI-compatible API the assistant calls',
    'OPENAI_BASE_URL=https://api.openai.com/v1',
    '',
    '# Database',
    'DATABASE_URL=postgres://app:hunter2-pw@db:5432/app',
    '',
    'SMTP_PASS=smtp-pass-value',
    '1BAD=x',
    '',
  ].join('\n');

  it('names, descriptions from comments (section headers left out), guesses marked', () => {
    const init = manifestFromDotenv(ENV, { project: 'receptor', from: 'dotenv', file: '.env' });
    const text = written(init);
    expect(text).toContain(
      "  JWT_SECRET:\n    description: Signs the API's session tokens; rotating it logs every user out\n    group: Auth\n    tier: 1   # guess: ",
    );
    expect(text).toContain('    source: { generate: "hex:32" }   # guess: ');
    expect(text).toContain(
      '  OPENAI_API_KEY:\n    description: OpenAI API key the assistant uses for chat completions\n    group: API Keys\n    tier: 2   # guess:',
    );
    expect(text).toContain('  OPENAI_BASE_URL:\n');
    expect(text).toContain('    sensitive: false   # guess: ');
    expect(text).toContain('project: receptor\n');
    expect(init.skipped.map((s) => s.name)).toEqual(['1BAD']);
    // "# Database" alone says too little, and SMTP_PASS has no comment: both marked TODO,
    // and manifest check names them (and nothing else).
    expect(text).toMatch(/ {2}DATABASE_URL:\n {4}description: Database {3}# TODO: /);
    expect(text).toMatch(/ {2}SMTP_PASS:\n {4}description: "" {3}# TODO: /);
    const found = problems(text);
    expect(found).toHaveLength(2);
    expect(found.join('\n')).toMatch(/DATABASE_URL\.description/);
    expect(found.join('\n')).toMatch(/SMTP_PASS\.description/);
    // No value of the file, plain or secret, is in the manifest.
    for (const v of [
      '0123456789abcdef',
      'sk-proj',
      'https://api.openai.com',
      'hunter2',
      'smtp-pass',
    ]) {
      expect(text).not.toContain(v);
    }
  });

  it('a described file gives a manifest that manifest check accepts as it is', () => {
    const text = written(
      manifestFromDotenv(
        [
          '# Signs the session cookies of the receptor web app',
          'SESSION_SECRET=x',
          '# Stripe secret key the checkout service charges cards with',
          'STRIPE_SECRET_KEY=',
          '# Port the web app listens on for HTTP requests',
          'PORT=3000',
        ].join('\n'),
        { project: 'receptor', from: 'example' },
      ),
    );
    expect(problems(text)).toEqual([]);
    const m = parseManifest(text, 'coffer.yaml');
    expect(m.variables.map((v) => [v.name, v.tier, v.sensitive])).toEqual([
      ['SESSION_SECRET', 1, true],
      ['STRIPE_SECRET_KEY', 2, true],
      ['PORT', null, false],
    ]);
    // From an example file, a plain setting keeps its value.
    expect(m.variables[2]!.sources.get('default')).toEqual({ kind: 'value', value: '3000' });
  });

  it('a comment that quotes a value or holds a secret is left out, with a TODO', () => {
    const init = manifestFromDotenv(
      [
        '# Stripe key for the checkout service, the old one was sk_live_0123456789abcdefABCD',
        'STRIPE_SECRET_KEY=x',
        '# Password of the mail relay account, currently hunter2-relay',
        'SMTP_PASS=hunter2-relay',
        // The comment line ends where the value's last space would be: its core still counts.
        '# Signing secret of the session cookies, was a=@0.a$ ',
        'SESSION_SECRET="a=@0.a$ "',
        '# Base URL of the OpenAI-compatible API the assistant calls',
        'OPENAI_BASE_URL=https://api.openai.com/v1',
      ].join('\n'),
      { project: 'shop', from: 'dotenv' },
    );
    const text = written(init);
    expect(text).not.toMatch(/sk_live|hunter2|a=@0\.a\$/);
    expect(init.variables.map((v) => [v.name, v.description])).toEqual([
      ['STRIPE_SECRET_KEY', ''],
      ['SMTP_PASS', ''],
      ['SESSION_SECRET', ''],
      ['OPENAI_BASE_URL', 'Base URL of the OpenAI-compatible API the assistant calls'],
    ]);
    expect(init.variables[0]!.descriptionTodo).toMatch(/looks like it holds a secret/);
  });

  it('an empty file gives an empty, valid manifest', () => {
    const text = written(manifestFromDotenv('# nothing yet\n', { project: 'p', from: 'dotenv' }));
    expect(problems(text)).toEqual([]);
  });
});

describe('dotenvSections', () => {
  it("names each variable's section from the headers above it", () => {
    const text = [
      '# ===== Payments =====',
      '# Stripe secret key the checkout service charges cards with',
      'STRIPE_SECRET_KEY=x',
      'STRIPE_WEBHOOK_SECRET=y',
      '',
      '## Database',
      '',
      '# Password of the app role in the shop database',
      'DB_PASSWORD=z',
      '# Just a note about the next one.',
      '',
      'DB_HOST=localhost',
      'PEM="-----BEGIN KEY-----',
      '## Not A Header',
      '-----END KEY-----"',
      'AFTER_PEM=1',
    ].join('\n');
    expect(Object.fromEntries(dotenvSections(text))).toEqual({
      STRIPE_SECRET_KEY: 'Payments',
      STRIPE_WEBHOOK_SECRET: 'Payments',
      DB_PASSWORD: 'Database',
      DB_HOST: 'Database',
      // A line inside a multi-line value is never read as a header.
      PEM: 'Database',
      AFTER_PEM: 'Database',
    });
  });

  it("seed 004's .env.example: a manifest with its sections, its plain settings, no placeholder", () => {
    const init = manifestFromDotenv(SEED_004_ENV_EXAMPLE, { project: 'agents', from: 'example' });
    const text = written(init);
    expect(init.variables.map((v) => [v.name, v.group, v.tier, v.source])).toEqual([
      ['OPENAI_API_KEY', 'API Keys', 2, { kind: 'ask' }],
      ['OPENAI_BASE_URL', 'API Keys', null, { kind: 'value', value: 'https://api.openai.com/v1' }],
      ['SECRET_KEY', 'Security', 1, { kind: 'generate', spec: 'hex:32' }],
      ['ENCRYPTION_KEY', 'Security', 3, { kind: 'generate', spec: 'fernet' }],
      ['DATABASE_URL', 'Database', 1, { kind: 'ask' }],
      ['MINIO_ROOT_USER', 'Storage (MinIO)', null, { kind: 'ask' }],
      ['MINIO_ROOT_PASSWORD', 'Storage (MinIO)', 1, { kind: 'generate', spec: 'password:32' }],
      [
        'S3_ENDPOINT_URL',
        'Storage (MinIO)',
        null,
        { kind: 'value', value: 'http://localhost:9000' },
      ],
    ]);
    for (const v of ['your-key', 'generate-a-32', 'user:password', 'your-minio']) {
      expect(text).not.toContain(v);
    }
    // Once the descriptions are written, `env example --from-manifest` gives the seed's
    // sections back, with OPENAI_BASE_URL kept.
    const described = text.replace(
      /\n {2}([A-Z0-9_]+):\n {4}description: [^\n]*/g,
      (_m, name: string) =>
        `\n  ${name}:\n    description: What the agents service does with ${name.toLowerCase().replace(/_/g, ' ')} at start-up`,
    );
    const example = manifestEnvExample(parseManifest(described, 'coffer.yaml'));
    const sections: [string, string[]][] = [];
    for (const line of example.split('\n')) {
      const title = /^# (API Keys|Security|Database|Storage \(MinIO\))$/.exec(line);
      if (title) sections.push([title[1]!, []]);
      const variable = /^([A-Z0-9_]+)=/.exec(line);
      if (variable) sections.at(-1)![1].push(variable[1]!);
    }
    expect(sections).toEqual([
      ['API Keys', ['OPENAI_API_KEY', 'OPENAI_BASE_URL']],
      ['Security', ['SECRET_KEY', 'ENCRYPTION_KEY']],
      ['Database', ['DATABASE_URL']],
      ['Storage (MinIO)', ['MINIO_ROOT_USER', 'MINIO_ROOT_PASSWORD', 'S3_ENDPOINT_URL']],
    ]);
    expect(example).toContain('OPENAI_BASE_URL=https://api.openai.com/v1\n');
  });
});

describe('manifestFromVault', () => {
  const base = {
    deletedAt: null,
    rotation: null,
    envVar: null,
    localOnly: false,
    generator: null,
    tier: null,
  };
  it("takes the vault's descriptions, tiers and generator specs; environments from the secrets", () => {
    const init = manifestFromVault(
      [
        {
          ...base,
          path: 'project/shop/jwt_secret',
          env: 'prod',
          description: 'Signs the shop session tokens of signed-in customers',
          tier: 1,
          generator: 'hex:32',
          rotation: '365d',
        },
        {
          ...base,
          path: 'project/shop/jwt_secret',
          env: 'dev',
          description: 'Signs the shop session tokens of signed-in customers',
          generator: 'hex:32',
        },
        {
          ...base,
          path: 'project/shop/stripe_key',
          env: 'dev',
          description: 'Stripe secret key the checkout service charges cards with',
          envVar: 'STRIPE_SECRET_KEY',
          localOnly: true,
        },
        {
          ...base,
          path: 'project/shop/old',
          env: 'dev',
          description: 'A deleted secret',
          deletedAt: '2026-01-01T00:00:00Z',
        },
        {
          ...base,
          path: 'project/other/x',
          env: 'dev',
          description: 'Not this project at all',
        },
      ],
      { project: 'shop' },
    );
    const text = written(init);
    expect(problems(text)).toEqual([]);
    expect(init.environments).toEqual(['dev', 'prod']);
    const m = parseManifest(text, 'coffer.yaml');
    expect(m.environments).toEqual(['dev', 'prod']);
    expect(
      m.variables.map((v) => ({ name: v.name, path: v.path, tier: v.tier, local: v.localOnly })),
    ).toEqual([
      { name: 'JWT_SECRET', path: 'project/shop/jwt_secret', tier: 1, local: false },
      { name: 'STRIPE_SECRET_KEY', path: 'project/shop/stripe_key', tier: 2, local: true },
    ]);
    // dev's metadata first: its tier is unset, so the guess fills it in (tier 1), marked.
    expect(text).toContain('    path: project/shop/stripe_key\n');
    expect(m.variables[0]!.sources.get('default')).toEqual({ kind: 'generate', spec: 'hex:32' });
  });
});

/** Names without digits and comments without digits: a value (which has one) can only reach
 * the output by being copied. */
const nameArb = fc.oneof(
  fc.constantFrom(
    'JWT_SECRET',
    'DATABASE_URL',
    'OPENAI_API_KEY',
    'OPENAI_BASE_URL',
    'PORT',
    'NODE_ENV',
    'POSTGRES_PASSWORD',
    'SMTP_PASS',
    'ENCRYPTION_KEY',
    'FERNET_KEY',
    'LOG_LEVEL',
    'PUBLIC_URL',
  ),
  fc.stringMatching(/^[A-Z][A-Z_]{0,15}$/),
);
const valueArb = fc
  .oneof(
    fc
      .tuple(
        fc.string({
          minLength: 7,
          maxLength: 40,
          unit: fc.constantFrom(...'aB+/=_-.:@#$ "\'xyzQ'),
        }),
        fc.integer({ min: 0, max: 9 }),
      )
      .map(([s, d]) => `${s.slice(0, 3)}${d}${s.slice(3)}`),
    fc.constantFrom(
      'https://api.openai.com/v1',
      'http://localhost:3000',
      'postgres://app:pw1234@db:5432/app',
      '0123456789abcdef'.repeat(4),
      'sk-proj-A1b2C3d4E5f6G7h8',
      'localhost:5432',
      'true1234',
    ),
  )
  .filter((v) => dotenvValueEncodings(v).length > 0); // what a .env file can hold
const commentArb = fc
  .array(fc.constantFrom('signs', 'the', 'session', 'tokens', 'of', 'checkout', 'Mail', 'API'), {
    maxLength: 8,
  })
  .map((w) => w.join(' '));

describe('no value reaches the manifest (property)', () => {
  it('from a .env file no value at all; from an example file only clearly plain values', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(nameArb, valueArb, commentArb, fc.boolean()), {
          selector: ([n]) => n,
          maxLength: 12,
        }),
        fc.constantFrom('dotenv' as const, 'example' as const),
        (entries, from) => {
          // Some comments quote their variable's value (`# was: sk_live_...`).
          const text = entries
            .map(([n, v, words, quote]) => {
              const c = quote ? `${words} was ${v}`.trim() : words;
              return `${c === '' ? '' : `# ${c.replace(/[\r\n]/g, ' ')}\n`}${formatDotenv({ [n]: v })}${c === '' ? '' : '\n'}`;
            })
            .join('');
          const init = manifestFromDotenv(text, { project: 'p', from });
          const out = written(init);
          const kept = new Set<string>();
          for (const v of init.variables) {
            if (v.source?.kind !== 'value') continue;
            // Only from an example file, and only on a variable that is not sensitive.
            expect(from).toBe('example');
            expect(v.sensitive).toBe(false);
            expect(isClearlyNotSecret(v.name, v.source.value)).toBe(true);
            kept.add(v.source.value);
          }
          for (const [, value] of entries) {
            if (!kept.has(value)) expect(out).not.toContain(value);
          }
          // Only descriptions may keep manifest check from accepting it.
          for (const p of problems(out)) expect(p).toMatch(/\.description: /);
        },
      ),
      { numRuns: 200 },
    );
  });
});
