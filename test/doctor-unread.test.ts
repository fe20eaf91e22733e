/**
 * `coffer doctor` never takes a file it had to examine but could not read for an absent (or
 * clean) one: a FIFO (or a link to one), a file past its read cap, a directory or a dangling
 * link in its place, or a file it may not read is reported by name and reason, and a check
 * that found nothing else is `incomplete`, not `pass`. A file that is not there stays a
 * non-event (each case also runs without the file, and passes or is skipped as before).
 *
 * FIFOs get a writer that holds them open and writes a bounded amount (test/helpers/fifo.ts),
 * so a check that read one would end, not hang. Permission denied cannot be set up as root
 * (root reads a file of mode 000): those cases are skipped there, and a directory or a FIFO in
 * the file's place stands for "cannot be read".
 */
import { chmodSync, mkdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type CheckOutcome, type DoctorReport, doctorExitCode } from '../src/core/doctor/index.js';
import { MAX_MANIFEST_BYTES } from '../src/core/manifest/parse.js';
import { READ_LIMITS } from '../src/core/read-limited.js';
import { type DoctorFixture, makeDoctorFixture } from './helpers/doctor-fixture.js';
import { hasMkfifo, makeFifo, startFifoWriter } from './helpers/fifo.js';

const IS_ROOT = process.getuid?.() === 0;

const fixtures: DoctorFixture[] = [];
const stops: (() => void)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) stop();
  for (const f of fixtures.splice(0)) await f.cleanup();
});

/**
 * What stands in a file's place: a FIFO; a link to a FIFO (git lists links, not FIFOs); a
 * file one byte past the cap (sparse: nothing is written); a directory; a dangling link; a
 * file of mode 000.
 */
type Kind = 'fifo' | 'fifo-link' | 'large' | 'directory' | 'dangling' | 'denied';

const MiB = 1024 * 1024;

function reasonOf(kind: Kind, limit: number): string {
  switch (kind) {
    case 'fifo':
    case 'fifo-link':
      return 'not a regular file (a FIFO)';
    case 'large':
      return `larger than ${limit / MiB} MiB`;
    case 'directory':
      return 'a directory';
    case 'dangling':
      return 'a dangling link';
    case 'denied':
      return 'permission denied';
  }
}

async function plant(f: DoctorFixture, path: string, kind: Kind, limit: number): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  rmSync(path, { force: true, recursive: true });
  if (kind === 'fifo' || kind === 'fifo-link') {
    const fifo =
      kind === 'fifo'
        ? makeFifo(dirname(path), path.slice(dirname(path).length + 1))
        : makeFifo(f.home, `fifo-${stops.length}`);
    if (kind === 'fifo-link') symlinkSync(fifo, path);
    const writer = await startFifoWriter(fifo, 'API_TOKEN=not-a-real-token\n', 4 * MiB);
    stops.push(() => writer.stop());
  } else if (kind === 'large') {
    writeFileSync(path, '');
    truncateSync(path, limit + 1);
  } else if (kind === 'directory') {
    mkdirSync(path);
  } else if (kind === 'dangling') {
    symlinkSync(join(f.home, 'gone'), path);
  } else {
    writeFileSync(path, 'x\n');
    chmodSync(path, 0o000);
  }
}

interface Case {
  id: string;
  /** Relative to the project, or `~/...` under the fixture's home. */
  file: string;
  kinds: Kind[];
  /** The read cap that applies (default READ_LIMITS.doctorFile). */
  limit?: number;
  vault?: boolean;
  setup?: (f: DoctorFixture) => void;
  /** The status without the file (a missing file is a non-event). */
  without: CheckOutcome['status'];
}

const MANIFEST_CHECKS = ['files/env-example-missing', 'environments/missing-required'];

