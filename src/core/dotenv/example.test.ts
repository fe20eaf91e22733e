/**
 * `.env.example`: which values may stay as they are. The classifier keeps plain settings and
 * must never keep a value with credentials or one that looks random (high entropy).
 */
import dotenv from 'dotenv';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SEED_004_ENV_EXAMPLE } from '../../../test/helpers/seed-004.js';
import { generateSecret } from '../generate/generate.js';
import { KINDS } from '../generate/spec.js';
import { setDotenvVariables } from './edit.js';
import {
  dotenvExample,
  exampleValueLooksReal,
  isClearlyNotSecret,
  secretLikeName,
  shannonEntropy,
} from './example.js';
import { dotenvValueEncodings } from './format.js';

describe('isClearlyNotSecret', () => {
  it.each([
    ['OPENAI_BASE_URL', 'https://api.openai.com/v1'],
    ['API_URL', 'http://localhost:3000'],
    ['PUBLIC_URL', 'https://example.com/'],
    ['REDIS_URL', 'redis://cache.internal:6379/0'],
    ['DATABASE_URL', 'postgres://db.internal:5432/app'],
    ['GEMINI_BASE_URL', 'https://generativelanguage.googleapis.com/v1beta'],
    ['PORT', '8080'],
    ['WORKERS', '0'],
    ['DEBUG', 'false'],
    ['FEATURE_X', 'ON'],
    ['HOST', 'localhost'],
    ['DB_HOST', 'db.internal'],
    ['BIND', '127.0.0.1'],
    ['SMTP_HOST', 'smtp.example.com:587'],
    ['NODE_ENV', 'production'],
    ['LOG_LEVEL', 'debug'],
    ['DB_PORT', '5432'],
    ['REQUEST_TIMEOUT', '30'],
    ['PUID', '1000'],
    ['APP_ENV', 'staging'],
    ['RUST_LOG', 'info'],
    ['S3_ENDPOINT_URL', 'http://localhost:9000'],
    ['KEYCLOAK_URL', 'https://sso.example.com'],
    ['KEYBOARD_LAYOUT_ENABLED', 'yes'],
  ])('keeps %s=%s', (key, value) => {
    expect(isClearlyNotSecret(key, value)).toBe(true);
  });

  it.each([
    ['DATABASE_URL', 'postgres://app:s3cr3t@db.internal/app', 'a password in the URL'],
    ['DATABASE_URL', 'postgres://app@db.internal/app', 'a user in the URL'],
    ['API_URL', 'https://api.example.com/v1?key=abc', 'a query string'],
    ['API_URL', 'https://api.example.com/v1#token', 'a fragment'],
    [
      'HOOK_URL',
      'https://hooks.slack.com/services/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',
      'a random path segment',
    ],
    [
      'BOT_URL',
      'https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/',
      'a token in the path',
    ],
    ['API_URL', 'https://a1b2c3d4e5f6a7b8c9d0.example.com', 'a random host label'],
    ['API_URL', 'https://example.com/%73ecret', 'percent-encoding'],
    ['STRIPE_API_KEY', 'true', 'a secret-like name'],
    ['ADMIN_PIN', '4821', 'a PIN'],
    ['DB_PASSWORD', 'localhost', 'a password name'],
    ['SENTRY_DSN', 'https://sentry.io/123', 'a DSN'],
    ['SLACK_WEBHOOK_URL', 'https://hooks.slack.com/services', 'a webhook'],
    ['GREETING', 'hello world', 'free text'],
    ['NAME', 'hunter2', 'a bare word'],
    ['TIMEOUT', '100000', 'a number beyond ports'],
    ['VALUE', '', 'an empty value'],
    ['GH', 'ghp_abcdefghijklmnopqrstuvwxyz0123456789', 'a known secret format'],
    ['ID', '123e4567-e89b-12d3-a456-426614174000', 'a UUID'],
    ['HOST', 'deadbeefcafe.example.com', 'a hex label'],
    ['API_URL', 'https://api.example.com/v1/qwertzuiopasdfghjk', 'a long random-looking word'],
    [
      'API_URL',
      'https://api.example.com/v1/kgkujnokgdgjp-gacf_akozfb7ih_bbe_ngzgmnvevc',
      'a token cut into short runs',
    ],
    ['API_URL', 'https://api.example.com/akozfb7ih', 'a long mix of letters and digits'],
    ['ADMIN_PW', '4821', 'a PW that reads as a port'],
    ['MYSQL_ROOT_PW', 'letmein.now', 'a PW that reads as a host name'],
    ['KIOSK_UNLOCK', '31337', 'an unlock code that reads as a port'],
    ['MQTT_PW', 'https://example.com/x', 'a PW that reads as a URL'],
    ['DOOR', '4821', 'a number under a name that does not say port, count or time'],
    ['SUPPORT', '1234', 'a word that only ends in PORT'],
    ['MAGIC_WORD', 'letmein.now', 'a host name under a name that does not say host'],
    ['HOMEPAGE_TEXT', 'production', 'an environment name under a name that does not say so'],
    ['GREETING', 'https://example.com', 'a URL under a name that does not say URL'],
  ])('replaces %s=%s (%s)', (key, value) => {
    expect(isClearlyNotSecret(key, value)).toBe(false);
  });
});

