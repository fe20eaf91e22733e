import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { tokenChecksum } from './checksums.js';
import { scanText } from './scanner.js';
import { StoredValueMatcher } from './stored-values.js';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const rand = (n: number, alphabet = ALNUM) =>
  Array.from(randomBytes(n), (b) => alphabet[b % alphabet.length]).join('');
const ghToken = (prefix = 'ghp_') => {
  const r = rand(30);
  return `${prefix}${r}${tokenChecksum(r)}`;
};
const ids = (text: string, file = 'app.env') => scanText(text, file).map((f) => f.ruleId);

describe('provider rules', () => {
  it('finds a GitHub token with a valid checksum, not one without', () => {
    const good = ghToken();
    const bad = `${good.slice(0, -1)}${good.endsWith('A') ? 'B' : 'A'}`;
    const f = scanText(`token: ${good}\nother: ${bad}\n`, 'ci.yml');
    expect(f.map((x) => [x.ruleId, x.line, x.column, x.validated])).toEqual([
      ['github-token', 1, 8, true],
    ]);
    expect(f[0]!.masked).toBe('ghp_****');
    expect(JSON.stringify(f)).not.toContain(good.slice(4));
  });

  it('finds a private key whose body is on the next line, not a placeholder', () => {
    const body = rand(64, `${ALNUM}+/`);
    expect(
      ids(`-----BEGIN RSA PRIVATE KEY-----\n${body}\n-----END RSA PRIVATE KEY-----\n`, 'id_rsa'),
    ).toEqual(['private-key']);
    expect(
      ids('-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----\n', 'README.md'),
    ).toEqual([]);
  });

  it('keeps documented examples and references quiet', () => {
    expect(ids('AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n')).toEqual([]);
    expect(ids(`DATABASE_URL=postgres://app:${'$'}{DB_PASSWORD}@db:5432/app\n`)).toEqual([]);
    expect(ids(`DATABASE_URL=postgres://app:${rand(20)}@db.internal:5432/app\n`)).toEqual([
      'url-password',
    ]);
  });
});

describe('generic assignments', () => {
  it('finds random values under secret names and skips placeholders and references', () => {
    const v = rand(24);
    expect(ids(`SECRET_KEY=${v}\n`)).toEqual(['generic-secret']);
    expect(ids(`const apiKey = "${v}";\n`, 'src/app.ts')).toEqual(['generic-secret']);
    expect(ids('const apiKey = process.env.API_KEY;\n', 'src/app.ts')).toEqual([]);
    expect(ids('password: "your-password-here"\n', 'config.yml')).toEqual([]);
    expect(ids(`token: ${'$'}{{ secrets.DEPLOY_TOKEN }}\n`, '.github/workflows/ci.yml')).toEqual(
      [],
    );
    expect(ids('API_KEY=coffer://project/app/api_key\n')).toEqual([]);
    expect(ids(`password_length = 32\nmax_tokens: 4096\n`)).toEqual([]);
    expect(ids(`api_key = "${v}"  # coffer:allow\n`)).toEqual([]);
    expect(ids(`# pragma: allowlist nextline secret\napi_key = "${v}"\n`)).toEqual([]);
  });
});

describe('stored values', () => {
  it('finds a stored value raw and encoded, naming the key path', () => {
    const value = `p@ss/${rand(20)}+"x"`;
    const m = new StoredValueMatcher([{ path: 'project/app/db_password', env: 'prod', value }]);
    const b = Buffer.from(value);
    const lines = [
      `a=${value}`,
      `b=${b.toString('base64')}`,
      `c=${Buffer.from(`user:${value}`).toString('base64')}`,
      `d=${encodeURIComponent(value)}`,
      `e="${JSON.stringify(value).slice(1, -1)}"`,
      `f=${b.toString('hex')}`,
      `g=${b.toString('hex').toUpperCase()}`,
      'h=nothing here at all',
    ];
    const f = scanText(lines.join('\n'), 'dump.txt', { storedValues: m, noGeneric: true });
    expect(f.map((x) => [x.line, x.keyPath, x.encoding])).toEqual([
      [1, 'project/app/db_password', 'raw'],
      [2, 'project/app/db_password', 'base64'],
      [3, 'project/app/db_password', 'base64'],
      [4, 'project/app/db_password', 'url'],
      [5, 'project/app/db_password', 'json'],
      [6, 'project/app/db_password', 'hex'],
      [7, 'project/app/db_password', 'hex'],
    ]);
    expect(JSON.stringify(f)).not.toContain(value);
    m.wipe();
    expect(scanText(lines[0]!, 'dump.txt', { storedValues: m })).toEqual([]);
  });
});