const CASES: Case[] = [
  {
    id: 'files/env-example-values',
    file: '.env.example',
    kinds: ['fifo', 'large', 'dangling', 'denied'],
    without: 'pass',
  },
  {
    id: 'files/env-not-dockerignored',
    file: '.dockerignore',
    kinds: ['fifo', 'large', 'directory', 'dangling', 'denied'],
    setup: (f) => f.write('Dockerfile', 'FROM node:20\n'),
    without: 'fail', // no .dockerignore beside the Dockerfile
  },
  {
    id: 'files/env-example-missing',
    file: 'coffer.yaml',
    kinds: ['fifo', 'large', 'directory', 'denied'],
    limit: MAX_MANIFEST_BYTES,
    without: 'skipped',
  },
  {
    id: 'files/env-missing',
    file: 'coffer.yaml',
    kinds: ['fifo', 'directory'],
    limit: MAX_MANIFEST_BYTES,
    without: 'skipped',
  },
  {
    id: 'environments/missing-required',
    file: 'coffer.yaml',
    kinds: ['fifo', 'large'],
    limit: MAX_MANIFEST_BYTES,
    vault: true,
    without: 'skipped',
  },
  {
    id: 'environments/name-typos',
    file: 'coffer.yaml',
    kinds: ['fifo'],
    limit: MAX_MANIFEST_BYTES,
    without: 'pass',
  },
  {
    id: 'keys/weak',
    file: 'coffer.yaml',
    kinds: ['directory'],
    limit: MAX_MANIFEST_BYTES,
    vault: true,
    without: 'pass',
  },
  {
    id: 'code/secrets-in-files',
    file: 'config/keys.txt',
    kinds: ['fifo-link', 'dangling', 'denied'],
    without: 'pass',
  },
  {
    id: 'code/secrets-in-comments',
    file: 'config/keys.txt',
    kinds: ['fifo-link'],
    without: 'pass',
  },
  {
    id: 'code/stored-values',
    file: 'config/keys.txt',
    kinds: ['dangling'],
    vault: true,
    without: 'pass',
  },
  {
    id: 'code/secrets-in-logs',
    file: 'src/app.js',
    kinds: ['fifo-link', 'large', 'dangling', 'denied'],
    without: 'pass',
  },
  {
    id: 'deploy/compose-secrets',
    file: 'docker-compose.yml',
    kinds: ['fifo-link', 'large', 'denied'],
    without: 'skipped',
  },
  {
    id: 'deploy/dockerfile-secrets',
    file: 'Dockerfile',
    kinds: ['fifo-link', 'large'],
    without: 'skipped',
  },
  {
    id: 'deploy/ci-secrets',
    file: '.github/workflows/ci.yml',
    kinds: ['fifo-link', 'large'],
    without: 'skipped',
  },
  {
    id: 'access/token-dead',
    file: 'src/config.js',
    kinds: ['fifo-link', 'large'],
    vault: true,
    without: 'pass',
  },
  {
    id: 'access/mcp-config',
    file: '.mcp.json',
    kinds: ['fifo', 'large', 'directory', 'dangling', 'denied'],
    without: 'pass',
  },
  {
    id: 'access/agent-plaintext',
    file: '~/.claude.json',
    kinds: ['fifo', 'large'],
    without: 'pass',
  },
  {
    id: 'access/agent-env-read',
    file: '.claude/settings.local.json',
    kinds: ['fifo', 'large', 'directory', 'denied'],
    setup: (f) => f.write('.claude/settings.json', '{"permissions":{"deny":["Read(./.env*)"]}}\n'),
    without: 'pass',
  },
  {
    id: 'lifecycle/pre-commit-hook',
    file: '.git/hooks/pre-commit',
    kinds: ['fifo', 'large', 'directory', 'dangling', 'denied'],
    limit: READ_LIMITS.gitHook,
    without: 'fail', // no hook at all
  },
  {
    id: 'lifecycle/baseline-stale',
    file: '.secrets.baseline',
    kinds: ['fifo', 'large', 'directory', 'denied'],
    without: 'skipped',
  },
];

const runs = CASES.flatMap((c) => c.kinds.map((kind) => ({ ...c, kind })));
/** Root reads a file of mode 000; without mkfifo there is no FIFO: such cases are NOT RUN. */
const runnable = (c: { kind: Kind }) =>
  !(c.kind === 'denied' && IS_ROOT) &&
  !((c.kind === 'fifo' || c.kind === 'fifo-link') && !hasMkfifo);

describe('a file a check could not read is reported, never taken as absent', () => {
  it.skip.each(runs.filter((c) => !runnable(c)))(
    'NOT RUN here (root, or no mkfifo): $id: $file as $kind',
    () => {},
  );

  it.each(runs.filter(runnable))('$id: $file as $kind', { timeout: 60_000 }, async (c) => {
    const f = await makeDoctorFixture({ vault: c.vault === true });
    fixtures.push(f);
    c.setup?.(f);
    const limit = c.limit ?? READ_LIMITS.doctorFile;
    const path = c.file.startsWith('~/') ? join(f.home, c.file.slice(2)) : join(f.root, c.file);
    const before = await f.check(c.id);
    expect(before.status, JSON.stringify(before)).toBe(c.without);
    expect(before.unread).toEqual([]);

    await plant(f, path, c.kind, limit);
    const o = await f.check(c.id);
    const reason = reasonOf(c.kind, limit);
    expect(o.unread, JSON.stringify(o)).toContainEqual({
      file: c.file,
      reason,
      message: `could not read ${c.file}: ${reason}`,
    });
    expect(o.status).not.toBe('pass');
    expect(o.status).not.toBe('skipped');
    // Nothing found but the unread file: incomplete, with no fix to apply for it.
    if (o.evidence.length === 0) {
      expect(o.status).toBe('incomplete');
      expect(o.fixes).toEqual([]);
    }
    if (MANIFEST_CHECKS.includes(c.id)) expect(o.status).toBe('incomplete');
  });
});

