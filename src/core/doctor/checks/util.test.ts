import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hasMkfifo, makeFifo, startFifoWriter } from '../../../../test/helpers/fifo.js';
import { privateFileName, withFileLock, writeSecretFile } from '../../files.js';
import { READ_LIMITS } from '../../read-limited.js';
import { applyFix } from '../run.js';
import { appendLinesFix, isEnvFile } from './util.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'coffer-doctor-fix-'));
  dirs.push(d);
  return d;
};

describe('appendLinesFix', () => {
  it('adds the lines missing from the file, creating it when needed', async () => {
    const root = tempDir();
    expect(await applyFix(appendLinesFix(root, '.gitignore', ['.env', '*.pem']))).toBeUndefined();
    writeFileSync(join(root, '.dockerignore'), 'node_modules\n.env');
    expect(
      await applyFix(appendLinesFix(root, '.dockerignore', ['.env', '*.key'])),
    ).toBeUndefined();
    expect(readFileSync(join(root, '.gitignore'), 'utf8')).toBe('.env\n*.pem\n');
    expect(readFileSync(join(root, '.dockerignore'), 'utf8')).toBe('node_modules\n.env\n*.key\n');
  });

  it('fails on an ignore file past 16 MiB, naming it and the limit, and leaves it as it was', async () => {
    const root = tempDir();
    const file = join(root, '.gitignore');
    writeFileSync(file, 'node_modules\n');
    truncateSync(file, READ_LIMITS.ignoreFile + 1); // sparse: nothing is really written
    expect(await applyFix(appendLinesFix(root, '.gitignore', ['.env']))).toBe(
      `${file} is larger than 16 MiB, the limit for an ignore file`,
    );
    expect(statSync(file).size).toBe(READ_LIMITS.ignoreFile + 1);
  });

  it('fails on a path it cannot use with the system error code, as before', async () => {
    const root = tempDir();
    writeFileSync(join(root, 'plain'), 'x\n');
    expect(await applyFix(appendLinesFix(root, 'plain/.gitignore', ['.env']))).toBe('ENOTDIR');
  });

  it.skipIf(!hasMkfifo)('fails on a FIFO without reading or writing it', async () => {
    const root = tempDir();
    const writer = await startFifoWriter(makeFifo(root, '.dockerignore'), 'dist\n');
    try {
      expect(await applyFix(appendLinesFix(root, '.dockerignore', ['.env']))).toBe(
        '.dockerignore is not a regular file: coffer doctor does not write to it',
      );
    } finally {
      writer.stop();
    }
  });
});

describe('isEnvFile', () => {
  it('takes .env files, never the lock, pid or temp files a coffer write of one leaves beside it', () => {
    const dir = tempDir();
    const seen = new Set<string>();
    for (const name of ['.env', '.env.local', 'prod.env']) {
      const file = join(dir, name);
      // What a .env write has beside its file at the moment it commits: its lock, its temp.
      withFileLock(file, (lock) =>
        writeSecretFile(file, 'A=1\n', {
          overwrite: true,
          beforeCommit: () => {
            lock.assertHeld();
            for (const n of readdirSync(dir)) seen.add(n);
          },
        }),
      );
      // The pid files of the lock and of its takeover, and the takeover itself.
      for (const own of [`${file}.lock`, `${file}.lock.takeover`]) {
        seen.add(basename(own));
        seen.add(basename(privateFileName(own)));
      }
      seen.add(`${name}.4242.0a1b2c3d.tmp`); // a temp file as earlier versions named it
    }
    expect(seen).toContain('.env.lock');
    expect([...seen].some((n) => n.startsWith('.env.coffer-') && n.endsWith('.tmp'))).toBe(true);
    const envFiles = ['.env', '.env.local', 'prod.env'];
    for (const n of seen) expect(isEnvFile(n), n).toBe(envFiles.includes(n));
    for (const n of ['.env.production', 'config/.env.staging', 'app/prod.env', '.env.lockdown']) {
      expect(isEnvFile(n), n).toBe(true);
    }
    expect(isEnvFile('.env.example')).toBe(false);
    // dotenvx's private keys are a secret file; dotenv-vault's ciphertext is meant to be committed.
    expect(isEnvFile('.env.keys')).toBe(true);
    expect(isEnvFile('app/.env.keys')).toBe(true);
    expect(isEnvFile('.env.vault')).toBe(false);
    expect(isEnvFile('app/.env.vault')).toBe(false);
  });
});
