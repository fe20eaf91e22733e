/**
 * Cross-check with the reference implementation, Python `cryptography`'s Fernet/MultiFernet:
 * Python decrypts and rotates coffer's tokens, coffer decrypts and rotates Python's. Keys,
 * tokens and plaintexts go through stdin and stdout as JSON, never through argv.
 *
 * Skipped, with a warning in the test output, when `python3 -c 'import cryptography'` fails.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { fernetDecrypt, fernetEncrypt, generateFernetKey } from './fernet.js';
import { fernetDecryptAny, fernetRotate } from './multi-fernet.js';

const probe = spawnSync('python3', ['-c', 'import cryptography; print(cryptography.__version__)'], {
  encoding: 'utf8',
  timeout: 20_000,
});
const pythonVersion = probe.status === 0 ? probe.stdout.trim() : undefined;
const skipReason =
  pythonVersion === undefined
    ? `python3 with the cryptography package is not available (${
        probe.error?.message ?? probe.stderr.trim().split('\n').at(-1) ?? `exit ${probe.status}`
      })`
    : undefined;
if (skipReason !== undefined) {
  console.warn(`SKIPPED: Fernet cross-check with Python cryptography: ${skipReason}`);
}

/** Runs a Python snippet that reads JSON from stdin and prints JSON. */
function python<T>(script: string, input: unknown): T {
  const prelude = [
    'import sys, json, base64',
    'from cryptography.fernet import Fernet, MultiFernet, InvalidToken',
    'inp = json.load(sys.stdin)',
    'b64 = lambda b: base64.b64encode(b).decode()',
  ].join('\n');
  const run = spawnSync('python3', ['-c', `${prelude}\n${script}`], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (run.status !== 0) throw new Error(`python3 failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

const plaintexts: Buffer[] = [
  Buffer.alloc(0),
  Buffer.from('hello'),
  Buffer.from('exactly sixteen!'),
  Buffer.from('ünïcødé ✓ 🔑 and a newline\n'),
  Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 37) & 0xff)),
];
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

describe(`Fernet cross-check with Python cryptography ${pythonVersion ?? '(unavailable)'}`, () => {
  it.skipIf(skipReason !== undefined)('Python decrypts coffer tokens and reads the time', () => {
    const key = generateFernetKey();
    const now = 1_700_000_000;
    const tokens = plaintexts.map((p) => fernetEncrypt(key, p, { now }));
    const out = python<{ plain: string[]; times: number[] }>(
      [
        'f = Fernet(inp["key"])',
        'plain = [b64(f.decrypt(t)) for t in inp["tokens"]]',
        'times = [f.extract_timestamp(t) for t in inp["tokens"]]',
        'print(json.dumps({"plain": plain, "times": times}))',
      ].join('\n'),
      { key, tokens },
    );
    expect(out.plain).toEqual(plaintexts.map(b64));
    expect(out.times).toEqual(plaintexts.map(() => now));
  });

  it.skipIf(skipReason !== undefined)('coffer decrypts Python tokens and keys', () => {
    const out = python<{ key: string; tokens: string[]; ahead: string; old: string }>(
      [
        'key = Fernet.generate_key()',
        'f = Fernet(key)',
        'tokens = [f.encrypt(base64.b64decode(p)).decode() for p in inp["plain"]]',
        'ahead = f.encrypt_at_time(b"x", inp["now"] + 3600).decode()',
        'old = f.encrypt_at_time(b"x", inp["now"] - 3600).decode()',
        'print(json.dumps({"key": key.decode(), "tokens": tokens, "ahead": ahead, "old": old}))',
      ].join('\n'),
      { plain: plaintexts.map(b64), now: Math.floor(Date.now() / 1000) },
    );
    expect(out.tokens.map((t) => b64(fernetDecrypt(out.key, t, { ttl: 600 })))).toEqual(
      plaintexts.map(b64),
    );
    // Same time rules as Python: checked only with a TTL.
    expect(fernetDecrypt(out.key, out.ahead).toString()).toBe('x');
    expect(() => fernetDecrypt(out.key, out.ahead, { ttl: 600 })).toThrow('invalid Fernet token');
    expect(() => fernetDecrypt(out.key, out.old, { ttl: 600 })).toThrow('invalid Fernet token');
  });

  it.skipIf(skipReason !== undefined)('rotation agrees with MultiFernet in both directions', () => {
    const [oldKey, newKey] = [generateFernetKey(), generateFernetKey()];
    const ours = fernetEncrypt(oldKey, 'rotate me', { now: 1_600_000_000 });
    const out = python<{ plain: string; time: number; theirs: string }>(
      [
        'old, new = Fernet(inp["old"]), Fernet(inp["new"])',
        'theirs = MultiFernet([new, old]).rotate(inp["coffer_rotated_src"]).decode()',
        'print(json.dumps({"plain": b64(new.decrypt(inp["coffer_rotated"])),',
        '  "time": new.extract_timestamp(inp["coffer_rotated"]), "theirs": theirs}))',
      ].join('\n'),
      {
        old: oldKey,
        new: newKey,
        coffer_rotated: fernetRotate([newKey, oldKey], ours),
        coffer_rotated_src: fernetEncrypt(oldKey, 'from python', { now: 1_500_000_000 }),
      },
    );
    expect(Buffer.from(out.plain, 'base64').toString()).toBe('rotate me');
    expect(out.time).toBe(1_600_000_000);
    expect(fernetDecryptAny([oldKey, newKey], out.theirs).toString()).toBe('from python');
    expect(() => fernetDecrypt(oldKey, out.theirs)).toThrow('invalid Fernet token');
    expect(Buffer.from(out.theirs, 'base64url').readBigUInt64BE(1)).toBe(1_500_000_000n);
  });

  it.skipIf(skipReason !== undefined)('Python rejects tampered coffer tokens too', () => {
    const key = generateFernetKey();
    const raw = Buffer.from(fernetEncrypt(key, 'x'), 'base64url');
    const tampered = [1, 9, 30, raw.length - 1].map((i) => {
      const copy = Buffer.from(raw);
      copy[i]! ^= 0x01;
      return copy.toString('base64').replaceAll('+', '-').replaceAll('/', '_');
    });
    const out = python<boolean[]>(
      [
        'f = Fernet(inp["key"])',
        'def bad(t):',
        '    try:',
        '        f.decrypt(t)',
        '        return False',
        '    except InvalidToken:',
        '        return True',
        'print(json.dumps([bad(t) for t in inp["tokens"]]))',
      ].join('\n'),
      { key, tokens: tampered },
    );
    expect(out).toEqual([true, true, true, true]);
  });
});