describe('what the unread reports change', () => {
  it('an incomplete check is no pass: --strict exits 1 on it, as on a warning', () => {
    const report = { checks: [], errors: 0, warnings: 0, infos: 0, incomplete: 1, costs: {} };
    expect(doctorExitCode(report satisfies DoctorReport, false)).toBe(0);
    expect(doctorExitCode(report, true)).toBe(1);
    expect(doctorExitCode({ ...report, incomplete: 0 }, true)).toBe(0);
  });

  it('files/env-not-dockerignored: an unread .dockerignore is not called missing, nor appended to', async () => {
    const f = await makeDoctorFixture();
    fixtures.push(f);
    f.write('Dockerfile', 'FROM node:20\n');
    mkdirSync(join(f.root, '.dockerignore'));
    const o = await f.check('files/env-not-dockerignored');
    expect(o.status).toBe('incomplete');
    expect(o.evidence).toEqual([]);
    expect(o.fixes).toEqual([]);
  });

  it('lifecycle/pre-commit-hook: a hook past the cap is incomplete, not "no hook"', async () => {
    const f = await makeDoctorFixture();
    fixtures.push(f);
    await plant(f, join(f.root, '.git/hooks/pre-commit'), 'large', READ_LIMITS.gitHook);
    const o = await f.check('lifecycle/pre-commit-hook');
    expect(o.status).toBe('incomplete');
    expect(o.evidence).toEqual([]);
  });

  it('files/env-example-values: a .env.example that is a link is read through it', async () => {
    const f = await makeDoctorFixture();
    fixtures.push(f);
    f.write('shared/env.example', `STRIPE_KEY=sk_live_${'4eC39HqLyjWDarjtT1zdp7dc'}\n`);
    symlinkSync('shared/env.example', join(f.root, '.env.example'));
    const o = await f.check('files/env-example-values');
    expect(o.status).toBe('fail');
    expect(o.evidence).toContainEqual(expect.objectContaining({ file: '.env.example', line: 1 }));
  });

  it('files/secret-files-tracked: a tracked .pem past the cap may be a key: said so', async () => {
    const f = await makeDoctorFixture();
    fixtures.push(f);
    await plant(f, join(f.root, 'deploy/server.pem'), 'large', READ_LIMITS.doctorFile);
    f.commit();
    const o = await f.check('files/secret-files-tracked');
    expect(o.status).toBe('incomplete');
    expect(o.unread).toEqual([
      {
        file: 'deploy/server.pem',
        reason: 'larger than 64 MiB',
        message: 'could not read deploy/server.pem: larger than 64 MiB',
      },
    ]);
  });

  it.skipIf(!hasMkfifo)(
    'files/secret-files-tracked: a tracked link to a FIFO named .pem is said so',
    async () => {
      const f = await makeDoctorFixture();
      fixtures.push(f);
      await plant(f, join(f.root, 'deploy/server.pem'), 'fifo-link', READ_LIMITS.doctorFile);
      f.commit();
      const o = await f.check('files/secret-files-tracked');
      expect(o.status).toBe('incomplete');
      expect(o.unread.map((u) => u.reason)).toEqual(['not a regular file (a FIFO)']);
    },
  );

  it('files/modes: a .pem past the cap has its mode checked all the same', async () => {
    const f = await makeDoctorFixture();
    fixtures.push(f);
    await plant(f, join(f.root, 'deploy/server.pem'), 'large', READ_LIMITS.doctorFile);
    chmodSync(join(f.root, 'deploy/server.pem'), 0o644);
    const o = await f.check('files/modes');
    expect(o.status).toBe('fail');
    expect(o.evidence).toContainEqual(expect.objectContaining({ file: 'deploy/server.pem' }));
  });

  // Root lists a directory of mode 000: NOT RUN as root.
  it.skipIf(IS_ROOT)('files/env-not-ignored: a directory it cannot list is said so', async () => {
    const f = await makeDoctorFixture();
    fixtures.push(f);
    f.write('private/.env', 'DB_PASSWORD=x\n');
    chmodSync(join(f.root, 'private'), 0o000);
    try {
      const o = await f.check('files/env-not-ignored');
      expect(o.unread).toContainEqual(
        expect.objectContaining({ file: 'private/', reason: 'cannot list it (permission denied)' }),
      );
    } finally {
      chmodSync(join(f.root, 'private'), 0o700);
    }
  });
});