describe('secretLikeName', () => {
  it.each([
    'ADMIN_PW',
    'MYSQL_ROOT_PW',
    'DB_PWD',
    'SMTP_PASS',
    'MYSQL_PASSWD',
    'DB_PASSWORD',
    'DOOR_PASSCODE',
    'ATM_PIN',
    'KIOSK_UNLOCK',
    'UNLOCK_CODE',
    'JWT_SECRET',
    'GITHUB_TOKEN',
    'APP_KEY',
    'MASTERKEY',
    'ROOTPW',
    'adminPw',
    'apiKey',
    'GOOGLE_CREDENTIALS',
    'BASIC_AUTH',
    'AUTHORIZATION_HEADER',
    'PASSWORD_SALT',
    'PRIVATE_PEM',
    'SIGNING_PEM',
    'COOKIE_NAME_SEED',
    'SESSION_STORE',
    'TOTP',
    'WIFI_PSK',
  ])('%s is a secret name', (key) => {
    expect(secretLikeName(key)).toBe(true);
  });

  it.each([
    'KEYBOARD_LAYOUT',
    'KEYCLOAK_URL',
    'PINNED_VERSION',
    'SPINNER',
    'PORT',
    'NODE_ENV',
    'OPENAI_BASE_URL',
    'PASSENGER_COUNT',
  ])('%s is not', (key) => {
    expect(secretLikeName(key)).toBe(false);
  });
});

/** A secret coffer itself would generate, of any kind. */
const generated = fc.constantFrom(...KINDS).map((kind) => generateSecret({ kind }));
const plainKey = fc.constantFrom('VALUE', 'SETTING', 'BASE_URL', 'HOST', 'SERVER', 'CONFIG');

