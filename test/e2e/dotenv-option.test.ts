/**
 * The .env file option of `set` and `generate` is `--dotenv FILE` (`-f FILE`): Node 20 parses
 * `--env-file FILE` anywhere before `--` on its own command line, before coffer starts, and
 * exits 9 ("node: .env: not found") when FILE does not exist yet, which is the first run of
 * `coffer generate CONNECTOR_SECRET_KEY --dotenv .env`. Run through the built binary on the
 * Node that runs the tests.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import dotenv from 'dotenv';
import { describe, expect, it } from 'vitest';
import { makeHome, STRIPE_DESCRIPTION } from './harness.js';

function app() {
  const h = makeHome();
  const dir = join(h.home, 'app');
  mkdirSync(dir);
  return { h, dir, run: (args: string[], input = '') => h.run(args, { cwd: dir, input }) };
}

describe('--dotenv FILE', () => {
  it('generate writes a .env that does not exist yet (the first run), then keeps its value', () => {
    const { dir, run } = app();
    expect(existsSync(join(dir, '.env'))).toBe(false);
    const first = run(['generate', 'CONNECTOR_SECRET_KEY', '--dotenv', '.env']);
    expect(first.stderr).not.toContain('node:');
    expect(first.code, first.stderr).toBe(0);
    const key = dotenv.parse(readFileSync(join(dir, '.env'))).CONNECTOR_SECRET_KEY!;
    expect(Buffer.from(key, 'base64')).toHaveLength(32);
    const again = run(['generate', 'CONNECTOR_SECRET_KEY', '-f', '.env']);
    expect(again.code, again.stderr).toBe(0);
    expect(dotenv.parse(readFileSync(join(dir, '.env'))).CONNECTOR_SECRET_KEY).toBe(key);
  });

  it('set stores first and writes a .env that does not exist yet', () => {
    const { dir, run } = app();
    expect(run(['init']).code).toBe(0);
    const r = run(
      ['set', 'project/consilio/stripe_api_key', '-d', STRIPE_DESCRIPTION, '--dotenv', 'new.env'],
      'sk_live_abc123xyz',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(dotenv.parse(readFileSync(join(dir, 'new.env')))).toEqual({
      STRIPE_API_KEY: 'sk_live_abc123xyz',
    });
    const short = run(['set', 'project/consilio/stripe_api_key', '-f', 'other.env'], 'sk_2');
    expect(short.code, short.stderr).toBe(0);
    expect(dotenv.parse(readFileSync(join(dir, 'other.env'))).STRIPE_API_KEY).toBe('sk_2');
    // A value no .env form carries safely is refused before it is stored.
    const unsafe = run(
      ['set', 'project/consilio/stripe_api_key', '--dotenv', 'other.env'],
      "it's $(touch pwned)",
    );
    expect(unsafe.code).toBe(2);
    expect(unsafe.stderr).toContain('STRIPE_API_KEY');
    expect(unsafe.stderr).not.toContain('pwned');
    const history = run(['history', 'project/consilio/stripe_api_key', '--json']);
    expect(JSON.parse(history.stdout).versions).toHaveLength(2);
    expect(dotenv.parse(readFileSync(join(dir, 'other.env'))).STRIPE_API_KEY).toBe('sk_2');
  });

  it('--env-file, where Node lets it through, is refused with the option to use', () => {
    const { dir, run } = app();
    writeFileSync(join(dir, '.env'), 'OTHER=1\n');
    for (const args of [
      ['generate', 'CONNECTOR_SECRET_KEY', '--env-file', '.env'],
      ['generate', 'CONNECTOR_SECRET_KEY', '--env-file=.env'],
    ]) {
      const r = run(args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('--dotenv');
    }
    expect(readFileSync(join(dir, '.env'), 'utf8')).toBe('OTHER=1\n');
    // After `--` it belongs to the program that `coffer run` starts.
    expect(run(['init']).code).toBe(0);
    const child = run(['run', '-p', 'none', '--', process.execPath, '-e', '0', '--env-file=x']);
    expect(child.stderr).not.toContain('--dotenv');
  });

  it('--help names --dotenv and -f, never --env-file', () => {
    const { run } = app();
    for (const command of ['set', 'generate']) {
      const help = run([command, '--help']).stdout;
      expect(help).toMatch(/-f, --dotenv <path>/);
      expect(help).not.toContain('--env-file');
    }
  });
});
