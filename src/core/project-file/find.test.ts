import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { errorOf } from '../../../test/helpers/errors.js';
import { hasMkfifo, makeFifo, startFifoWriter } from '../../../test/helpers/fifo.js';
import { MAX_MANIFEST_BYTES } from '../manifest/parse.js';
import { READ_LIMITS, TooLargeError } from '../read-limited.js';
import { findProjectConfig } from './find.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
/** A parent directory whose .coffer names `parent`, and a directory inside it. */
const nested = () => {
  const top = mkdtempSync(join(tmpdir(), 'coffer-project-'));
  dirs.push(top);
  writeFileSync(join(top, '.coffer'), 'project=parent\n');
  const dir = join(top, 'app');
  mkdirSync(dir);
  return { top, dir };
};

describe('findProjectConfig: the project file is read under a cap', () => {
  it('reads any coffer.yaml the manifest accepts: the limit is the manifest limit', () => {
    expect(READ_LIMITS.projectFile).toBe(MAX_MANIFEST_BYTES);
    const { dir } = nested();
    const head = 'project: receptor\nenv: prod\n';
    writeFileSync(join(dir, 'coffer.yaml'), `${head.padEnd(READ_LIMITS.projectFile - 1, '#')}\n`);
    expect(findProjectConfig(dir)).toMatchObject({ project: 'receptor', env: 'prod' });
  });

  it('refuses a project file past 1 MiB by name, whatever its size, without reading it', () => {
    for (const name of ['.coffer', 'coffer.yaml', 'coffer.yml']) {
      const { dir } = nested();
      const file = join(dir, name);
      writeFileSync(file, name === '.coffer' ? 'project=app\n' : 'project: app\n');
      for (const size of [READ_LIMITS.projectFile + 1, 3 * 1024 * 1024 * 1024]) {
        truncateSync(file, size); // sparse: nothing is really written
        const err = errorOf(() => findProjectConfig(dir));
        expect(err).toBeInstanceOf(TooLargeError);
        expect(err.code).toBe('INVALID_ARGUMENT');
        expect(err.message).toBe(`${file} is larger than 1 MiB, the limit for a project file`);
      }
    }
  });

  it('passes over a .coffer that is a device or a directory: the parent file names the project', () => {
    const { dir } = nested();
    symlinkSync('/dev/zero', join(dir, '.coffer'));
    mkdirSync(join(dir, 'coffer.yaml'));
    expect(findProjectConfig(dir)?.project).toBe('parent');
  });

  it.skipIf(!hasMkfifo)('passes over a .coffer that is a FIFO, never reading it', async () => {
    const { dir } = nested();
    const writer = await startFifoWriter(makeFifo(dir, '.coffer'), 'project=fifo\n');
    try {
      expect(findProjectConfig(dir)?.project).toBe('parent');
    } finally {
      writer.stop();
    }
  });
});
