/**
 * Master-key sources: the key file's ownership and mode rules (as ssh applies to its keys),
 * and the scrypt cost a new passphrase vault may be given.
 *
 * The intruder: another user who plants a key file where coffer will look for one (so that
 * `coffer init` would lock the vault with a key the intruder knows) or who owns the key file
 * and can change it or its mode whenever they like.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import {
  DEFAULT_SCRYPT_LOG_N,
  deriveKeyFromPassphrase,
  MIN_NEW_SCRYPT_LOG_N,
} from '../crypto/kdf.js';
import { CofferError } from '../errors.js';
import { hostTag, processStartTime } from '../files.js';
import { createKeyFile, keyFileCopyWriter, newScryptParams, readKeyFile } from './master-key.js';

const dir = mkdtempSync(join(tmpdir(), 'coffer-master-key-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const isRoot = process.getuid?.() === 0;
/** A uid no account on a test machine uses. */
const OTHER_UID = 54_321;
let n = 0;
const KEY = Buffer.alloc(32, 7).toString('base64');

function keyFile(mode = 0o600, content = `${KEY}\n`): string {
  const path = join(dir, `key-${++n}`);
  writeFileSync(path, content, { mode });
  chmodSync(path, mode);
  return path;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CofferError);
    return (err as CofferError).code;
  }
  return undefined;
}

describe('readKeyFile', () => {
  it('reads a 0600 or 0400 key file of the user running coffer', () => {
    expect(Buffer.from(readKeyFile(keyFile(0o600))).toString('base64')).toBe(KEY);
    expect(Buffer.from(readKeyFile(keyFile(0o400))).toString('base64')).toBe(KEY);
  });

  it('refuses a key file that group or others may read or write', () => {
    for (const mode of [0o640, 0o604, 0o620, 0o602, 0o660, 0o644, 0o666, 0o610]) {
      const path = keyFile(mode);
      expect(
        codeOf(() => readKeyFile(path)),
        mode.toString(8),
      ).toBe('KEY_FILE_INSECURE');
    }
  });

  it('refuses a key file another user owns (seen as another uid, without root)', () => {
    const path = keyFile(0o600);
    const me = process.getuid!();
    vi.spyOn(process, 'getuid').mockReturnValue(me + 1);
    let err: CofferError | undefined;
    try {
      readKeyFile(path);
    } catch (e) {
      err = e as CofferError;
    }
    expect(err?.code).toBe('KEY_FILE_INSECURE');
    expect(err?.message).toContain('owned by another user');
    expect(err?.message).not.toContain(KEY);
  });

  it.runIf(isRoot)('refuses a key file chowned to another user (root)', () => {
    const path = keyFile(0o600);
    chownSync(path, OTHER_UID, OTHER_UID);
    expect(codeOf(() => readKeyFile(path))).toBe('KEY_FILE_INSECURE');
  });

  it.skipIf(isRoot)(
    'a key file chowned to another user: NOT RUN, chown to another uid needs root (the mocked-uid test above covers the rule)',
    () => {},
  );

  it('names a missing file and refuses a directory, with CofferErrors', () => {
    expect(codeOf(() => readKeyFile(join(dir, 'missing')))).toBe('MASTER_KEY_MISSING');
    const sub = join(dir, 'a-directory');
    mkdirSync(sub, { mode: 0o700 });
    expect(codeOf(() => readKeyFile(sub))).toBe('IO_ERROR');
  });

  it('never puts the file content in an error', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 8, maxLength: 60 }), fc.boolean(), (text, loose) => {
        fc.pre(text.trim().length >= 8);
        const path = keyFile(loose ? 0o644 : 0o600, text);
        try {
          readKeyFile(path);
        } catch (err) {
          expect((err as Error).message).not.toContain(text.trim());
          expect((err as CofferError).hint ?? '').not.toContain(text.trim());
        }
      }),
      { numRuns: 50 },
    );
  });

  it('createKeyFile writes a key that readKeyFile reads back', () => {
    const path = join(dir, `created-${++n}`);
    const key = createKeyFile(path);
    expect(Buffer.from(readKeyFile(path)).equals(Buffer.from(key))).toBe(true);
  });
});

