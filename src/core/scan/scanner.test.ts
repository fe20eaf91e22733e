import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hasMkfifo, makeFifo, startFifoWriter } from '../../../test/helpers/fifo.js';
import { generateCorpus } from '../../../test/helpers/scan-corpus.js';
import { tokenChecksum } from './checksums.js';
import { FileScanner, scanFile, scanStream, scanText } from './scanner.js';
import { StoredValueMatcher } from './stored-values.js';
import type { Finding } from './types.js';
import { resetScanWork, scanWork } from './work.js';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const rand = (n: number, alphabet = ALNUM) =>
  Array.from(randomBytes(n), (b) => alphabet[b % alphabet.length]).join('');
const ghToken = (prefix = 'ghp_') => {
  const r = rand(30);
  return `${prefix}${r}${tokenChecksum(r)}`;
};
const ids = (text: string, file = 'app.env') => scanText(text, file).map((f) => f.ruleId);
/** The findings scanFile gave (throws when it gave none: skipped, or not scanned). */
const findingsOf = (found: ReturnType<typeof scanFile>): Finding[] => {
  if (!Array.isArray(found)) throw new Error(`not scanned: ${JSON.stringify(found)}`);
  return found;
};

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
    expect(ids(`# coffer:allow-next-line\napi_key = "${v}"\n`)).toEqual([]);
    expect(ids(`# coffer:allow-next-line\nx = 1\napi_key = "${v}"\n`)).toEqual(['generic-secret']);
  });

  it('reads TypeScript types, templates, key paths and placeholders in comments as no secrets', () => {
    const D = '$';
    for (const line of [
      '  masterKey: Uint8Array,',
      'export function open(masterKey: Uint8Array | Keyring, secretKey: Uint8Array): void {}',
      '  insertToken(token: TokenRecord): Promise<void>;',
      '  secret: Pick<SecretRecord, "path" | "env">,',
      'export const SECRET_COLUMNS: Readonly<Record<string, string>> = {};',
      'export interface Keys { privateKey: Ed25519PrivateKey; token: OAuth2Token }',
      '  password: Argon2Hash,',
      '  secret: Base64String,',
      "export type TokenInfo = Omit<TokenRecord, 'hash'>;",
      `  return { record, token: \`coffer_${D}{id}_${D}{secret}\` };`,
      "const SECRET = 'project/bench/api_key';",
      ' * the actor is `token:NAME@ADDRESS` when the token was recognised',
    ]) {
      expect(ids(`${line}\n`, 'src/core/x.ts'), line).toEqual([]);
    }
    expect(
      ids('SecretsService: `vault.as(actor, policy)` is the one\n', 'ARCHITECTURE.md'),
    ).toEqual([]);
    // Random text that starts with a capital is rarely taken for a type name where a type
    // stands, and never at the end of a comment.
    // (Compared with the same value in a config file, where no code rule applies: the other
    // filters, placeholders such as `xxxx` inside random text, drop a few either way.)
    let typeLike = 0;
    for (let i = 0; i < 2000; i++) {
      const v = `X${rand(10 + (i % 30))}7`; // a bare token without a digit reads as a name
      const inConfig = ids(`api_key: ${v}\n`, 'c.sh');
      if (inConfig.length > 0 && ids(`const c = { apiKey: ${v} }\n`, 'c.ts').length === 0)
        typeLike++;
      expect(ids(`// api_key: ${v}\n`, 'c.ts'), v).toEqual(inConfig);
    }
    expect(typeLike).toBeLessThan(40);
    // A literal in code is still found, and so is a key pasted bare into a comment or object.
    expect(ids(`const secretKey = "${rand(24)}";\n`, 'src/core/x.ts')).toEqual(['generic-secret']);
    for (const [line, file] of [
      ['# api_key: hX9fK2mQ7vL4pZ8wR3tY6uN1', 'a.py'],
      ['// token=hX9fK2mQ7vL4pZ8wR3tY6uN1', 'b.ts'],
      ['const c = { apiKey: hX9fK2mQ7vL4pZ8wR3tY6uN1 }', 'c.ts'],
      ['// secret: Xk29fJq83LmZ0pQ7Wn4Ac', 'd.go'],
    ] as const) {
      expect(ids(`${line}\n`, file), line).toEqual(['generic-secret']);
    }
  });

  it('finds hex secrets under secret names (openssl rand -hex), not digests under digest names', () => {
    const hex = (n: number) => randomBytes(n).toString('hex');
    for (const [line, file] of [
      [`JWT_SECRET=${hex(32)}\n`, 'app.env'],
      [`SECRET_KEY=${hex(16)}\n`, 'app.env'],
      [`API_TOKEN=${hex(20)}\n`, 'app.env'],
      [`password = "${hex(16)}"\n`, 'settings.py'],
      [`SESSION_SECRET: ${hex(32)}\n`, 'values.yml'],
    ] as const) {
      expect(ids(line, file), line).toEqual(['generic-secret']);
    }
    for (const line of [
      `COMMIT_SHA=${hex(20)}\n`,
      `password_hash = "${hex(32)}"\n`,
      `api_key_checksum: ${hex(32)}\n`,
      `secret_digest=${hex(32)}\n`,
      'integrity: "sha512-q1w2e3r4t5y6u7i8o9p0asdfghjklzxcvbnm1234567890QWERTYUIOPAS=="\n',
    ]) {
      expect(ids(line, 'config.yml'), line).toEqual([]);
    }
  });

  it('a random value is not taken for a placeholder because four of its letters spell one', () => {
    // About one random key in 3,000 holds "mock", "todo", "fake", "your"... somewhere.
    for (const word of ['mock', 'ToDo', 'FAKE', 'your', 'dummy', 'Sample']) {
      // Between letters, as inside random text: no case boundary, no separator.
      const key = `sk${rand(12)}x${word}x${rand(12)}Q7`.replace(/[-_]/g, 'a');
      expect(ids(`OPENAI_API_KEY=${key}\n`), key).toEqual(['generic-secret']);
    }
    // Placeholders, written as people write them, still are.
    for (const p of [
      'your-api-key-here',
      'YOUR_API_KEY',
      'sk_test_YOUR_KEY_1234567890abcdefGH',
      'AbCd1234-replace-me-EfGh5678ijkl',
      'sk_live_xxxxxxxxxxxxxxxxxxxxxxxx',
      '<paste your key>',
      'sk_test_YourSecretKeyHere1234',
      'yourApiKeyGoesHere123456789',
      'DbPasswordChangeMe2024Prod',
      'ReplaceWithYourOwnKey12345',
      'MyFakeApiKey1234567890ABCD',
    ])
      expect(ids(`API_KEY=${p}\n`), p).toEqual([]);
  });
});

