/**
 * `coffer envelope encrypt|decrypt` through the built binary: values on stdin and stdout,
 * keys from the environment or a vault secret, exit codes, the error messages, and
 * no key or value in anything printed on failure.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { makeHome } from './harness.js';

const key = () => randomBytes(32).toString('base64');
const K1 = key();
const K2 = key();
const CTX = ['--context', 'external_accounts/access_token/42'];
const TOKENS = '{"access_token":"ya29.e2e-secret-token","refresh_token":"1//e2e-refresh"}';

describe('coffer envelope encrypt / decrypt', () => {
  it('round-trips a JSON value and a text value; decrypts after a rotation', () => {
    const { run } = makeHome();
    const env = { COFFER_DATA_KEYS: `k1:${K1}` };
    const enc = run(['envelope', 'encrypt', ...CTX], { input: TOKENS, env });
    expect(enc.code).toBe(0);
    expect(enc.stdout).toMatch(/^\{"coffer":1,"kid":"k1",.*\}\n$/);
    expect(enc.stdout).not.toContain('e2e-secret');
    const rotated = { COFFER_DATA_KEYS: `k2:${K2},k1:${K1}` };
    const dec = run(['envelope', 'decrypt', ...CTX, '--json'], { input: enc.stdout, env: rotated });
    expect(dec.code).toBe(0);
    expect(JSON.parse(dec.stdout)).toEqual({
      value: JSON.parse(TOKENS),
      keyId: 'k1',
      plaintext: false,
    });

    const text = run(['envelope', 'encrypt', ...CTX, '--text', '--json'], {
      input: 'plain token\n',
      env: rotated,
    });
    const { envelope, keyId } = JSON.parse(text.stdout) as { envelope: string; keyId: string };
    expect(keyId).toBe('k2');
    const back = run(['envelope', 'decrypt', ...CTX, '--text'], { input: envelope, env: rotated });
    expect(back.stdout).toBe('plain token\n');
  });

  it('a wrong context or a removed key fails with the integrity exit code', () => {
    const { run } = makeHome();
    const env = { COFFER_DATA_KEYS: `k1:${K1}` };
    const enc = run(['envelope', 'encrypt', ...CTX], { input: TOKENS, env });
    const other = run(['envelope', 'decrypt', '--context', 'external_accounts/access_token/43'], {
      input: enc.stdout,
      env,
    });
    expect(other.code).toBe(4);
    expect(other.stderr).toContain('not authentic');
    const gone = run(['envelope', 'decrypt', ...CTX], {
      input: enc.stdout,
      env: { COFFER_DATA_KEYS: `k2:${K2}` },
    });
    expect(gone.code).toBe(4);
    expect(gone.stderr).toContain('no key in the keyring has id k1 (was the key rotated away?)');
    // No key configured at all: say so and how to configure one, not "rotated away".
    const none = run(['envelope', 'decrypt', ...CTX], { input: enc.stdout });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no data key is configured, and this envelope needs the key k1');
    expect(none.stderr).toContain('COFFER_DATA_KEYS="k1:');
    expect(none.stderr).not.toContain('rotated away');
    for (const r of [other, gone, none]) {
      expect(`${r.stdout}${r.stderr}`).not.toMatch(/e2e-secret|e2e-refresh/);
      expect(r.stderr).not.toContain(K1.slice(0, 12));
    }
  });

  it('says what is wrong with the key variables, without showing them', () => {
    const { run } = makeHome();
    const short = run(['envelope', 'encrypt', ...CTX], {
      input: '1',
      env: { CONNECTOR_SECRET_KEY: 'short-secret-15' },
    });
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('coffer: error: Key must be at least 16 characters');
    expect(short.stderr).not.toContain('short-secret-15');
    const wf = run(['envelope', 'encrypt', ...CTX], {
      input: '1',
      env: { WORKFLOWS_ARTIFACT_ENC_KEY: randomBytes(16).toString('base64') },
    });
    expect(wf.stderr).toContain('WORKFLOWS_ARTIFACT_ENC_KEY must be base64 of 32 bytes');
    const none = run(['envelope', 'encrypt', ...CTX, '--json'], { input: '1' });
    expect(none.code).toBe(1);
    expect(JSON.parse(none.stderr).error.code).toBe('DATA_KEY_MISSING');
  });

  it('plaintext only when asked: encryption without a key, and legacy rows', () => {
    const { run } = makeHome();
    const plain = run(['envelope', 'encrypt', ...CTX, '--allow-plaintext'], { input: TOKENS });
    expect(plain.code).toBe(0);
    expect(JSON.parse(plain.stdout)).toEqual(JSON.parse(TOKENS));
    expect(plain.stderr).toContain('coffer: warning:');
    const env = { COFFER_DATA_KEYS: `k1:${K1}` };
    const refused = run(['envelope', 'decrypt', ...CTX], { input: TOKENS, env });
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain('not a coffer envelope');
    const legacy = run(['envelope', 'decrypt', ...CTX, '--allow-plaintext', '--json'], {
      input: TOKENS,
      env,
    });
    expect(JSON.parse(legacy.stdout)).toMatchObject({ plaintext: true, keyId: null });
  });

  it('--keys-from reads the keyring from a vault secret', () => {
    const { run } = makeHome();
    expect(run(['init']).code).toBe(0);
    const set = run(
      [
        'set',
        'project/connectors/data_keys',
        '--env',
        'prod',
        '--description',
        'Data keys that encrypt connector OAuth tokens',
      ],
      { input: `k2:${K2},k1:${K1}` },
    );
    expect(set.code).toBe(0);
    const from = ['--keys-from', 'project/connectors/data_keys', '--env', 'prod'];
    const enc = run(['envelope', 'encrypt', ...CTX, ...from, '--json'], { input: TOKENS });
    expect(JSON.parse(enc.stdout).keyId).toBe('k2');
    const dec = run(['envelope', 'decrypt', ...CTX], {
      input: JSON.parse(enc.stdout).envelope,
      env: { COFFER_DATA_KEYS: `k2:${K2}` },
    });
    expect(JSON.parse(dec.stdout)).toEqual(JSON.parse(TOKENS));
    const audit = run(['audit', '--json']);
    expect(audit.stdout).toContain('project/connectors/data_keys');
  });
});
