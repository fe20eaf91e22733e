import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hasMkfifo, makeFifo, startFifoWriter } from '../../../test/helpers/fifo.js';
import { CofferError } from '../errors.js';
import { READ_LIMITS } from '../read-limited.js';
import { readAgeIdentities } from './identities.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'coffer-identities-'));
  dirs.push(d);
  return d;
};

function errorOf(fn: () => unknown): CofferError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CofferError);
    return err as CofferError;
  }
  throw new Error('expected a CofferError');
}

// Not a real key: the reader does not check the form, the decrypter does.
const ID_A = `AGE-SECRET-KEY-1${'Q'.repeat(58)}`;
const ID_B = `AGE-SECRET-KEY-1${'P'.repeat(58)}`;

describe('readAgeIdentities', () => {
  it('reads one identity a line from each file, skipping comments and blank lines', () => {
    const d = tempDir();
    writeFileSync(join(d, 'a'), `# created: 2026-01-01\n# public key: age1xyz\n${ID_A}\n\n`);
    writeFileSync(join(d, 'b'), `  ${ID_B}\r\n`);
    expect(readAgeIdentities([join(d, 'a'), join(d, 'b')])).toEqual([ID_A, ID_B]);
  });

  it('reads a file of exactly 64 KiB; one byte more, or a huge sparse file, is refused by name', () => {
    const d = tempDir();
    const file = join(d, 'id.txt');
    const line = `${ID_A}\n`;
    const body = `${line.repeat(Math.floor(READ_LIMITS.ageIdentity / line.length))}`;
    writeFileSync(file, body.padEnd(READ_LIMITS.ageIdentity, '#'));
    expect(readAgeIdentities([file]).length).toBe(
      Math.floor(READ_LIMITS.ageIdentity / line.length),
    );
    for (const size of [READ_LIMITS.ageIdentity + 1, 2 * 1024 * 1024 * 1024]) {
      truncateSync(file, size); // sparse: nothing is really written
      const err = errorOf(() => readAgeIdentities([file]));
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.message).toBe(`${file} is larger than 64 KiB, the limit for an age identity file`);
    }
  });

  it('stops reading a device that never ends at the limit', () => {
    expect(errorOf(() => readAgeIdentities(['/dev/zero'])).message).toBe(
      '/dev/zero is larger than 64 KiB, the limit for an age identity file',
    );
  });

  it.skipIf(!hasMkfifo)('stops reading an endless pipe at the limit', async () => {
    const fifo = makeFifo(tempDir(), 'id.fifo');
    const writer = await startFifoWriter(fifo, `${ID_A}\n`);
    try {
      expect(errorOf(() => readAgeIdentities([fifo])).message).toMatch(
        /is larger than 64 KiB, the limit for an age identity file/,
      );
    } finally {
      writer.stop();
    }
  });

  it('names the identity file it cannot read, and never a line of one', () => {
    const d = tempDir();
    const missing = errorOf(() => readAgeIdentities([join(d, 'nope')]));
    expect(missing.code).toBe('FILE_NOT_FOUND');
    expect(missing.message).toBe(`cannot read the identity file ${join(d, 'nope')} (ENOENT)`);
    mkdirSync(join(d, 'dir'));
    expect(errorOf(() => readAgeIdentities([join(d, 'dir')])).message).toContain(join(d, 'dir'));
    writeFileSync(join(d, 'big'), `${ID_A}\n`.repeat(2000));
    expect(errorOf(() => readAgeIdentities([join(d, 'big')])).message).not.toContain(ID_A);
  });
});
