import { afterEach, describe, expect, it } from 'vitest';
import { makeTestVault, type TestVault } from '../../../test/helpers/vault.js';
import { CofferError } from '../errors.js';
import {
  placesFromRecords,
  recordFileWrite,
  runPurpose,
  valuePlaces,
  writtenUnder,
} from './places.js';

let tv: TestVault | undefined;
afterEach(async () => {
  tv?.vault.close();
  await tv?.storage.close();
  tv = undefined;
});

describe('where a value went', () => {
  it('records file writes per secret and finds them, with run targets and readers', async () => {
    tv = await makeTestVault();
    const { vault } = tv;
    await vault.set('project/app/api_key', 'dev', 'value-never-recorded-1', {
      description: 'Charges cards for the checkout service',
    });
    await recordFileWrite(
      vault,
      '/srv/app/.env',
      [{ path: 'project/app/api_key', env: 'dev', version: 1, name: 'API_KEY' }],
      'env pull',
    );
    await vault.readProject('app', 'dev', runPurpose('node'));
    await vault.withActor('token:deploy@10.0.0.5').get('project/app/api_key', 'dev');
    const p = await valuePlaces(vault, 'project/app/api_key', 'dev');
    expect(p.files).toEqual([
      expect.objectContaining({
        file: '/srv/app/.env',
        name: 'API_KEY',
        version: 1,
        via: 'env pull',
      }),
    ]);
    expect(p.programs).toEqual([expect.objectContaining({ command: 'node', version: 1 })]);
    expect(p.reads.map((r) => r.actor)).toEqual(['test:user', 'token:deploy@10.0.0.5']);
    expect(await valuePlaces(vault, 'project/app/api_key', 'prod')).toEqual({
      files: [],
      programs: [],
      reads: [],
      trust: { verified: true },
    });
    const audit = JSON.stringify(await tv.storage.transaction('read', (tx) => tx.listAudit({})));
    expect(audit).not.toContain('value-never-recorded-1');
  });

  it('records a template rendered by inject by its reference, not a variable name', async () => {
    tv = await makeTestVault();
    const { vault } = tv;
    await vault.set('project/app/api_key', 'prod', 'value-never-recorded-2', {
      description: 'Charges cards for the checkout service',
    });
    const secret = { path: 'project/app/api_key', env: 'prod', version: 1 };
    const reference = 'coffer://project/app/api_key?env=prod';
    await recordFileWrite(vault, '/srv/app/config.yaml', [{ ...secret, reference }], 'inject');
    await recordFileWrite(vault, '/srv/app/.env', [{ ...secret, name: 'API_KEY' }], 'env pull');
    const p = await valuePlaces(vault, 'project/app/api_key', 'prod');
    const files = p.files.sort((a, b) => a.file.localeCompare(b.file));
    expect(files).toEqual([
      expect.objectContaining({ file: '/srv/app/.env', name: 'API_KEY', reference: null }),
      expect.objectContaining({ file: '/srv/app/config.yaml', name: null, reference }),
    ]);
    expect(files.map(writtenUnder)).toEqual(['API_KEY', reference]);
    // Exactly one of name and reference, and the reference names this very secret.
    for (const bad of [
      { ...secret },
      { ...secret, name: 'API_KEY', reference },
      { ...secret, reference: 'coffer://project/app/api_key?env=dev' },
      { ...secret, reference: 'coffer://project/app/other_key?env=prod' },
      { ...secret, reference: 'API_KEY' },
    ])
      await expect(recordFileWrite(vault, '/srv/x', [bad], 'inject')).rejects.toThrow(CofferError);
  });

  it('keeps the latest write per file and name, and honours the window', () => {
    const rec = (ts: string, version: number, file = '/a/.env') => ({
      ts,
      actor: 'cli:alice',
      action: 'file_write',
      env: 'dev',
      version,
      outcome: 'ok',
      detail: JSON.stringify({ file, name: 'K', via: 'setup' }),
    });
    const p = placesFromRecords(
      [
        rec('2026-01-02T00:00:00Z', 2),
        rec('2026-01-01T00:00:00Z', 1),
        rec('2026-01-01T00:00:00Z', 1, '/b/.env'),
      ],
      'dev',
    );
    expect(p.files.map((f) => [f.file, f.version])).toEqual([
      ['/a/.env', 2],
      ['/b/.env', 1],
    ]);
    // Two writes of one file in the same millisecond, listed newest first (as the audit is
    // read): the later by sequence number wins.
    const same = placesFromRecords(
      [
        { ...rec('2026-01-03T00:00:00Z', 4), seq: 11 },
        { ...rec('2026-01-03T00:00:00Z', 3), seq: 10 },
      ],
      'dev',
    );
    expect(same.files.map((f) => f.version)).toEqual([4]);
    const since = placesFromRecords(
      [rec('2026-01-01T00:00:00Z', 1)],
      'dev',
      new Date('2026-01-01T12:00:00Z'),
    );
    expect(since.files).toEqual([]);
    expect(runPurpose('node\u0007')).toBe('run: node');
  });
});