describe('hostile input', () => {
  // Each line once made a rule's regex backtrack without end (the looksRandom word test was
  // exponential in the value's length; names, Twilio and Fernet names and data URI
  // parameters were quadratic or cubic in a run's length). At 200,000 characters a
  // superlinear expression takes minutes; a linear one a few milliseconds.
  const n = 200_000;
  const lines = [
    `password = "${'qzmxlkwjvhrtpbnfgdscyeua'.repeat(n / 24)}9"`,
    `key ${'a_'.repeat(n / 2)}`,
    `password=${'a_'.repeat(n / 2)}`,
    `secret ${'a.'.repeat(n / 2)}`,
    `password${'_'.repeat(n)}:`,
    'key'.repeat(n / 3),
    `<${'key'.repeat(n / 3)}`,
    'twilio_auth'.repeat(n / 11),
    `${'data:a/b;x=y'.repeat(n / 12)} secret`,
    'BEGIN PRIVATE KEY-----'.repeat(n / 22),
    'eyJa.'.repeat(n / 5),
    `postgres://${'u:'.repeat(n / 2)}`,
  ];
  it.each(['app.env', 'app.ts', 'README.md'])(
    'reads long adversarial lines in %s in linear time',
    { timeout: 60_000 },
    (file) => {
      for (const line of lines) expect(scanText(`${line}\n`, file)).toBeInstanceOf(Array);
    },
  );
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

describe('one pass over a text', () => {
  const corpus = generateCorpus(31, { perFamily: 3, perDecoy: 1 });
  const m = new StoredValueMatcher([
    { path: 'project/app/one', env: 'dev', value: 'stored-value-one-123' },
    { path: 'project/app/two', env: 'dev', value: 'eyJhbGciOiJIUzI1NiJ9' },
  ]);
  /** The corpus's files, some with the stored values planted, some with CRLF line ends. */
  const files = corpus.files.map((f, i) => {
    let content = f.content;
    const secret = corpus.secrets.find((x) => x.file === f.path);
    if (i % 7 === 0 && secret !== undefined) {
      const lines = content.split('\n');
      lines.splice(secret.line - 1, 0, '# pragma: allowlist nextline secret');
      content = lines.join('\n');
    }
    if (i % 3 === 0) content = content.replace('\n', ' stored-value-one-123\n');
    if (i % 4 === 0) content = content.replaceAll('\n', '\r\n');
    if (i % 5 === 0) content = content.trimEnd();
    return { path: f.path, content };
  });
  /** Line by line, the reference: every line read. */
  const byLine = (content: string, file: string) => {
    const s = new FileScanner({ file }, { storedValues: m });
    return content
      .split('\n')
      .flatMap((l, i) => s.line(l.endsWith('\r') ? l.slice(0, -1) : l, i + 1))
      .concat(s.end());
  };

  it('reads a file as bytes as it reads its text: lines, columns, CRLF, any UTF-8', () => {
    const plain = (content: string, file: string) => {
      const s = new FileScanner({ file });
      return s.bytes(Buffer.from(content)).concat(s.end());
    };
    const reference = (content: string, file: string) => {
      const s = new FileScanner({ file });
      return content
        .split('\n')
        .flatMap((l, i) => s.line(l.endsWith('\r') ? l.slice(0, -1) : l, i + 1))
        .concat(s.end());
    };
    let total = 0;
    for (const f of files) {
      const expected = reference(f.content, f.path);
      total += expected.length;
      expect(plain(f.content, f.path), f.path).toEqual(expected);
    }
    expect(total).toBeGreaterThan(files.length / 3);
    const token = ghToken();
    const piece = fc.constantFrom(
      `token: ${token}`,
      `API_KEY="${rand(24)}"`,
      '-----BEGIN RSA PRIVATE KEY-----',
      rand(64, `${ALNUM}+/`),
      '# coffer:allow',
      '# pragma: allowlist nextline secret',
      'clé = "Schlüssel" 日本 \u{1F511}',
      'é',
      '\n',
      '\r\n',
      ' ',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 20 }), fc.boolean(), (parts, code) => {
        const content = parts.join('');
        const file = code ? 'src/app.ts' : 'config.yml';
        expect(plain(content, file)).toEqual(reference(content, file));
      }),
      { numRuns: 300 },
    );
  });

  it('finds what reading every line finds, in whole texts and in streams cut anywhere', async () => {
    let total = 0;
    for (const f of files) {
      const expected = byLine(f.content, f.path);
      total += expected.length;
      expect(scanText(f.content, f.path, { storedValues: m }), f.path).toEqual(expected);
    }
    expect(total).toBeGreaterThan(files.length / 2);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...files),
        fc.array(fc.nat(), { maxLength: 6 }),
        async (f, cuts) => {
          const bytes = Buffer.from(f.content);
          const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const chunks = [0, ...at].map((a, i) => bytes.subarray(a, at[i] ?? bytes.length));
          async function* stream() {
            yield* chunks;
          }
          const got = await scanStream(stream(), { file: f.path }, { storedValues: m });
          expect(got).toEqual(byLine(f.content, f.path));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('scanFile', () => {
  it('reads small and large files (past the 8 MiB whole-file read) as scanText reads them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-scan-'));
    try {
      const line = (i: number) =>
        i % 5000 === 0 ? `API_KEY="${rand(24)}" # ${i} é\n` : `log.info("step ${i}", "ok") 日本\n`;
      const small = Array.from({ length: 20_000 }, (_, i) => line(i)).join('');
      // Lines cross the 8 MiB and 1 MiB chunk boundaries at odd offsets (multi-byte text).
      const large = `${small.repeat(14)}token: ${ghToken()}`;
      expect(Buffer.byteLength(large)).toBeGreaterThan(9 * 1024 * 1024);
      for (const [name, content] of [
        ['small.env', small],
        ['large.env', large],
        ['crlf.env', small.replaceAll('\n', '\r\n')],
      ] as const) {
        writeFileSync(join(dir, name), content);
        const expected = scanText(content, name);
        expect(expected.length).toBeGreaterThan(3);
        expect(scanFile(join(dir, name), name), name).toEqual(expected);
      }
      writeFileSync(join(dir, 'blob.bin.txt'), Buffer.from([1, 2, 0, 3]));
      expect(scanFile(join(dir, 'blob.bin.txt'), 'blob.bin.txt')).toEqual({ notScanned: 'BINARY' });
      expect(scanFile(join(dir, 'small.env'), 'package-lock.json')).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('coffer master key files', () => {
  const key = () => randomBytes(32).toString('base64');

  it('reports a key file by its name and its one line of base64 of 32 bytes, never the key', () => {
    for (const file of ['master.key', '.coffer/master.key', 'deploy/coffer.key']) {
      const k = key();
      for (const text of [`${k}\n`, k, `${k}\r\n`]) {
        const f = scanText(text, file);
        expect(f.map((x) => [x.ruleId, x.line, x.column, x.endColumn])).toEqual([
          ['coffer-master-key', 1, 1, 45],
        ]);
        expect(JSON.stringify(f)).not.toContain(k);
      }
      // The same from a diff's added line and from a file on disk.
      expect(new FileScanner({ file }).line(k, 1).map((x) => x.ruleId)).toEqual([
        'coffer-master-key',
      ]);
      expect(new FileScanner({ file }).line(k, 2)).toEqual([]);
      const dir = mkdtempSync(join(tmpdir(), 'coffer-scan-key-'));
      try {
        writeFileSync(join(dir, 'master.key'), `${k}\n`);
        expect(findingsOf(scanFile(join(dir, 'master.key'), file)).map((x) => x.ruleId)).toEqual([
          'coffer-master-key',
        ]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  it('leaves other names, other lengths and later lines alone', () => {
    const k = key();
    expect(scanText(`${k}\n`, 'integrity.txt')).toEqual([]);
    expect(scanText(`${k}\n`, 'master.key.bak')).toEqual([]);
    expect(scanText(`${randomBytes(31).toString('base64')}\n`, 'master.key')).toEqual([]);
    expect(scanText(`${randomBytes(33).toString('base64')}\n`, 'master.key')).toEqual([]);
    expect(scanText(`# comment\n${k}\n`, 'master.key')).toEqual([]);
    // Base64 of 32 bytes ends in one of 16 characters before its `=`.
    expect(scanText(`${k.slice(0, 42)}B=\n`, 'master.key')).toEqual([]);
  });
});

describe('UTF-16 files', () => {
  it('reads a UTF-16 file with its byte order mark (PowerShell 5 `>`) as text, LE and BE', () => {
    const key = `sk_live_${rand(24)}`;
    const text = `STRIPE_SECRET_KEY=${key}\r\n`;
    const dir = mkdtempSync(join(tmpdir(), 'coffer-scan-utf16-'));
    try {
      const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
      const be = Buffer.from(le);
      be.swap16(); // FE FF and big-endian units
      for (const [name, bytes] of [
        ['le.env', le],
        ['be.env', be],
      ] as const) {
        writeFileSync(join(dir, name), bytes);
        expect(findingsOf(scanFile(join(dir, name), name)).map((f) => [f.ruleId, f.line])).toEqual([
          ['stripe-secret-key', 1],
        ]);
      }
      // Without a byte order mark, NUL bytes still mean binary: not scanned, and said so.
      writeFileSync(join(dir, 'raw.env'), Buffer.from(text, 'utf16le'));
      expect(scanFile(join(dir, 'raw.env'), 'raw.env')).toEqual({ notScanned: 'BINARY' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads a UTF-16 file past the 8 MiB whole-file read as text too, LE and BE, keys on every chunk', () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-scan-utf16-large-'));
    try {
      // Keys at the start, past the 8 MiB first read and at the end; a surrogate pair (🔑) split
      // by the end of the first read (8 MiB) and by the end of the next chunk (9 MiB).
      const MiB = 1024 * 1024;
      const keys = Array.from({ length: 3 }, () => `sk_live_${rand(24)}`);
      const fill = (units: number) =>
        `${'x'.repeat(99)}\n`.repeat(units / 100) + 'y'.repeat(units % 100);
      const head = `STRIPE_SECRET_KEY=${keys[0]}\r\n`;
      // A unit at index u of the text is at byte 2 + 2u of the file (after its mark).
      const first = 4 * MiB - 2; // the pair's bytes: 8 MiB - 2 to 8 MiB + 2
      const second = 4.5 * MiB - 2;
      const text = `${head}${fill(first - head.length)}🔑${fill(second - first - 2)}🔑\nSTRIPE_SECRET_KEY=${keys[1]}\r\n${fill(3 * MiB)}\nSTRIPE_SECRET_KEY=${keys[2]}`;
      expect(text.indexOf('🔑')).toBe(first);
      expect(text.lastIndexOf('🔑')).toBe(second);
      const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
      expect(le.length).toBeGreaterThan(9 * 1024 * 1024);
      const be = Buffer.from(le);
      be.swap16();
      const expected = scanText(text, 'big.env').map((f) => [f.ruleId, f.line, f.column]);
      expect(expected).toHaveLength(3);
      for (const [name, bytes] of [
        ['le.env', le],
        ['be.env', be],
      ] as const) {
        writeFileSync(join(dir, name), bytes);
        const found = findingsOf(scanFile(join(dir, name), 'big.env'));
        expect(
          found.map((f) => [f.ruleId, f.line, f.column]),
          name,
        ).toEqual(expected);
        expect(JSON.stringify(found)).not.toContain(keys[1]!.slice(8));
      }
      // A large file with NUL bytes and no mark is binary, whatever its size.
      writeFileSync(join(dir, 'raw.env'), le.subarray(2));
      expect(scanFile(join(dir, 'raw.env'), 'raw.env')).toEqual({ notScanned: 'BINARY' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.runIf(hasMkfifo)(
    "a FIFO in a scanned file's place is opened without waiting and skipped, never read",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'coffer-scan-fifo-'));
      const fifo = makeFifo(dir, 'swapped.env');
      // The writer holds it open and would feed a reader 64 MiB of a token's line.
      const writer = await startFifoWriter(fifo, `token: ${ghToken()}\n`);
      try {
        expect(scanFile(fifo, 'swapped.env')).toBeUndefined();
      } finally {
        writer.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
  it.skipIf(hasMkfifo)(
    "a FIFO in a scanned file's place: NOT RUN, mkfifo is not installed",
    () => {},
  );
});

describe('one long line', () => {
  const MiB = 1024 * 1024;
  /** `n` characters of prose on one line, with no newline (as a minified bundle or a dump). */
  const filler = (n: number) =>
    'lorem ipsum dolor sit amet, '.repeat(Math.ceil(n / 28)).slice(0, n);
  /** A line of `n` characters with `secret` at `at`, as chunks of `size` bytes. */
  const chunked = (line: string, size: number) => {
    const bytes = Buffer.from(line);
    const out: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
    return out;
  };
  async function* stream(chunks: readonly Buffer[]) {
    yield* chunks;
  }

  it('finds a secret at any offset of a line of several MiB, read whole or in chunks', async () => {
    const base = filler(3 * MiB);
    await fc.assert(
      fc.asyncProperty(
        fc.nat(base.length),
        fc.integer({ min: 1024, max: 256 * 1024 }),
        async (at, size) => {
          const token = ghToken();
          const line = `${base.slice(0, at)} ${token} ${base.slice(at)}`;
          const expected = [{ ruleId: 'github-token', line: 1, column: at + 2 }];
          const pick = (f: { ruleId: string; line: number; column: number }[]) =>
            f.map(({ ruleId, line, column }) => ({ ruleId, line, column }));
          expect(pick(scanText(line, 'dump.txt'))).toEqual(expected);
          const streamed = await scanStream(stream(chunked(line, size)), { file: 'dump.txt' });
          expect(pick(streamed)).toEqual(expected);
        },
      ),
      { numRuns: 8 },
    );
  });

  it('searches each character of a line once for its end, however many chunks it spans', async () => {
    // The reader once searched the whole unfinished line again at each chunk: 64 MiB on one
    // line took seconds, and twice the line four times the work.
    const work = async (n: number) => {
      resetScanWork();
      await scanStream(stream(chunked(filler(n), 64 * 1024)), { file: 'dump.txt' });
      return scanWork.lineEndChars;
    };
    const one = await work(2 * MiB);
    const two = await work(4 * MiB);
    expect(one).toBe(2 * MiB);
    expect(two).toBe(4 * MiB);
  });

  it('checks a finding against those before it on its line in log time, not one by one', () => {
    // A line of n findings once compared each with every one before it (n² / 2): a one-line
    // dump of a million assignments took hours. Twice the findings is about twice the work.
    const work = (n: number) => {
      const line = Array.from({ length: n }, (_, i) => `password = "Xk29fJq8${i}LmZ0"`).join(' ');
      resetScanWork();
      expect(scanText(line, 'dump.env')).toHaveLength(n);
      return scanWork.spanTests;
    };
    const one = work(4000);
    const two = work(8000);
    expect(one).toBeLessThan(4000 * 30);
    expect(two / one).toBeLessThan(2.3);
  });

  it('refuses a line past the longest it holds with an error naming the file, not an internal one', async () => {
    const chunks = chunked(`ok line\n${filler(5000)}\nlast`, 1000);
    await expect(
      scanStream(stream(chunks), { file: 'dump.txt' }, { maxLineLength: 4096 }),
    ).rejects.toMatchObject({
      code: 'LINE_TOO_LONG',
      message: 'a line of dump.txt is longer than 4096 characters: not scanned',
    });
    expect(await scanStream(stream(chunks), { file: 'dump.txt' }, { maxLineLength: 5000 })).toEqual(
      [],
    );
  });

  it('scanFile reads a file of one line past the 8 MiB whole-file read in linear work', () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-scan-'));
    try {
      const token = ghToken();
      const at = 9 * MiB + 12_345;
      const content = `${filler(at)} ${token} ${filler(2 * MiB)}`;
      writeFileSync(join(dir, 'one-line.txt'), content);
      resetScanWork();
      const found = findingsOf(scanFile(join(dir, 'one-line.txt'), 'one-line.txt'));
      expect(found.map((f) => [f.ruleId, f.line, f.column])).toEqual([['github-token', 1, at + 2]]);
      // The first 8 MiB are read whole; each later chunk is searched once.
      expect(scanWork.lineEndChars).toBeLessThanOrEqual(content.length);
      // A line past the longest held is refused by name (coffer scan lists the file as not
      // scanned), the same through scanFile as through a stream.
      expect(() =>
        scanFile(join(dir, 'one-line.txt'), 'one-line.txt', { maxLineLength: 10 * MiB }),
      ).toThrow('a line of one-line.txt is longer than 10 MiB: not scanned');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
