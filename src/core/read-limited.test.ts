import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hasMkfifo, makeFifo, startFifoWriter } from '../../test/helpers/fifo.js';
import { READ_LIMITS, readFileLimited } from './read-limited.js';

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
});
