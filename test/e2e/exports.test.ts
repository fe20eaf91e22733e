/**
 * The package's public entry points, imported from the built dist/ as an application would.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
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
});
