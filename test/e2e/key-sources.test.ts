/**
 * Master-key sources through the binary: a key file another user owns is refused (by
 * `coffer init`, which would otherwise lock a new vault with a key that user chose, and by
 * every command that opens the vault), and a new passphrase vault's scrypt cost has a floor.
 *
 * Changing a file's owner needs root: the ownership cases run only as root and say so
 * otherwise (src/core/keys/master-key.test.ts covers the rule without root, with a mocked
 * uid).
 */

import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeHome } from './harness.js';

const isRoot = process.getuid?.() === 0;
/** A uid no account on a test machine uses. */
const OTHER_UID = 54_321;
const PASS = 'correct horse battery staple';

describe('a key file owned by another user', () => {
  it.runIf(isRoot)('is not adopted by `coffer init` (a planted key)', () => {
    const h = makeHome();
    const planted = randomBytes(32).toString('base64');
    const keyFile = join(h.env.COFFER_HOME!, 'master.key');
    mkdirSync(h.env.COFFER_HOME!, { mode: 0o700 });
    writeFileSync(keyFile, `${planted}\n`, { mode: 0o600 });
    chownSync(keyFile, OTHER_UID, OTHER_UID);
    const r = h.run(['init']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('owned by another user');
    expect(r.stderr).not.toContain(planted);
    expect(existsSync(join(h.env.COFFER_HOME!, 'vault.db'))).toBe(false);
  });

  it.runIf(isRoot)('is refused by a command that opens the vault', () => {
    const h = makeHome();
    expect(h.run(['init']).code).toBe(0);
    expect(
      h.run(['set', 'project/app/api_key', '-d', 'API key of the app used by the tests'], {
        input: 'v4lue',
      }).code,
    ).toBe(0);
    chownSync(join(h.env.COFFER_HOME!, 'master.key'), OTHER_UID, OTHER_UID);
    const r = h.run(['get', 'project/app/api_key']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('owned by another user');
  });

  it.skipIf(isRoot)(
    'NOT RUN: chown to another uid needs root (run the suite as root to cover it)',
    () => {},
  );
});

describe('the scrypt cost of a new passphrase vault (--kdf-log-n)', () => {
  it('refuses a cost below 2^14 or above 2^22, before creating anything', () => {
    for (const logN of ['10', '13', '23']) {
      const h = makeHome();
      const r = h.run(['init', '--passphrase', '--kdf-log-n', logN], {
        env: { COFFER_PASSPHRASE: PASS },
      });
      expect(r.code, logN).toBe(2);
      expect(r.stderr).toMatch(/14/);
      expect(existsSync(join(h.env.COFFER_HOME!, 'vault.db'))).toBe(false);
    }
  });

  it('accepts 2^14, and the vault opens with the passphrase', () => {
    const h = makeHome();
    const env = { COFFER_PASSPHRASE: PASS };
    const init = h.run(['init', '--passphrase', '--kdf-log-n', '14', '--json'], { env });
    expect(init.code).toBe(0);
    expect(JSON.parse(init.stdout)).toMatchObject({ keySource: 'passphrase' });
    expect(
      h.run(['set', 'project/app/api_key', '-d', 'API key of the app used by the tests'], {
        input: 'v4lue',
        env,
      }).code,
    ).toBe(0);
    expect(h.run(['get', 'project/app/api_key'], { env }).stdout).toBe('v4lue\n');
  });

  it('is a usage error without --passphrase', () => {
    const h = makeHome();
    const r = h.run(['init', '--kdf-log-n', '16']);
    expect(r.code).toBe(2);
    expect(existsSync(join(h.env.COFFER_HOME!, 'master.key'))).toBe(false);
  });
});
