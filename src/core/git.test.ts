/**
 * coffer runs git in repositories it did not make: a project received with its .git directory
 * (an archive, a shared disk) carries a .git/config of someone else's. Settings there that make
 * git start a program (core.fsmonitor on any command that reads the index, log.showSignature
 * with gpg.program on `git log`) must never run when coffer calls git: `coffer doctor` and
 * `coffer scan` are what one runs to check such a project.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DoctorContext } from './doctor/context.js';
import { assertGitWorkTree, isGitIgnored, isGitTracked } from './git.js';
import { installHook } from './scan/hook.js';
import { listFiles, scanHistory, scanStaged } from './scan/sources.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function git(dir: string, ...args: string[]): string {
  const r = spawnSync(
    'git',
    ['-c', 'user.email=a@example.com', '-c', 'user.name=a', '-c', 'commit.gpgsign=false', ...args],
    { cwd: dir, encoding: 'utf8' },
  );
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trim();
}

/**
 * A repository with one commit, one signed commit on top (a signature git will try to check)
 * and a staged change, whose .git/config makes git run `program` (which creates `marker`)
 * through core.fsmonitor and through gpg.program with log.showSignature.
 */
function hostileRepo(): { dir: string; marker: string } {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-git-'));
  dirs.push(dir);
  const marker = join(dir, 'ran');
  const program = join(dir, 'program.sh');
  writeFileSync(program, `#!/bin/sh\ntouch '${marker}'\nexit 1\n`, { mode: 0o755 });
  git(dir, 'init', '-q');
  writeFileSync(join(dir, 'a.txt'), 'a\n');
  writeFileSync(join(dir, '.gitignore'), 'program.sh\nran\n');
  git(dir, 'add', 'a.txt', '.gitignore');
  git(dir, 'commit', '-qm', 'first');
  const tree = git(dir, 'rev-parse', 'HEAD^{tree}');
  const parent = git(dir, 'rev-parse', 'HEAD');
  const commit = [
    `tree ${tree}`,
    `parent ${parent}`,
    'author a <a@example.com> 1 +0000',
    'committer a <a@example.com> 1 +0000',
    'gpgsig -----BEGIN PGP SIGNATURE-----',
    ' ',
    ' AAAA',
    ' -----END PGP SIGNATURE-----',
    '',
    'signed',
    '',
  ].join('\n');
  const file = join(dir, 'commit.txt');
  writeFileSync(file, commit);
  const signed = git(dir, 'hash-object', '-t', 'commit', '-w', file);
  rmSync(file);
  git(dir, 'update-ref', 'HEAD', signed);
  writeFileSync(join(dir, 'b.txt'), 'b\n');
  git(dir, 'add', 'b.txt');
  git(dir, 'config', 'core.fsmonitor', program);
  git(dir, 'config', 'log.showSignature', 'true');
  git(dir, 'config', 'gpg.program', program);
  // The set-up itself ran nothing: every command above came before the settings.
  expect(existsSync(marker)).toBe(false);
  return { dir, marker };
}

describe("a repository's own git settings never run a program when coffer calls git", () => {
  it('the .env git checks (isGitIgnored, isGitTracked, assertGitWorkTree)', () => {
    const { dir, marker } = hostileRepo();
    assertGitWorkTree(dir, 'hint');
    expect(isGitIgnored(join(dir, '.env'))).toBe(false);
    expect(isGitTracked(join(dir, 'a.txt'))).toBe(true);
    expect(existsSync(marker)).toBe(false);
  });

  it('coffer scan: the file list, --staged and --history', async () => {
    const { dir, marker } = hostileRepo();
    expect(listFiles(dir, [], false)).toEqual(expect.arrayContaining(['a.txt', 'b.txt']));
    await scanStaged(dir, {});
    await scanHistory(dir, undefined, {});
    expect(existsSync(marker)).toBe(false);
  });

  it("coffer doctor's git inputs and the hook it installs", () => {
    const { dir, marker } = hostileRepo();
    const ctx = new DoctorContext({ root: dir, home: dir, env: {} });
    expect(ctx.isGit()).toBe(true);
    expect(ctx.tracked().has('a.txt')).toBe(true);
    expect(ctx.committable()).toEqual(expect.arrayContaining(['a.txt', 'b.txt']));
    expect(ctx.ignored(['ran']).has('ran')).toBe(true);
    ctx.coveredByIgnoreRules(['.env']);
    installHook(dir, ['coffer']);
    expect(existsSync(marker)).toBe(false);
  });
});
