/**
 * The package's public entry points, imported from the built dist/ as an application would.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const dist = join(import.meta.dirname, '../../dist');

/** The files an entry loads: itself and the chunks it imports, transitively. */
function graph(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  for (const m of readFileSync(file, 'utf8').matchAll(/from\s*["'](\.[^"']+)["']/g))
    graph(join(dirname(file), m[1]!), seen);
  return seen;
}

describe('package exports', () => {
  it('coffer exports the vault API and the SQLite storage', async () => {
    const m = await import('coffer');
    for (const name of [
      'Vault',
      'initVault',
      'openSqliteStorage',
      'rotateKeys',
      'parseKeyPath',
      'parseDotenv',
      'generateSecret',
    ]) {
      expect(typeof (m as Record<string, unknown>)[name], name).toBe('function');
    }
  });

  it('coffer/fernet works alone and loads neither SQLite nor the CLI', async () => {
    const f = await import('coffer/fernet');
    const key = f.generateFernetKey();
    expect(f.fernetDecrypt(key, f.fernetEncrypt(key, 'connector token')).toString()).toBe(
      'connector token',
    );
    const text = [...graph(join(dist, 'fernet.js'))].map((p) => readFileSync(p, 'utf8')).join('\n');
    expect(text).not.toMatch(/better-sqlite3|commander/);
  });

  it('coffer/client works alone and loads neither SQLite nor the CLI', async () => {
    const c = await import('coffer/client');
    const client = c.createClient({
      url: 'http://127.0.0.1:1',
      token: 'coffer_abc_token',
      fetch: async () => ({
        status: 404,
        headers: { get: () => null },
        text: async () => '{"code":"SECRET_NOT_FOUND","message":"no secret","requestId":"r1"}',
      }),
    });
    const err = await client.getSecret('project/app/db_url').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(c.CofferError);
    expect((err as InstanceType<typeof c.CofferError>).code).toBe('SECRET_NOT_FOUND');
    const text = [...graph(join(dist, 'client.js'))].map((p) => readFileSync(p, 'utf8')).join('\n');
    expect(text).not.toMatch(/better-sqlite3|commander/);
  });

  it('coffer/redact works alone and loads neither SQLite nor the CLI', async () => {
    const r = await import('coffer/redact');
    const redactor = r.createRedactor({ values: ['hunter2-pw'], patterns: true });
    expect(redactor.redactString('pw hunter2-pw, url redis://:abc123@cache')).toBe(
      'pw [REDACTED], url redis://:[REDACTED]@cache',
    );
    const masker = r.createStreamMasker(['hunter2-pw']);
    const out = [masker.push(Buffer.from('a hunt')), masker.push(Buffer.from('er2-pw b'))];
    expect(Buffer.concat([...out, masker.end()]).toString()).toBe('a [REDACTED] b');
    expect(typeof r.pinoRedactHooks(redactor).streamWrite).toBe('function');
    const text = [...graph(join(dist, 'redact.js'))].map((p) => readFileSync(p, 'utf8')).join('\n');
    expect(text).not.toMatch(/better-sqlite3|commander/);
  });

  it('coffer/envelope works alone and loads neither SQLite nor the CLI', async () => {
    const e = await import('coffer/envelope');
    const keyring = e.keyringFromEnv({
      COFFER_DATA_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
    });
    const context = e.rowContext('external_accounts', 'access_token', 42);
    const stored = e.encryptJsonBlob({ access_token: 'tok' }, keyring, { context });
    expect(e.envelopeKeyId(stored)).toBe('k1');
    expect(e.decryptJsonBlob(stored, keyring, { context })).toEqual({ access_token: 'tok' });
    const err = (() => {
      try {
        return e.decryptJsonBlob(stored, keyring, { context: 'other' });
      } catch (x) {
        return x;
      }
    })();
    expect(err).toBeInstanceOf(e.CofferError);
    const text = [...graph(join(dist, 'envelope.js'))]
      .map((p) => readFileSync(p, 'utf8'))
      .join('\n');
    expect(text).not.toMatch(/better-sqlite3|commander|from\s*["']pg["']/);
  });

  it("the SQLite storage loads coffer's own better-sqlite3 addon, not through a require the application put on globalThis", () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-exports-'));
    try {
      // An application that defines a global require (resolving from its own directory, which
      // may hold another better-sqlite3) must not decide which addon coffer's driver loads.
      const script = `
const asked = [];
globalThis.require = Object.assign((id) => { asked.push(id); throw new Error('not this one'); }, {
  resolve: (id) => { asked.push(id); return '/elsewhere/node_modules/' + id; },
});
const { openSqliteStorage } = await import(${JSON.stringify(pathToFileURL(join(dist, 'index.js')).href)});
const s = openSqliteStorage(${JSON.stringify(join(dir, 'v.db'))}, { create: true });
await s.close();
console.log(JSON.stringify(asked));
`;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        encoding: 'utf8',
      });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
