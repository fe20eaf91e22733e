/**
 * Helpers for end-to-end tests of `coffer serve` and the PostgreSQL store: starting the built
 * server on a free port (it prints its URL on stdout once listening), and a throw-away
 * PostgreSQL schema per test file (dropped again afterwards).
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { it } from 'vitest';
import { dropPostgresSchema, throwAwaySchema } from '../helpers/storage-factories.js';
import { finished, type RunResult, spawnCoffer } from './harness.js';

/** The database of the PostgreSQL tests, or undefined: those tests are skipped. */
export const TEST_DATABASE_URL: string | undefined =
  process.env.COFFER_TEST_DATABASE_URL || undefined;

/** Says on stderr and in vitest's list that PostgreSQL tests were skipped, and why. */
export function reportSkipped(what: string): void {
  if (TEST_DATABASE_URL === undefined) {
    console.warn(`SKIPPED ${what}: set COFFER_TEST_DATABASE_URL to run it`);
    it.skip(`${what} (skipped: COFFER_TEST_DATABASE_URL is not set)`, () => {});
  }
}

export interface ThrowAwayDatabase {
  /** COFFER_DATABASE_URL for the schema. */
  url: string;
  schema: string;
  drop(): Promise<void>;
}

/** A fresh schema name in the test database, as a COFFER_DATABASE_URL. */
export function throwAwayDatabase(base: string, prefix = 'coffer_e2e'): ThrowAwayDatabase {
  const schema = throwAwaySchema(prefix);
  const url = new URL(base);
  url.searchParams.set('schema', schema);
  return { url: url.toString(), schema, drop: () => dropPostgresSchema(base, schema) };
}

/** A random master key in the form COFFER_MASTER_KEY takes (base64 of 32 bytes). */
export function randomMasterKey(): string {
  return randomBytes(32).toString('base64');
}

export interface ServeProcess {
  url: string;
  child: ChildProcess;
  /** stderr so far (the JSON log lines). */
  stderr(): string;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<RunResult>;
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<RunResult>;
}

/** Starts `coffer serve --port 0` and waits for the URL it prints once listening. */
export async function startServe(
  env: Record<string, string>,
  args: string[] = [],
): Promise<ServeProcess> {
  const child = spawnCoffer(['serve', '--host', '127.0.0.1', '--port', '0', ...args], { env });
  const done = finished(child);
  let stderr = '';
  child.stderr?.on('data', (d: string) => {
    stderr += d;
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    let settled = false;
    const timer = setTimeout(() => fail('did not print its URL within 30 s'), 30_000);
    const onData = (d: string) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0 && !settled) {
        settled = true;
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve(out.slice(0, nl).trim());
      }
    };
    function fail(why: string) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`coffer serve ${why}; stderr:\n${stderr}`));
    }
    child.stdout?.on('data', onData);
    void done.then((r) => fail(`exited (code ${r.code}, signal ${r.signal}) before listening`));
  });
  return {
    url,
    child,
    stderr: () => stderr,
    stop: () => {
      child.kill('SIGTERM');
      return done;
    },
    kill: () => {
      child.kill('SIGKILL');
      return done;
    },
  };
}
