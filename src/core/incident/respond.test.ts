import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTestVault } from '../../../test/helpers/vault.js';
import { acknowledgeAuditBreak } from '../audit/acknowledge.js';
import { CofferError } from '../errors.js';
import { recordFileWrite } from '../rotation/places.js';
import { listIncidents } from './incident.js';
import { type IncidentResponseOptions, respondToIncident } from './respond.js';

const PATH = 'project/agents/openai_api_key';
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function setup() {
  const tv = await makeTestVault('cli:alice');
  await tv.vault.set(PATH, 'prod', 'sk-leaked-value-0001', {
    description: 'LLM access for the support assistant',
  });
  const dir = mkdtempSync(join(tmpdir(), 'coffer-incident-'));
  dirs.push(dir);
  const asked: string[] = [];
  const options = (extra: Partial<IncidentResponseOptions> = {}): IncidentResponseOptions => ({
    path: PATH,
    env: 'prod',
    where: 'pasted in a public issue',
    sinceMs: 30 * 86_400_000,
    graceMs: 0,
    generator: null,
    previousName: null,
    dir,
    newValue: async () => {
      asked.push('value');
      return `sk-new-value-000${asked.length}`;
    },
    ...extra,
  });
  return { ...tv, dir, asked, options };
}

describe('respondToIncident', () => {
  it('rotates once, records every step, and a second run resumes without rotating again', async () => {
    const { vault, dir, asked, options } = await setup();
    const report = join(dir, 'incident.md');
    const first = await respondToIncident(
      vault,
      options({ report: { file: report, force: false } }),
    );
    expect(first.resumed).toBe(false);
    expect(first.rotated).toMatchObject({ previousVersion: 1, version: 2 });
    expect(first.incident.steps.map((s) => s.step)).toEqual([
      'marked compromised',
      'rotated',
      'listed places',
      'checked prevention',
      'report written',
    ]);
    expect(asked).toEqual(['value']);
    const text = readFileSync(report, 'utf8');
    expect(text).toContain(first.incident.id);
    expect(text).not.toContain('sk-leaked-value-0001');
    expect(text).not.toContain('sk-new-value-0001');
    expect(statSync(report).mode & 0o777).toBe(0o600);
    // Its own report is rewritten on a resumed run; nothing is rotated or asked again.
    const second = await respondToIncident(
      vault,
      options({ report: { file: report, force: false } }),
    );
    expect(second.resumed).toBe(true);
    expect(second.rotated).toBeUndefined();
    expect(asked).toEqual(['value']);
    expect(second.incident.steps).toHaveLength(5);
    expect((await vault.get(PATH, 'prod')).version).toBe(2);
  });

  it('lists no place an edited audit record names, and says which records it left out', async () => {
    const { vault, storage, dir, options } = await setup();
    await recordFileWrite(
      vault,
      '/srv/support/.env',
      [{ path: PATH, env: 'prod', version: 1, name: 'OPENAI_API_KEY' }],
      'env pull',
    );
    // Record 2 (the set) edited in place, its hash kept: a write into a file of their choosing.
    storage.database
      .prepare("UPDATE audit SET action = 'file_write', outcome = 'ok', detail = ? WHERE seq = 2")
      .run(
        JSON.stringify({
          file: '/srv/public/.env.example',
          name: 'OPENAI_API_KEY',
          via: 'env pull',
        }),
      );
    const report = join(dir, 'incident.md');
    const first = await respondToIncident(
      vault,
      options({ report: { file: report, force: false } }),
    );
    expect(first.places).toMatchObject({ files: [], programs: [], reads: [] });
    expect(first.places.trust).toMatchObject({ verified: false });
    // Not listed is not done: the step waits for a log that verifies.
    expect(first.incident.steps.map((s) => s.step)).not.toContain('listed places');
    expect(readFileSync(report, 'utf8')).toContain(
      'Not in these lists: no audit record was used: the audit log does not verify (record 2 was changed',
    );
    await acknowledgeAuditBreak(vault, 'record 2 edited, checked');
    const second = await respondToIncident(vault, options());
    expect(second.places.files.map((f) => f.file)).toEqual(['/srv/support/.env']);
    expect(second.places.trust.notUsed).toMatch(
      /^1 audit record of project\/agents\/openai_api_key \(prod\) was not used \(among records 1 to 2\)/,
    );
    expect(second.incident.steps.map((s) => s.step)).toContain('listed places');
  });

  it('refuses a report file it did not write before opening an incident, unless forced', async () => {
    const { vault, dir, options } = await setup();
    const report = join(dir, 'notes.md');
    writeFileSync(report, 'my own notes\n');
    const err = await respondToIncident(
      vault,
      options({ report: { file: report, force: false } }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CofferError);
    expect((err as CofferError).code).toBe('ALREADY_EXISTS');
    expect(readFileSync(report, 'utf8')).toBe('my own notes\n');
    // Nothing was recorded and nothing rotated.
    expect(await listIncidents(vault)).toEqual([]);
    expect((await vault.get(PATH, 'prod')).version).toBe(1);
    const forced = await respondToIncident(
      vault,
      options({ report: { file: report, force: true } }),
    );
    expect(forced.reportFile).toBe(report);
    expect(readFileSync(report, 'utf8')).toContain(forced.incident.id);
  });

  it('leaves the incident open and unrotated when an external secret gets no new value', async () => {
    const { vault, dir, options } = await setup();
    const report = join(dir, 'incident.md');
    const err = await respondToIncident(
      vault,
      options({ report: { file: report, force: false }, newValue: async () => undefined }),
    ).catch((e: unknown) => e);
    expect((err as CofferError).code).toBe('ROTATION_VALUE_REQUIRED');
    const [open] = await listIncidents(vault);
    expect(open?.closedAt).toBeNull();
    expect(open?.steps.map((s) => s.step)).toEqual(['marked compromised']);
    expect(existsSync(report)).toBe(false);
    // The next run resumes it and rotates.
    const r = await respondToIncident(vault, options());
    expect(r).toMatchObject({ resumed: true, rotated: { version: 2 } });
  });

  it('rotates a generated secret without asking for a value', async () => {
    const { vault, asked, options } = await setup();
    const r = await respondToIncident(vault, options({ generator: 'hex:32' }));
    expect(r.rotated?.kind).toBe('generated');
    expect(asked).toEqual([]);
    expect((await vault.get(PATH, 'prod')).value).toMatch(/^[0-9a-f]{64}$/);
  });

  it('an unknown incident id is not found (exit 3), not a usage error', async () => {
    const { vault } = await setup();
    const { closeIncident } = await import('./incident.js');
    const err = await closeIncident(vault, 'inc-20260101-a1b2c3').catch((e: unknown) => e);
    expect((err as CofferError).code).toBe('INCIDENT_NOT_FOUND');
    const { errorClassOf } = await import('../errors.js');
    expect(errorClassOf((err as CofferError).code)).toBe('not_found');
  });

  it('a rotation by hand with a grace window after the leak is finished, not repeated', async () => {
    const { vault, asked, options } = await setup();
    const { openIncident } = await import('./incident.js');
    const { rotateSecret } = await import('../rotation/rotate.js');
    const { graceValues } = await import('../rotation/grace.js');
    await openIncident(vault, { path: PATH, env: 'prod', where: 'a log' });
    await rotateSecret(vault, {
      path: PATH,
      env: 'prod',
      graceMs: 7 * 86_400_000,
      value: 'sk-by-hand-0002',
      previousName: 'OPENAI_API_KEY_OLD',
    });
    // Still injected: the incident is not done with it.
    expect((await graceValues(vault, 'agents', 'prod')).map((g) => g.version)).toEqual([1]);
    const r = await respondToIncident(vault, options());
    expect(r.rotated).toBeUndefined();
    expect(asked).toEqual([]);
    expect(r.incident.steps.find((s) => s.step === 'rotated')?.detail).toContain(
      'version 1 retired',
    );
    expect(await graceValues(vault, 'agents', 'prod')).toEqual([]);
    expect((await vault.get(PATH, 'prod')).value).toBe('sk-by-hand-0002');
  });

  it("a hand rotation with a grace window, finished by hand, is the incident's rotation", async () => {
    const { vault, asked, options } = await setup();
    const { openIncident } = await import('./incident.js');
    const { rotateSecret, finishRotation } = await import('../rotation/rotate.js');
    await openIncident(vault, { path: PATH, env: 'prod', where: 'a log' });
    await rotateSecret(vault, {
      path: PATH,
      env: 'prod',
      graceMs: 86_400_000,
      value: 'sk-hand-0003',
    });
    await finishRotation(vault, { path: PATH, env: 'prod' });
    const r = await respondToIncident(vault, options());
    expect(r.rotated).toBeUndefined();
    expect(asked).toEqual([]);
    expect(r.incident.steps.filter((s) => s.step === 'rotated')).toHaveLength(1);
    expect((await vault.get(PATH, 'prod')).version).toBe(2);
  });
});
