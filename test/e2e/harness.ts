/**
 * Spawns the built `coffer` binary (dist/cli.cjs) in a temp home with a scrubbed
 * environment, as a user would run it. `npm test` builds dist/ first.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll } from 'vitest';

export const BIN: string = resolve(
  import.meta.dirname ?? new URL('.', import.meta.url).pathname,
  '../../dist/cli.cjs',
);

if (!existsSync(BIN)) {
  throw new Error(
    `${BIN} is missing: run \`npm run build\` (npm test does it) before the e2e tests`,
  );
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string | Buffer;
  env?: Record<string, string | undefined>;
  /** Working directory (default: the test process's). */
  cwd?: string;
}

/** Temp homes made by this test file; removed when the file's tests are done. */
const homes: string[] = [];
afterAll(() => {
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

/** A temp COFFER_HOME and a runner bound to it (removed after the test file). */
export function makeHome(): {
  home: string;
  env: Record<string, string>;
  run(args: string[], o?: RunOptions): RunResult;
} {
  const home = mkdtempSync(join(tmpdir(), 'coffer-e2e-'));
  homes.push(home);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    COFFER_HOME: join(home, '.coffer'),
    LANG: 'C.UTF-8',
  };
  return {
    home,
    env,
    run: (args, o = {}) => runCoffer(args, { ...o, env: { ...env, ...o.env } }),
  };
}

export function runCoffer(args: string[], o: RunOptions = {}): RunResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    input: o.input ?? '',
    env: cleanEnv(o.env),
    ...(o.cwd !== undefined ? { cwd: o.cwd } : {}),
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.error) throw r.error;
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

function cleanEnv(env: Record<string, string | undefined> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

/** Starts the binary without waiting (for concurrency and crash tests). */
export function spawnCoffer(args: string[], o: RunOptions = {}): ChildProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: cleanEnv(o.env),
    ...(o.cwd !== undefined ? { cwd: o.cwd } : {}),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin?.end(o.input ?? '');
  return child;
}

/** Collects a spawned child's output and exit. */
export function finished(child: ChildProcess): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
  });
}

export const STRIPE_DESCRIPTION = 'Stripe API key for payment processing';
