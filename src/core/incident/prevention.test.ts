import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hasMkfifo, makeFifo, startFifoWriter } from '../../../test/helpers/fifo.js';
import { READ_LIMITS } from '../read-limited.js';
import { installHook } from '../scan/hook.js';
import { preventionChecks } from './prevention.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function repo(): string {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-prevention-'));
  dirs.push(dir);
  expect(spawnSync('git', ['init', '-q', dir]).status).toBe(0);
  return dir;
}

const hookItem = (dir: string) => preventionChecks(dir).find((c) => c.item === 'pre-commit hook');

describe('incident prevention checks', () => {
  it('see the hook coffer hook install writes, which runs coffer by its quoted path', () => {
    const dir = repo();
    expect(hookItem(dir)?.ok).toBe(false);
    installHook(dir, ['/opt/node dir/node', '/opt/coffer/dist/cli.cjs']);
    expect(hookItem(dir)).toMatchObject({ ok: true, detail: 'runs a secret scanner' });
  });

  it('follow core.hooksPath, as git does', () => {
    const dir = repo();
    expect(spawnSync('git', ['-C', dir, 'config', 'core.hooksPath', '.githooks']).status).toBe(0);
    installHook(dir, ['coffer']);
    expect(hookItem(dir)?.ok).toBe(true);
  });

  it('do not count a pre-commit hook that runs no scanner', () => {
    const dir = repo();
    writeFileSync(join(dir, '.git', 'hooks', 'pre-commit'), '#!/bin/sh\nnpm run lint\n', {
      mode: 0o755,
    });
    expect(hookItem(dir)?.ok).toBe(false);
  });

  it('read a .gitignore up to 16 MiB; one past it, a FIFO or a device, is not read', async () => {
    const dir = repo();
    const gitignore = join(dir, '.gitignore');
    const item = () => preventionChecks(dir).find((c) => c.item === '.gitignore');
    writeFileSync(gitignore, 'node_modules\n.env\n');
    truncateSync(gitignore, READ_LIMITS.ignoreFile); // sparse: nothing is really written
    expect(item()).toMatchObject({ ok: true, detail: '.env files are ignored' });
    // Past the cap: not read, and said so (it is there: adding .env to it is not the advice).
    truncateSync(gitignore, READ_LIMITS.ignoreFile + 1);
    expect(item()).toMatchObject({
      ok: false,
      detail: '.gitignore too large: check that it ignores .env files',
    });
    rmSync(gitignore);
    symlinkSync('/dev/zero', gitignore);
    expect(item()).toMatchObject({
      ok: false,
      detail: '.gitignore not a regular file: check that it ignores .env files',
    });
    rmSync(gitignore);
    expect(item()).toMatchObject({ ok: false, detail: 'add .env to .gitignore' });
    if (!hasMkfifo) return;
    const writer = await startFifoWriter(makeFifo(dir, '.gitignore'), '.env\n');
    try {
      expect(item()?.ok).toBe(false);
    } finally {
      writer.stop();
    }
  });

  it('report no hook outside a git repository', () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-prevention-'));
    dirs.push(dir);
    expect(hookItem(dir)?.ok).toBe(false);
  });
});
