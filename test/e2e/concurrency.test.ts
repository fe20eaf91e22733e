/**
 * Many `coffer set` processes on one path at once: SQLite's write lock must serialise them
 * so that every acknowledged write is a distinct, readable version, and check-and-set lets
 * exactly one racer win.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initVault } from '../../src/core/index.js';
import { openSqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';
import { populateVault } from '../helpers/vault.js';
import { finished, makeHome, STRIPE_DESCRIPTION, spawnCoffer } from './harness.js';

const PATH = 'project/consilio/stripe_api_key';
const RACERS = 20;

describe('concurrent coffer set processes', () => {
  it(`${RACERS} writers: every acknowledged write is a distinct, readable version`, async () => {
    const h = makeHome();
    expect(h.run(['init']).code).toBe(0);
    expect(h.run(['set', PATH, '-d', STRIPE_DESCRIPTION], { input: 'initial-value' }).code).toBe(0);
    const values = Array.from(
      { length: RACERS },
      (_, i) => `racer-${i}-${Math.random().toString(36).slice(2)}`,
    );
    const results = await Promise.all(
      values.map((v) => finished(spawnCoffer(['set', PATH, '--json'], { input: v, env: h.env }))),
    );
    const acked = results.map((r, i) => ({ r, value: values[i]! })).filter(({ r }) => r.code === 0);
    // With a 30 s busy timeout nobody should fail; if one did, it must say why.
    for (const { stderr, code } of results) if (code !== 0) expect(stderr).toMatch(/coffer: error/);
    expect(acked.length).toBe(RACERS);
    const versions = acked.map(({ r }) => JSON.parse(r.stdout).version as number);
    expect(new Set(versions).size).toBe(acked.length);
    expect(Math.min(...versions)).toBe(2);
    expect(Math.max(...versions)).toBe(RACERS + 1);
    for (const { r, value } of acked) {
      const version = JSON.parse(r.stdout).version as number;
      expect(h.run(['get', PATH, '--version', String(version)]).stdout).toBe(`${value}\n`);
    }
    expect(h.run(['verify', '--all']).code).toBe(0);
    expect(h.run(['audit', 'verify']).code).toBe(0);
  });

  it(`${RACERS} writers with --if-version: exactly one wins, the rest exit 5`, async () => {
    const h = makeHome();
    expect(h.run(['init']).code).toBe(0);
    expect(h.run(['set', PATH, '-d', STRIPE_DESCRIPTION], { input: 'v1' }).code).toBe(0);
    const values = Array.from({ length: RACERS }, (_, i) => `cas-racer-${i}`);
    const results = await Promise.all(
      values.map((v) =>
        finished(spawnCoffer(['set', PATH, '--if-version', '1'], { input: v, env: h.env })),
      ),
    );
    const winners = results.map((r, i) => ({ r, v: values[i]! })).filter(({ r }) => r.code === 0);
    expect(winners).toHaveLength(1);
    expect(results.filter((r) => r.code === 5)).toHaveLength(RACERS - 1);
    expect(h.run(['get', PATH]).stdout).toBe(`${winners[0]!.v}\n`);
    expect(JSON.parse(h.run(['history', PATH, '--json']).stdout).current).toBe(2);
    expect(h.run(['audit', 'verify']).code).toBe(0);
  });
});

describe('key rotation is online', () => {
  it('sets and gets succeed while a rotation is running', async () => {
    const h = makeHome();
    const masterKey = randomBytes(32);
    const env = { ...h.env, COFFER_MASTER_KEY: masterKey.toString('base64') };
    const file = join(h.env.COFFER_HOME!, 'vault.db');
    const storage = openSqliteStorage(file, { create: true });
    await initVault(storage, { masterKey, keySource: 'key', actor: 'test' });
    await storage.close();
    const sample = await populateVault(file, masterKey, 20_000, 5000);

    const rotation = spawnCoffer(['key', 'rotate', '--batch-size', '100', '--json'], { env });
    let rotationDone = false;
    const rotated = finished(rotation).then((r) => {
      rotationDone = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 150));
    const during: boolean[] = [];
    for (let i = 0; i < 3; i++) {
      const set = await finished(
        spawnCoffer(['set', PATH, '-d', STRIPE_DESCRIPTION], { input: `during-${i}`, env }),
      );
      expect(set.code, set.stderr).toBe(0);
      const [p, v] = [...sample][i]!;
      const get = await finished(spawnCoffer(['get', p], { env }));
      expect(get.stdout).toBe(`${v}\n`);
      during.push(!rotationDone);
    }
    const r = await rotated;
    expect(r.code, r.stderr).toBe(0);
    // At least the first write landed before the rotation finished.
    expect(during[0]).toBe(true);
    expect(JSON.parse(r.stdout)).toMatchObject({ newKey: 'k2', retired: ['k1'] });
    const status = JSON.parse(h.run(['key', 'status', '--json'], { env }).stdout);
    expect(status.keys.find((k: { id: string }) => k.id === 'k2').wrappedKeys).toBe(20_003);
    expect(h.run(['get', PATH], { env }).stdout).toBe('during-2\n');
  });
});
