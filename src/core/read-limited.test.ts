import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { errorOf } from '../../test/helpers/errors.js';
import { hasMkfifo, makeFifo, startFifoWriter } from '../../test/helpers/fifo.js';
import {
  READ_LIMITS,
  readFileLimited,
  readFoundFile,
  readRegularFileLimited,
  TooLargeError,
} from './read-limited.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'coffer-read-'));
  dirs.push(d);
  return d;
};

describe('readFileLimited', () => {
  it('reads a file of exactly the limit and refuses one byte more, naming file and limit', () => {
    const d = tempDir();
    writeFileSync(join(d, 'ok'), Buffer.alloc(1024, 0x41));
    writeFileSync(join(d, 'big'), Buffer.alloc(1025, 0x41));
    expect(readFileLimited(join(d, 'ok'), 1024, 'a key file')).toHaveLength(1024);
    expect(() => readFileLimited(join(d, 'big'), 1024, 'a key file')).toThrow(
      `${join(d, 'big')} is larger than 1024 bytes, the limit for a key file`,
    );
  });

  it('stops reading a device that never ends at the limit', () => {
    expect(() => readFileLimited('/dev/zero', READ_LIMITS.dotenv, 'a .env file')).toThrow(
      '/dev/zero is larger than 16 MiB, the limit for a .env file',
    );
  });

  it.skipIf(!hasMkfifo)('stops reading an endless pipe at the limit', async () => {
    const fifo = makeFifo(tempDir(), 'key');
    const writer = await startFifoWriter(fifo);
    try {
      expect(() => readFileLimited(fifo, READ_LIMITS.keyFile, 'a key file')).toThrow(
        /is larger than 1024 bytes, the limit for a key file/,
      );
    } finally {
      writer.stop();
    }
  });

  it('refuses with a TooLargeError that names the file and the limit', () => {
    const d = tempDir();
    writeFileSync(join(d, 'big'), Buffer.alloc(2048, 0x41));
    const err = errorOf(() => readFileLimited(join(d, 'big'), 1024, 'a key file'));
    expect(err).toBeInstanceOf(TooLargeError);
    expect((err as TooLargeError).source).toBe(join(d, 'big'));
    expect((err as TooLargeError).limit).toBe(1024);
    expect(err.code).toBe('INVALID_ARGUMENT');
  });
});

describe('readRegularFileLimited', () => {
  it('reads a regular file (and a link to one) up to the limit; one past it is refused', () => {
    const d = tempDir();
    writeFileSync(join(d, 'ok'), 'project=app\n');
    symlinkSync(join(d, 'ok'), join(d, 'link'));
    expect(readRegularFileLimited(join(d, 'ok'), 1024, 'a file')?.toString()).toBe('project=app\n');
    expect(readRegularFileLimited(join(d, 'link'), 1024, 'a file')?.toString()).toBe(
      'project=app\n',
    );
    truncateSync(join(d, 'ok'), 2 * 1024 * 1024 * 1024); // sparse: nothing is really written
    const err = errorOf(() => readRegularFileLimited(join(d, 'ok'), 1024, 'a project file'));
    expect(err).toBeInstanceOf(TooLargeError);
    expect(err.message).toBe(
      `${join(d, 'ok')} is larger than 1024 bytes, the limit for a project file`,
    );
  });

  it('passes over a device, a link to one and a directory without reading them', () => {
    const d = tempDir();
    symlinkSync('/dev/zero', join(d, 'zero'));
    mkdirSync(join(d, 'dir'));
    for (const file of ['/dev/zero', join(d, 'zero'), join(d, 'dir')]) {
      expect(readRegularFileLimited(file, 1024, 'a file'), file).toBeUndefined();
    }
  });

  it('names a file that is not there or cannot be read', () => {
    const d = tempDir();
    const missing = errorOf(() => readRegularFileLimited(join(d, 'nope'), 1024, 'a file'));
    expect(missing.code).toBe('FILE_NOT_FOUND');
    expect(missing.message).toBe(`${join(d, 'nope')} does not exist`);
  });

  it.skipIf(!hasMkfifo)('passes over a FIFO without reading what is written to it', async () => {
    const fifo = makeFifo(tempDir(), 'fed');
    const writer = await startFifoWriter(fifo, 'project=app\n');
    try {
      expect(readRegularFileLimited(fifo, 1024, 'a file')).toBeUndefined();
    } finally {
      writer.stop();
    }
  });
});

describe('readFoundFile: a file that is there but cannot be read is not an absent one', () => {
  it('tells a missing file (undefined) from one too large, a directory or a dangling link', () => {
    const d = tempDir();
    expect(readFoundFile(join(d, 'nope'), 1024, 'a file')).toBeUndefined();
    expect(readFoundFile(join(d, 'nope', 'deeper'), 1024, 'a file')).toBeUndefined();
    writeFileSync(join(d, 'ok'), 'project=app\n');
    const ok = readFoundFile(join(d, 'ok'), 1024, 'a file');
    expect(ok !== undefined && 'bytes' in ok ? ok.bytes.toString() : ok).toBe('project=app\n');
    truncateSync(join(d, 'ok'), 16 * 1024 * 1024 + 1); // sparse: nothing is really written
    expect(readFoundFile(join(d, 'ok'), 16 * 1024 * 1024, 'a file')).toEqual({
      unreadable: 'larger than 16 MiB',
    });
    mkdirSync(join(d, 'dir'));
    expect(readFoundFile(join(d, 'dir'), 1024, 'a file')).toEqual({ unreadable: 'a directory' });
    symlinkSync(join(d, 'gone'), join(d, 'dangling'));
    expect(readFoundFile(join(d, 'dangling'), 1024, 'a file')).toEqual({
      unreadable: 'a dangling link',
    });
    symlinkSync('/dev/zero', join(d, 'zero'));
    expect(readFoundFile(join(d, 'zero'), 1024, 'a file')).toEqual({
      unreadable: 'not a regular file (a device)',
    });
  });

  it.skipIf(!hasMkfifo)('a FIFO is named as one, unread, whatever is written to it', async () => {
    const fifo = makeFifo(tempDir(), 'fed');
    const writer = await startFifoWriter(fifo, 'project=app\n');
    try {
      expect(readFoundFile(fifo, 1024, 'a file')).toEqual({
        unreadable: 'not a regular file (a FIFO)',
      });
    } finally {
      writer.stop();
    }
  });

  // Root reads a file of mode 000 all the same: this case cannot run as root.
  it.skipIf(process.getuid?.() === 0)('a file it may not read: permission denied', () => {
    const d = tempDir();
    writeFileSync(join(d, 'locked'), 'project=app\n');
    chmodSync(join(d, 'locked'), 0o000);
    expect(readFoundFile(join(d, 'locked'), 1024, 'a file')).toEqual({
      unreadable: 'permission denied',
    });
  });
});