describe('the classifier never keeps a secret (properties)', () => {
  it('a generated secret, alone or anywhere in a URL or host name', () => {
    fc.assert(
      fc.property(plainKey, generated, fc.nat(7), (key, s, where) => {
        const candidates = [
          s,
          `https://${s}.example.com`,
          `${s}.example.com`,
          `https://api.example.com/v1/${s}`,
          `https://api.example.com/${s}/v1`,
          `https://api.example.com/v1?token=${s}`,
          `https://api.example.com/v1#${s}`,
          `https://user:${s}@api.example.com/v1`,
        ];
        expect(isClearlyNotSecret(key, candidates[where % candidates.length]!)).toBe(false);
        for (const c of candidates) expect(isClearlyNotSecret(key, c)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('a URL with a user or a password, whatever else it holds', () => {
    const userinfo = fc
      .tuple(
        fc.stringMatching(/^[a-z0-9]{1,12}$/),
        fc.option(fc.stringMatching(/^[a-z0-9]{0,12}$/)),
      )
      .map(([u, p]) => (p === null ? u : `${u}:${p}`));
    fc.assert(
      fc.property(plainKey, fc.webUrl(), userinfo, (key, url, info) => {
        const withInfo = url.replace('://', `://${info}@`);
        expect(isClearlyNotSecret(key, withInfo)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('no value it keeps has a run of letters and digits that looks random', () => {
    const candidates = fc.oneof(
      fc.webUrl({ withFragments: true, withQueryParameters: true }),
      fc.webUrl(),
      fc.domain(),
      fc.string({ maxLength: 40 }),
      fc.stringMatching(/^[a-z0-9.-]{1,40}$/),
      fc.stringMatching(/^https:\/\/[a-z]{2,30}\.[a-z]{2,5}\/[A-Za-z0-9]{0,30}$/),
    );
    fc.assert(
      fc.property(plainKey, candidates, (key, value) => {
        if (!isClearlyNotSecret(key, value)) return;
        expect(value).not.toMatch(/[@%?#\s]/);
        for (const run of value.split(/[^A-Za-z0-9]+/)) {
          expect(run.length).toBeLessThanOrEqual(24);
          if (run.length >= 16) expect(shannonEntropy(run)).toBeLessThan(3.5);
        }
        for (const part of value.split(/[/.:]+/)) {
          const alnum = part.replace(/[^A-Za-z0-9]+/g, '');
          if (alnum.length >= 16) expect(shannonEntropy(alnum)).toBeLessThan(3.5);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('nothing at all under a name that suggests a secret', () => {
    const name = fc
      .tuple(
        fc.constantFrom('', 'APP_', 'STRIPE_', 'X_', 'ADMIN_', 'MYSQL_ROOT_', 'KIOSK_'),
        fc.constantFrom(
          'API_KEY',
          'SECRET',
          'TOKEN',
          'PASSWORD',
          'DB_PASS',
          'PIN',
          'PW',
          'PWD',
          'PASSWD',
          'PASSCODE',
          'UNLOCK',
          'PRIVATE_KEY',
          'SIGNING_KEY',
          'WEBHOOK_URL',
          'DSN',
          'AUTH',
          'SALT',
          'CREDENTIAL',
          'COOKIE',
          'SESSION',
        ),
        fc.constantFrom('', '_URL', '_VALUE', '_1', '_PORT', '_HOST', '_ENV', '_LOG_LEVEL'),
      )
      .map((parts) => parts.join(''));
    const value = fc.oneof(
      fc.constantFrom(
        'true',
        '8080',
        '4821',
        'localhost',
        'letmein.now',
        'https://api.openai.com/v1',
        'debug',
        'production',
      ),
      fc.nat(65535).map(String),
      fc.domain(),
      fc.webUrl(),
      fc.string({ minLength: 1, maxLength: 40 }),
    );
    fc.assert(
      fc.property(name, value, (key, v) => {
        expect(secretLikeName(key)).toBe(true);
        expect(isClearlyNotSecret(key, v)).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('a number, a host name or a URL only under a name that says it holds one', () => {
    // Words that say nothing about the kind of value: a PIN or a password may stand there.
    const name = fc
      .array(fc.constantFrom('ADMIN', 'KIOSK', 'DOOR', 'MAGIC', 'WORD', 'APP', 'MQTT', 'ROOT'), {
        minLength: 1,
        maxLength: 3,
      })
      .map((w) => w.join('_'));
    const value = fc.oneof(fc.nat(65535).map(String), fc.domain(), fc.webUrl(), fc.ipV4());
    fc.assert(
      fc.property(name, value, (key, v) => {
        expect(isClearlyNotSecret(key, v)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});

describe('dotenvExample', () => {
  it("drops what follows a replaced value's # with no space (the rest of a value, cut short by dotenv)", () => {
    const text = 'P2=p@ss#w0rd!\r\nAPI_KEY=abc123def456ghi789jkl # rotate monthly\nP3=x#tail\n';
    const r = dotenvExample(text, () => undefined, { keep: false });
    expect(r.text).not.toContain('w0rd');
    expect(r.text).not.toContain('tail');
    expect(r.text).toContain('# rotate monthly');
    expect(r.text.split('\r\n')).toHaveLength(2); // line ends kept
    expect(dotenv.parse(r.text)).toEqual({ P2: '<p2>', API_KEY: '<api key>', P3: '<p3>' });
  });

  it('keeps plain settings, replaces the rest, and keeps comments and order', () => {
    const text =
      '# OpenAI\nOPENAI_API_KEY=sk-proj-abc123def456ghi789\nOPENAI_BASE_URL=https://api.openai.com/v1\n\nPORT=8080 # web\n';
    const r = dotenvExample(text, (k) => (k === 'OPENAI_API_KEY' ? 'OpenAI API key' : undefined));
    expect(r.kept).toEqual(['OPENAI_BASE_URL', 'PORT']);
    expect(r.placeholders).toEqual(['OPENAI_API_KEY']);
    expect(r.text).toBe(
      "# OpenAI\nOPENAI_API_KEY='<OpenAI API key>'\nOPENAI_BASE_URL=https://api.openai.com/v1\n\nPORT=8080 # web\n",
    );
    const all = dotenvExample(text, () => undefined, { keep: false });
    expect(all.kept).toEqual([]);
    expect(dotenv.parse(all.text)).toEqual({
      OPENAI_API_KEY: '<openai api key>',
      OPENAI_BASE_URL: '<openai base url>',
      PORT: '<port>',
    });
  });

  it('every variable is kept as it was or becomes a placeholder, never anything else (property)', () => {
    const value = fc.oneof(
      generated,
      fc.constantFrom('true', '8080', 'localhost', 'https://api.openai.com/v1', ''),
      fc.webUrl(),
      fc.string({ maxLength: 20 }).filter((s) => !s.includes('\u0000')),
    );
    const key = fc.stringMatching(/^[A-Z][A-Z0-9_]{0,12}$/);
    fc.assert(
      fc.property(fc.dictionary(key, value, { maxKeys: 6 }), (vars) => {
        // Only values a .env file can hold (dotenv has no escapes for some).
        fc.pre(Object.values(vars).every((v) => dotenvValueEncodings(v).length > 0));
        const r = dotenvExample(setDotenvVariables('', vars));
        expect([...r.kept, ...r.placeholders].sort()).toEqual(Object.keys(vars).sort());
        const out = dotenv.parse(r.text);
        for (const k of r.kept) {
          expect(out[k]).toBe(vars[k]);
          expect(isClearlyNotSecret(k, vars[k]!)).toBe(true);
        }
        for (const k of r.placeholders) expect(out[k]).toMatch(/^<.*>$/);
      }),
      { numRuns: 200 },
    );
  });
});

describe('exampleValueLooksReal', () => {
  it("finds nothing real in seed 004's .env.example", () => {
    for (const [k, v] of Object.entries(dotenv.parse(SEED_004_ENV_EXAMPLE))) {
      expect(exampleValueLooksReal(k, v), k).toBe(false);
    }
  });

  it.each([
    ['SECRET_KEY', 'change-me'],
    ['SECRET_KEY', 'changeme'],
    ['API_TOKEN', 'your-token-here'],
    ['API_TOKEN', 'xxx'],
    ['API_TOKEN', 'xxxxxxxxxxxxxxxxxxxxxxxx'],
    ['API_TOKEN', '<your token>'],
    ['API_TOKEN', '<api token>'],
    ['JWT_SECRET', 'generate-hex-32'],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${VAR} reference, not a template
    ['JWT_SECRET', '${JWT_SECRET}'],
    ['DATABASE_URL', 'postgres://user:password@localhost/db'],
    ['DATABASE_URL', 'postgresql://postgres:postgres@localhost:5432/app'],
    ['DATABASE_URL', 'mysql://user:changeme@db.example.com/app'],
    ['OPENAI_BASE_URL', 'https://api.openai.com/v1'],
    ['PORT', '8080'],
    ['EMPTY', ''],
  ])('%s=%s is a placeholder or a plain setting', (k, v) => {
    expect(exampleValueLooksReal(k, v)).toBe(false);
  });

  it.each([
    ['STRIPE_API_KEY', 'sk_live_4eC39HqLyjWDarjtT1zdp7dcQ9'],
    ['GITHUB_TOKEN', 'ghp_abcdefghijklmnopqrstuvwxyz0123456789'],
    ['SESSION_SECRET', 'Zx8Qw2Er4Ty6Ui8Op0As2Df4Gh6Jk8L'],
    ['DATABASE_URL', 'postgres://app:Xk29fJq83LmZ@db.internal/app'],
    ['DATABASE_URL', 'postgres://app:letmein@localhost/app'],
    [
      'SLACK_WEBHOOK_URL',
      'https://hooks.slack.com/services/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',
    ],
  ])('%s=%s looks real', (k, v) => {
    expect(exampleValueLooksReal(k, v)).toBe(true);
  });

  it('a value .env.example keeps never looks real (property)', () => {
    const key = fc.constantFrom('PORT', 'API_URL', 'DB_HOST', 'NODE_ENV', 'LOG_LEVEL', 'DEBUG');
    const value = fc.oneof(
      fc.webUrl(),
      fc.domain(),
      fc.nat(65535).map(String),
      fc.constantFrom('true', 'production', 'debug', 'https://api.openai.com/v1'),
    );
    fc.assert(
      fc.property(key, value, (k, v) => {
        if (isClearlyNotSecret(k, v)) expect(exampleValueLooksReal(k, v)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});

describe("dotenvExample on seed 004's .env.example", () => {
  it('keeps the public URLs, replaces everything else, and copies no value it replaces', () => {
    const r = dotenvExample(SEED_004_ENV_EXAMPLE);
    expect(r.kept).toEqual(['OPENAI_BASE_URL', 'S3_ENDPOINT_URL']);
    expect(r.placeholders).toEqual([
      'OPENAI_API_KEY',
      'SECRET_KEY',
      'ENCRYPTION_KEY',
      'DATABASE_URL',
      'MINIO_ROOT_USER',
      'MINIO_ROOT_PASSWORD',
    ]);
    const out = dotenv.parse(r.text);
    expect(out.OPENAI_BASE_URL).toBe('https://api.openai.com/v1');
    expect(out.S3_ENDPOINT_URL).toBe('http://localhost:9000');
    for (const k of r.placeholders) expect(out[k]).toMatch(/^<.*>$/);
  });

  it("never keeps the reviewers' secrets that read as a port, a host or a URL", () => {
    const text =
      'PORT=8080\nADMIN_PW=4821\nMYSQL_ROOT_PW=letmein.now\nKIOSK_UNLOCK=31337\nMQTT_PW=https://example.com/x\n';
    const r = dotenvExample(text);
    expect(r.kept).toEqual(['PORT']);
    expect(r.text).not.toMatch(/4821|letmein|31337|example\.com/);
  });
});
