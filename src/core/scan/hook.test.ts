/**
 * The pre-commit hook's files are read under READ_LIMITS.gitHook: a hook past it (a program)
 * or one that is not a regular file is never read, counts as not coffer's (chained by
 * install, left by uninstall, no scanner for doctor and incident), and nothing waits on it.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { errorOf } from '../../../test/helpers/errors.js';
import { hasMkfifo, makeFifo, startFifoWriter } from '../../../test/helpers/fifo.js';
import { READ_LIMITS } from '../read-limited.js';
import { CHAINED_HOOK, installHook, scannerHookState, uninstallHook } from './hook.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function repo(): { dir: string; hook: string; chained: string } {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-hook-'));
  dirs.push(dir);
  expect(spawnSync('git', ['init', '-q', dir]).status).toBe(0);
  const hooks = join(dir, '.git', 'hooks');
  mkdirSync(hooks, { recursive: true });
  return { dir, hook: join(hooks, 'pre-commit'), chained: join(hooks, CHAINED_HOOK) };
}

const HUGE = 3 * 1024 * 1024 * 1024;

describe('the pre-commit hook, read under a cap', () => {
  it('install chains a hook past 1 MiB unread; uninstall puts it back; doctor counts no scanner', () => {
    const { dir, hook, chained } = repo();
    writeFileSync(hook, '#!/bin/sh\n# coffer scan\n', { mode: 0o755 });
    truncateSync(hook, HUGE); // sparse: nothing is really written
    expect(scannerHookState(dir)).toEqual({
      hook,
      ok: false,
      unread: [{ file: hook, reason: 'larger than 1 MiB' }],
    });
    expect(uninstallHook(dir)).toEqual({ hook, changed: false });
    expect(installHook(dir, ['coffer'])).toEqual({ hook, chained, changed: true });
    expect(statSync(chained).size).toBe(HUGE);
    expect(readFileSync(hook, 'utf8')).toContain('# coffer pre-commit hook');
    expect(scannerHookState(dir)).toEqual({ hook, ok: true, unread: [] });
    expect(uninstallHook(dir)).toEqual({ hook, chained: hook, changed: true });
    expect(statSync(hook).size).toBe(HUGE);
    expect(existsSync(chained)).toBe(false);
  });

  it('reads a hook of exactly 1 MiB', () => {
    const { dir, hook } = repo();
    const script = '#!/bin/sh\nexec coffer scan --staged\n';
    writeFileSync(hook, script.padEnd(READ_LIMITS.gitHook, '#'), { mode: 0o755 });
    expect(scannerHookState(dir)).toEqual({ hook, ok: true, unread: [] });
  });

  it('a link to a device is not a hook coffer reads; a pre-commit config past the cap names no scanner', () => {
    const { dir, hook } = repo();
    symlinkSync('/dev/zero', hook);
    const config = join(dir, '.pre-commit-config.yaml');
    expect(scannerHookState(dir)).toEqual({
      hook,
      ok: false,
      unread: [{ file: hook, reason: 'not a regular file (a device)' }],
    });
    rmSync(hook);
    writeFileSync(hook, '#!/bin/sh\nexec pre-commit run\n', { mode: 0o755 });
    writeFileSync(config, 'repos:\n  - repo: https://github.com/gitleaks/gitleaks\n');
    expect(scannerHookState(dir)).toEqual({ hook, ok: true, unread: [] });
    truncateSync(config, READ_LIMITS.gitHook + 1);
    expect(scannerHookState(dir)).toEqual({
      hook,
      ok: false,
      unread: [{ file: config, reason: 'larger than 1 MiB' }],
    });
  });

  it("a directory in the hook's place is an error, as it always was", () => {
    const { dir, hook } = repo();
    mkdirSync(hook);
    expect(errorOf(() => installHook(dir, ['coffer'])).message).toBe(
      `cannot use ${hook}: it is a directory (EISDIR)`,
    );
  });

  it.skipIf(!hasMkfifo)("a FIFO in the hook's place is chained, never read", async () => {
    const { dir, hook, chained } = repo();
    const writer = await startFifoWriter(
      makeFifo(join(dir, '.git', 'hooks'), 'pre-commit'),
      '# coffer pre-commit hook\n',
    );
    try {
      expect(scannerHookState(dir)).toEqual({
        hook,
        ok: false,
        unread: [{ file: hook, reason: 'not a regular file (a FIFO)' }],
      });
      expect(uninstallHook(dir)).toEqual({ hook, changed: false });
      expect(installHook(dir, ['coffer'])).toEqual({ hook, chained, changed: true });
      expect(statSync(chained).isFIFO()).toBe(true);
    } finally {
      writer.stop();
    }
  });
});

describe('installing the hook where a link is', () => {
  it('a dangling link at pre-commit is chained, never written through', () => {
    const { dir, hook, chained } = repo();
    const target = join(dir, 'elsewhere-hook');
    symlinkSync(target, hook);
    expect(installHook(dir, ['coffer'])).toEqual({ hook, chained, changed: true });
    expect(existsSync(target)).toBe(false);
    expect(lstatSync(hook).isSymbolicLink()).toBe(false);
    expect(readFileSync(hook, 'utf8')).toContain('# coffer pre-commit hook');
    expect(lstatSync(chained).isSymbolicLink()).toBe(true);
  });

  it('a link to a hook (a hook manager) is chained and keeps leading to it', () => {
    const { dir, hook, chained } = repo();
    const target = join(dir, 'managed-hook');
    writeFileSync(target, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    symlinkSync(target, hook);
    expect(installHook(dir, ['coffer'])).toEqual({ hook, chained, changed: true });
    expect(readFileSync(target, 'utf8')).toBe('#!/bin/sh\nexit 0\n');
    expect(readFileSync(hook, 'utf8')).toContain('# coffer pre-commit hook');
    expect(lstatSync(hook).isSymbolicLink()).toBe(false);
  });
});
