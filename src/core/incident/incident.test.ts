import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeTestVault } from '../../../test/helpers/vault.js';
import { recordFileWrite, valuePlaces } from '../rotation/places.js';
import { rotateSecret } from '../rotation/rotate.js';
import { rotationStatus } from '../rotation/status.js';
import { addIncidentStep, closeIncident, listIncidents, openIncident } from './incident.js';
import { incidentReport } from './report.js';

const PATH = 'project/agents/openai_api_key';

/** A value coffer stores: no NUL, no lone surrogate, not blank. */
const usable = (s: string): boolean =>
  !s.includes(String.fromCharCode(0)) && !/[\uD800-\uDFFF]/u.test(s) && s.trim().length >= 6;

/** A secret read by two actors and written into two .env files, then an incident on it. */
async function scenario(value: string, next: string) {
  const tv = await makeTestVault('cli:alice');
  const { vault } = tv;
  await vault.set(PATH, 'prod', value, {
    description: 'LLM access for the support assistant summaries',
    allowEmpty: true,
  });
  await vault.withActor('token:deploy@10.0.0.7').get(PATH, 'prod');
  await vault.withActor('mcp:claude-code/1.0').get(PATH, 'prod');
  for (const file of ['/srv/web/.env', '/srv/worker/.env'])
    await recordFileWrite(
      vault,
      file,
      [{ path: PATH, env: 'prod', version: 1, name: 'OPENAI_API_KEY' }],
      'env pull',
    );
  const opened = await openIncident(vault, {
    path: PATH,
    env: 'prod',
    where: 'pasted in a public issue',
  });
  const again = await openIncident(vault, { path: PATH, env: 'prod' });
  expect(again).toMatchObject({ resumed: true, incident: { id: opened.incident.id } });
  const status = await rotationStatus(vault, { env: 'prod' });
  expect(status.items[0]!.state).toBe('compromised');
  // The rotation is recorded as the open incident's `rotated` step.
  await rotateSecret(vault, { path: PATH, env: 'prod', graceMs: 0, value: next });
  expect((await rotationStatus(vault, { env: 'prod' })).items[0]!.state).not.toBe('compromised');
  const places = await valuePlaces(vault, PATH, 'prod');
  const record = await addIncidentStep(vault, opened.incident.id, 'listed places', '2 files');
  const report = incidentReport(record, places, [
    { item: 'pre-commit hook', ok: false, detail: 'run coffer hook install' },
  ]);
  const audit = JSON.stringify(await tv.storage.transaction('read', (tx) => tx.listAudit({})));
  return { tv, report, record, audit };
}

describe('coffer incident (core)', () => {
  it('names both actors, both files and every step with its time; close is recorded', async () => {
    const { tv, report, record } = await scenario('sk-old-leaked-123', 'sk-new-456');
    expect(report).toContain('token:deploy@10.0.0.7');
    expect(report).toContain('mcp:claude-code/1.0');
    expect(report).toContain('/srv/web/.env');
    expect(report).toContain('/srv/worker/.env');
    for (const s of record.steps) expect(report).toContain(`| ${s.at} | ${s.step} |`);
    expect(record.steps.map((s) => s.step)).toEqual([
      'marked compromised',
      'rotated',
      'listed places',
    ]);
    const closed = await closeIncident(tv.vault, record.id);
    expect(closed.closedAt).not.toBeNull();
    expect((await listIncidents(tv.vault))[0]!.closedAt).toBe(closed.closedAt);
    tv.vault.close();
    await tv.storage.close();
  });

  it('the report and the audit log never hold a value (property, random values)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 6, maxLength: 40 }).filter((s) => usable(s)),
        fc.string({ minLength: 6, maxLength: 40 }).filter((s) => usable(s)),
        async (oldValue, newValue) => {
          fc.pre(oldValue !== newValue);
          const { tv, report, audit } = await scenario(oldValue, newValue);
          try {
            for (const v of [oldValue, newValue]) {
              expect(report).not.toContain(v);
              expect(audit).not.toContain(JSON.stringify(v).slice(1, -1));
            }
          } finally {
            tv.vault.close();
            await tv.storage.close();
          }
        },
      ),
      { numRuns: 12 },
    );
  }, 120_000);

  it('where, quoting the value (any stored version, any encoded form) or a provider key, keeps neither (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 8, maxLength: 40 }).filter(usable),
        fc.string({ minLength: 8, maxLength: 40 }).filter(usable),
        async (old, current) => {
          fc.pre(!old.includes(current) && !current.includes(old));
          const stripe = `sk_live_${'4eC39HqLyjWDarjtT1zdp7dc'}`;
          const where = `CI log printed OPENAI_API_KEY=${current} and ${encodeURIComponent(old)}, ${Buffer.from(current).toString('base64')}; also ${stripe}`;
          fc.pre(where.length <= 500);
          const tv = await makeTestVault('mcp:agent/1');
          const { vault } = tv;
          const description = 'LLM access for the support assistant summaries';
          await vault.set(PATH, 'prod', old, { description });
          await vault.set(PATH, 'prod', current, { description });
          const opened = await openIncident(vault, {
            path: PATH,
            env: 'prod',
            where: where.slice(0, 500),
          });
          const kept = opened.incident.where;
          expect(kept).toContain('CI log printed OPENAI_API_KEY=');
          expect(kept).toContain('[REDACTED]');
          const listed = JSON.stringify(await listIncidents(vault));
          const report = incidentReport(
            opened.incident,
            await valuePlaces(vault, PATH, 'prod'),
            [],
          );
          for (const text of [kept, listed, report]) {
            for (const v of [current, old, stripe]) expect(text).not.toContain(v);
          }
          vault.close();
          await tv.storage.close();
        },
      ),
      { numRuns: 15 },
    );
  });
});
