/**
 * Spawns the built `coffer` binary (dist/cli.cjs) in a temp home with a scrubbed
 * environment, as a user would run it. `npm test` builds dist/ first.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, expect } from 'vitest';

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
  template = undefined;
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
    run: (args, o = {}) =>
      isBareInit(args, o, env)
        ? initFromTemplate(env, o)
        : runCoffer(args, { ...o, env: { ...env, ...o.env } }),
  };
}

/**
 * The vault a bare `coffer init` made in this test file, and what it printed: later bare
 * inits copy it. Most tests start with `init` in a new home and examine what comes after;
 * a copy of the files a real init made (modes kept) answers them for the cost of a file copy
 * instead of a process. Every copy shares that vault's id and key, which no test of one
 * vault can tell. A test of init itself passes options, input or environment, or inits a
 * home that has a vault already, and always runs the binary.
 */
let template: { dir: string; result: RunResult } | undefined;

function isBareInit(args: string[], o: RunOptions, env: Record<string, string>): boolean {
  return (
    args.length === 1 &&
    args[0] === 'init' &&
    o.input === undefined &&
    (o.env === undefined || Object.keys(o.env).length === 0) &&
    !existsSync(env.COFFER_HOME!)
  );
}

function initFromTemplate(env: Record<string, string>, o: RunOptions): RunResult {
  const target = env.COFFER_HOME!;
  if (template === undefined) {
    const result = runCoffer(['init'], { ...o, env });
    if (result.code !== 0) return result;
    const dir = mkdtempSync(join(tmpdir(), 'coffer-e2e-init-'));
    homes.push(dir);
    cpSync(target, join(dir, 'vault'), { recursive: true });
    chmodSync(join(dir, 'vault'), statSync(target).mode & 0o7777);
    const strip = (text: string) => text.split(target).join('\0');
    template = {
      dir: join(dir, 'vault'),
      result: { ...result, stdout: strip(result.stdout), stderr: strip(result.stderr) },
    };
    return result;
  }
  cpSync(template.dir, target, { recursive: true });
  chmodSync(target, statSync(template.dir).mode & 0o7777);
  const put = (text: string) => text.split('\0').join(target);
  return {
    ...template.result,
    stdout: put(template.result.stdout),
    stderr: put(template.result.stderr),
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

/** A record of `coffer audit --json`, with the fields the tests read. */
export interface AuditJsonRecord {
  seq: number;
  actor: string;
  action: string;
  path: string | null;
  env: string | null;
  outcome: string;
  detail: string | null;
}

/** The records of a `coffer audit --json` run, which must have succeeded. */
export function auditRecords(r: RunResult): AuditJsonRecord[] {
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { records: AuditJsonRecord[] }).records;
}
