import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { errorOf } from '../../../test/helpers/errors.js';
import { hasMkfifo, makeFifo, startFifoWriter } from '../../../test/helpers/fifo.js';
import { procFileLargerThan } from '../../../test/helpers/proc-file.js';
import { READ_LIMITS, TooLargeError } from '../read-limited.js';
import { readTemplateFile } from './template-file.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'coffer-template-'));
  dirs.push(d);
  return d;
};

const REF = 'url: postgres://app:{{ coffer://project/app/db_password }}@db/app\n';

describe('readTemplateFile', () => {
  it('reads a template of exactly 1 MiB; one byte more, or a huge file, is refused by name', () => {
    const file = join(tempDir(), 'config.yaml.tpl');
    writeFileSync(file, REF.padEnd(READ_LIMITS.template, '#'));
    expect(readTemplateFile(file)).toHaveLength(READ_LIMITS.template);
    for (const size of [READ_LIMITS.template + 1, 3 * 1024 * 1024 * 1024]) {
      truncateSync(file, size); // sparse: nothing is really written
      const err = errorOf(() => readTemplateFile(file));
      expect(err).toBeInstanceOf(TooLargeError);
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.message).toBe(`${file} is larger than 1 MiB, the limit for a template`);
    }
  });

  const proc = procFileLargerThan(READ_LIMITS.template);
  it.skipIf(proc === undefined)(
    'stops at the limit a file whose size the file system does not tell (/proc)',
    () => {
      expect(errorOf(() => readTemplateFile(proc!)).message).toBe(
        `${proc} is larger than 1 MiB, the limit for a template`,
      );
    },
  );

  it('refuses a device, a directory and a missing file by name, reading none', () => {
    const d = tempDir();
    mkdirSync(join(d, 'dir'));
    for (const file of ['/dev/zero', join(d, 'dir')]) {
      const err = errorOf(() => readTemplateFile(file));
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.message).toBe(`${file} is not a file`);
    }
    const missing = errorOf(() => readTemplateFile(join(d, 'missing.tpl')));
    expect(missing.code).toBe('FILE_NOT_FOUND');
    expect(missing.message).toBe(`${join(d, 'missing.tpl')} does not exist`);
  });

  it.skipIf(!hasMkfifo)('refuses a FIFO as not a file, never reading it', async () => {
    const fifo = makeFifo(tempDir(), 'pipe.tpl');
    const writer = await startFifoWriter(fifo, REF);
    try {
      expect(errorOf(() => readTemplateFile(fifo)).message).toBe(`${fifo} is not a file`);
    } finally {
      writer.stop();
    }
  });

  it('refuses text that is not UTF-8, naming the line', () => {
    const file = join(tempDir(), 'latin1.tpl');
    writeFileSync(file, Buffer.concat([Buffer.from(REF), Buffer.from([0x63, 0x61, 0x66, 0xe9])]));
    expect(errorOf(() => readTemplateFile(file)).message).toContain('(line 2)');
  });
});
