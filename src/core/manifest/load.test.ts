import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { errorOf } from '../../../test/helpers/errors.js';
import { hasMkfifo, makeFifo, startFifoWriter } from '../../../test/helpers/fifo.js';
import { loadNearestManifest, manifestRotationHints } from './load.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'coffer-manifest-load-'));
  dirs.push(d);
  return d;
};

const MANIFEST =
  'project: billing\nvariables:\n  DB_PASSWORD:\n    description: Database password of the billing service\n';

describe('loadNearestManifest', () => {
  it('reads the nearest coffer.yaml', () => {
    const d = tempDir();
    writeFileSync(join(d, 'coffer.yaml'), MANIFEST);
    mkdirSync(join(d, 'src'));
    expect(loadNearestManifest(join(d, 'src')).project).toBe('billing');
  });

  it('says a directory in its place is one', () => {
    const d = tempDir();
    mkdirSync(join(d, 'coffer.yaml'));
    const err = errorOf(() => loadNearestManifest(d));
    expect(err.code).toBe('IO_ERROR');
    expect(err.message).toBe(`${join(d, 'coffer.yaml')} is a directory`);
  });

  it("stops at a dangling coffer.yaml link instead of taking a parent directory's manifest", () => {
    const d = tempDir();
    writeFileSync(join(d, 'coffer.yaml'), MANIFEST); // another project's, further up
    const app = join(d, 'app');
    mkdirSync(app);
    const link = join(app, 'coffer.yaml');
    symlinkSync(join(app, 'missing.yaml'), link);
    for (const load of [
      () => loadNearestManifest(app),
      () => manifestRotationHints(app, 'project/billing/db_password', 'prod'),
    ]) {
      const err = errorOf(load);
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.message).toBe(`${link} is a link whose target does not exist`);
      expect(err.hint).toMatch(/Point the link at the manifest/);
    }
  });

  it.skipIf(!hasMkfifo)(
    'refuses a FIFO in its place unread, whatever is written to it',
    async () => {
      const d = tempDir();
      const fifo = makeFifo(d, 'coffer.yaml');
      const writer = await startFifoWriter(fifo, MANIFEST);
      try {
        for (const load of [
          () => loadNearestManifest(d),
          () => manifestRotationHints(d, 'project/billing/db_password', 'prod'),
        ]) {
          const err = errorOf(load);
          expect(err.code).toBe('INVALID_ARGUMENT');
          expect(err.message).toBe(`${fifo} is not a regular file`);
        }
      } finally {
        writer.stop();
      }
    },
  );
});

describe('manifestRotationHints', () => {
  it('gives the names allowed for a previous name: those the manifest was read with', () => {
    const d = tempDir();
    writeFileSync(
      join(d, 'coffer.yaml'),
      'project: billing\nallow_env_names: CFLAGS\nvariables:\n  DB_PASSWORD:\n    description: Database password of the billing service\n    previous: CFLAGS\n',
    );
    const listed = manifestRotationHints(d, 'project/billing/db_password', 'prod', ['LDFLAGS']);
    expect(listed.previousName).toBe('CFLAGS');
    expect(listed.allowEnvNames).toEqual(expect.arrayContaining(['CFLAGS', 'LDFLAGS']));
    // A secret the manifest does not list: the project file's (coffer.yaml here) and the flags.
    const other = manifestRotationHints(d, 'project/billing/api_key', 'prod', ['LDFLAGS']);
    expect(other.previousName).toBeNull();
    expect(other.allowEnvNames).toEqual(expect.arrayContaining(['CFLAGS', 'LDFLAGS']));
    // Another project's secret: only the flags.
    expect(manifestRotationHints(d, 'project/web/api_key', 'prod').allowEnvNames).toEqual([]);
  });
});
