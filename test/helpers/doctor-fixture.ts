/**
 * Fixture projects for `coffer doctor`: a temp directory (a git repository unless asked
 * otherwise) with its own HOME, files written with their modes, and optionally a vault
 * (SQLite in a temp directory). `check(id)` runs one check through core/doctor as the CLI
 * does; `fix(outcome)` applies the safe fixes it planned. Used by test/doctor.test.ts (one
 * fixture per check) and test/e2e/doctor.test.ts (the built binary).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  CHECKS,
  type CheckOutcome,
  DoctorContext,
  runDoctor,
} from '../../src/core/doctor/index.js';
import type { Vault } from '../../src/core/index.js';
import { makeTestVault } from './vault.js';

export interface DoctorFixture {
  readonly root: string;
  readonly home: string;
  vault: Vault | undefined;
  vaultFiles: string[];
  write(file: string, text: string, mode?: number): void;
  remove(file: string): void;
  git(...args: string[]): string;
  commit(message?: string): void;
  /** Runs one check (or all, with no id) with the given options. */
  check(
    id: string,
    options?: { history?: boolean; envs?: string[]; project?: string; now?: Date },
  ): Promise<CheckOutcome>;
  /** Applies every safe fix of an outcome; returns how many were applied. */
  fix(outcome: CheckOutcome): Promise<number>;
  cleanup(): Promise<void>;
}

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Doctor Test',
  GIT_AUTHOR_EMAIL: 'doctor@example.org',
  GIT_COMMITTER_NAME: 'Doctor Test',
  GIT_COMMITTER_EMAIL: 'doctor@example.org',
  GIT_CONFIG_NOSYSTEM: '1',
};

export async function makeDoctorFixture(
  options: { git?: boolean; vault?: boolean; project?: string } = {},
): Promise<DoctorFixture> {
  const base = mkdtempSync(join(tmpdir(), 'coffer-doctor-'));
  const root = join(base, 'project');
  const home = join(base, 'home');
  mkdirSync(root);
  mkdirSync(home);
  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: root,
      env: { ...process.env, ...GIT_ENV, HOME: home },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  if (options.git !== false) {
    git('init', '-q', '-b', 'main');
    git('config', 'core.hooksPath', '.git/hooks');
  }
  const tv = options.vault ? await makeTestVault('cli:doctor-test') : undefined;
  const f: DoctorFixture = {
    root,
    home,
    vault: tv?.vault,
    vaultFiles: tv ? [tv.file] : [],
    write(file, text, mode = 0o644) {
      const p = join(root, file);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, text);
      chmodSync(p, mode);
    },
    remove(file) {
      rmSync(join(root, file), { force: true, recursive: true });
    },
    git,
    commit(message = 'change') {
      git('add', '-A');
      git('commit', '-q', '--allow-empty', '-m', message);
    },
    async check(id, o = {}) {
      const check = CHECKS.find((c) => c.id === id);
      if (check === undefined) throw new Error(`no check ${id}`);
      const ctx = new DoctorContext({
        root,
        home,
        env: { HOME: home },
        project: o.project ?? options.project,
        envs: o.envs ?? [],
        history: o.history === true,
        now: o.now,
        vaultFiles: f.vaultFiles,
        hookCommand: ['coffer'],
        openVault: async () => f.vault,
      });
      try {
        return (await runDoctor(ctx, [check])).checks[0]!;
      } finally {
        await ctx.close();
      }
    },
    async fix(outcome) {
      let n = 0;
      for (const fix of outcome.fixes) {
        if (fix.apply === undefined) continue;
        await fix.apply();
        n++;
      }
      return n;
    },
    async cleanup() {
      if (tv) {
        tv.vault.close();
        await tv.storage.close();
        rmSync(tv.dir, { recursive: true, force: true });
      }
      rmSync(base, { recursive: true, force: true });
    },
  };
  return f;
}