describe('newScryptParams', () => {
  it("defaults to N = 2^18 (age's passphrase work factor), r = 8, p = 1, a 16-byte salt", () => {
    const p = newScryptParams();
    expect(DEFAULT_SCRYPT_LOG_N).toBe(18);
    expect(p).toMatchObject({ logN: 18, r: 8, p: 1 });
    expect(Buffer.from(p.salt, 'base64')).toHaveLength(16);
    expect(newScryptParams().salt).not.toBe(p.salt);
  });

  it('refuses a cost below 2^14 or above 2^22 for a new vault', () => {
    expect(MIN_NEW_SCRYPT_LOG_N).toBe(14);
    for (const logN of [-1, 0, 10, 12, 13, 23, 14.5, Number.NaN]) {
      expect(
        codeOf(() => newScryptParams(logN)),
        String(logN),
      ).toBe('INVALID_ARGUMENT');
    }
    expect(newScryptParams(14).logN).toBe(14);
    expect(newScryptParams(22).logN).toBe(22);
  });

  it('still derives keys for vaults made before the floor (logN 10 stays readable)', () => {
    const old = { logN: 10, r: 8, p: 1, salt: Buffer.alloc(16, 1).toString('base64') };
    expect(deriveKeyFromPassphrase('a passphrase', old)).toHaveLength(32);
  });
});

describe('createKeyFile', () => {
  it("removes the copy of a key a killed run left beside the key file, once that run's process is gone", () => {
    const d = mkdtempSync(join(tmpdir(), 'coffer-keyleft-'));
    try {
      const gonePid = spawnSync(
        process.execPath,
        ['-e', 'process.stdout.write(String(process.pid))'],
        {
          encoding: 'utf8',
        },
      ).stdout;
      const left = `master.key.${gonePid}.0a1b2c3d.new`;
      const live = `master.key.${process.ppid}.0a1b2c3d.new`; // a running process: not touched
      writeFileSync(join(d, left), 'old-key\n', { mode: 0o600 });
      writeFileSync(join(d, live), 'other-key\n', { mode: 0o600 });
      createKeyFile(join(d, 'master.key')).fill(0);
      expect(existsSync(join(d, left))).toBe(false);
      expect(readdirSync(d).sort()).toEqual(['master.key', live].sort());
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
  });

  it("removes this host's copies of gone writers (and their temp files), never another host's", () => {
    const d = mkdtempSync(join(tmpdir(), 'coffer-keyleft-'));
    try {
      const gone = spawnSync(process.execPath, ['-e', '0']).pid as number;
      const other = hostTag() === 'ffffffff' ? '00000000' : 'ffffffff';
      const mine = [
        `master.key.${gone}-${hostTag()}.0a1b2c3d.new`,
        `master.key.${gone}-${hostTag()}-777.0a1b2c3d.new`,
        `master.key.${gone}-${hostTag()}.0a1b2c3d.new.coffer-${gone}-${hostTag()}-0badf00d.tmp`,
        `master.key.${gone}.0a1b2c3d.new.coffer-${gone}-0badf00d.tmp`,
      ];
      // An init of another host (a shared COFFER_HOME) may be writing it right now.
      const theirs = [
        `master.key.${gone}-${other}.0a1b2c3d.new`,
        `master.key.${gone}-${other}-777.0a1b2c3d.new.coffer-${gone}-${other}-777-0badf00d.tmp`,
      ];
      const unrelated = ['master.key.new', 'master.key.1.0a1b2c3d.new.bak'];
      for (const name of [...mine, ...theirs, ...unrelated]) {
        writeFileSync(join(d, name), 'old-key\n', { mode: 0o600 });
      }
      createKeyFile(join(d, 'master.key')).fill(0);
      expect(readdirSync(d).sort()).toEqual(['master.key', ...theirs, ...unrelated].sort());
      expect(keyFileCopyWriter(theirs[1]!, 'master.key')).toEqual({
        pid: gone,
        host: other,
        start: '777',
      });
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it.skipIf(process.platform !== 'linux')(
    'removes a copy whose pid a process started since has (the writer died, its pid reused)',
    () => {
      const d = mkdtempSync(join(tmpdir(), 'coffer-keyleft-'));
      try {
        const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], {
          stdio: 'ignore',
        });
        children.push(child);
        const pid = child.pid as number;
        const start = processStartTime(pid);
        const reused = `master.key.${pid}-${hostTag()}-${start}1.0a1b2c3d.new`;
        const running = `master.key.${pid}-${hostTag()}-${start}.0a1b2c3d.new`;
        for (const name of [reused, running]) writeFileSync(join(d, name), 'k\n', { mode: 0o600 });
        createKeyFile(join(d, 'master.key')).fill(0);
        expect(readdirSync(d).sort()).toEqual(['master.key', running].sort());
      } finally {
        rmSync(d, { recursive: true, force: true });
      }
    },
  );
});
