/**
 * The connectors tutorial (examples/connectors/README.md) as its reader runs it: its code
 * blocks, copied from the file by name (```sh connectors-key, ```sh connectors-rotate), run
 * with bash against the built coffer, on a database of accounts the example's service wrote.
 * The key list is made, rotated to k2, the rows rewrapped, and the list ends with k2 only;
 * no key passes through the shell, the command line or the output.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { keyringFromEnv } from 'coffer/envelope';
import { describe, expect, it } from 'vitest';
import {
  ConnectorsService,
  migrate,
  type Tokens,
} from '../../examples/connectors/connectors-service.js';
import { BIN, makeHome } from './harness.js';

const TUTORIAL = readFileSync(
  resolve(import.meta.dirname, '../../examples/connectors/README.md'),
  'utf8',
);

/** The tutorial's code block named `name`; exactly one. */
function block(name: string): string {
  const found = [...TUTORIAL.matchAll(/^```(\w+) ([\w-]+)\n([\s\S]*?)^```$/gm)].filter(
    (m) => m[2] === name,
  );
  expect(found, `block ${name}`).toHaveLength(1);
  return found[0]![3]!;
}

describe('examples/connectors tutorial', () => {
  it('makes the key list, rotates it to k2 while rows are rewrapped, and ends on k2 only', () => {
    const h = makeHome();
    expect(h.run(['init']).code).toBe(0);
    const bin = join(h.home, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'coffer'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
    chmodSync(join(bin, 'coffer'), 0o755);
    const work = join(h.home, 'connectors');
    mkdirSync(work);
    const env = { ...h.env, PATH: `${bin}:${h.env.PATH}` };
    const sh = (script: string) => {
      const r = spawnSync('bash', ['-c', `set -euo pipefail\n${script}`], {
        cwd: work,
        env,
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(r.status, `${script}\n--- stderr\n${r.stderr}`).toBe(0);
      return r;
    };
    const keys = () =>
      h.run(['get', 'project/connectors/coffer_data_keys', '--env', 'prod']).stdout.trim();

    const made = sh(block('connectors-key'));
    const k1 = keys();
    expect(k1).toMatch(/^k1:[A-Za-z0-9+/]{43}=$/);
    expect(made.stdout + made.stderr).not.toContain(k1.slice(3));

    // The service writes accounts under k1.
    const db = new Database(join(work, 'connectors.db'));
    migrate(db);
    const service = new ConnectorsService(db, keyringFromEnv({ COFFER_DATA_KEYS: k1 }));
    const tokens = new Map<number, Tokens>();
    for (let i = 0; i < 30; i++) {
      const t: Tokens = {
        access_token: `gho_${i}_token`,
        refresh_token: `ghr_${i}`,
        token_type: 'bearer',
        expires_in: 28800,
        scope: 'repo',
      };
      tokens.set(service.createAccount(`user-${i}`, 'github', t), t);
    }
    db.close();

    const rotated = sh(block('connectors-rotate'));
    const k2 = keys();
    expect(k2).toMatch(/^k2:[A-Za-z0-9+/]{43}=$/);
    expect(rotated.stderr + rotated.stdout).toMatch(/re-wrapped 30 rows to key k2/);
    for (const k of [k1, k2]) expect(rotated.stdout + rotated.stderr).not.toContain(k.slice(3));

    // Every row opens with k2 alone.
    const after = new Database(join(work, 'connectors.db'));
    const reader = new ConnectorsService(after, keyringFromEnv({ COFFER_DATA_KEYS: k2 }));
    for (const [id, t] of tokens) expect(reader.getAccountTokens(id)).toEqual(t);
    after.close();
  }, 180_000);
});
