/**
 * Same value in two environments, by keyed digests computed inside the vault: equal values
 * and only those are reported (property test), each version is read once (a second check
 * reads nothing and writes no audit record), and no value reaches the audit log. The
 * last-read index follows the audit log incrementally.
 */
import { rmSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestVault, type TestVault } from '../../../test/helpers/vault.js';
import { LastReads } from '../audit/last-reads.js';
import { SameValueCheck } from './same-value.js';

let t: TestVault;
const DESC = 'Signs the webhook payloads sent to partners';

beforeAll(async () => {
  t = await makeTestVault();
});
afterAll(async () => {
  t.vault.close();
  await t.storage.close();
  rmSync(t.dir, { recursive: true, force: true });
});

const auditCount = () =>
  t.vault.readTransaction((tx) => tx.listAudit({ limit: 1_000_000 })).then((r) => r.length);

describe('SameValueCheck', () => {
  it('reports exactly the secrets whose two values are equal', async () => {
    const check = new SameValueCheck();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.boolean(),
        async (a, b, equal) => {
          const path = `project/same/k${n++}`;
          const second = equal ? a : b;
          const dev = await t.vault.set(path, 'dev', a, { description: DESC });
          const prod = await t.vault.set(path, 'prod', second, { description: DESC });
          const same = await check.same(t.vault, 'project/same', [
            {
              path,
              a: { path, env: 'dev', version: dev.version },
              b: { path, env: 'prod', version: prod.version },
            },
          ]);
          expect(same.has(path)).toBe(a === second);
        },
      ),
      { numRuns: 25 },
    );
    const records = await t.vault.readTransaction((tx) => tx.listAudit({ limit: 1_000_000 }));
    expect(records.filter((r) => r.action === 'compare').length).toBe(25);
    expect(records.some((r) => r.action === 'get')).toBe(false);
  });

  it('reads each version once; a path outside the scope is refused', async () => {
    const check = new SameValueCheck();
    const path = 'project/once/key';
    await t.vault.set(path, 'dev', 'one-value-Kq', { description: DESC });
    await t.vault.set(path, 'prod', 'one-value-Kq', { description: DESC });
    const pair = {
      path,
      a: { path, env: 'dev', version: 1 },
      b: { path, env: 'prod', version: 1 },
    };
    expect((await check.same(t.vault, 'project/once', [pair])).has(path)).toBe(true);
    const before = await auditCount();
    expect((await check.same(t.vault, 'project/once', [pair])).has(path)).toBe(true);
    expect(await auditCount()).toBe(before);
    await expect(new SameValueCheck().same(t.vault, 'project/elsewhere', [pair])).rejects.toThrow(
      /not under/,
    );
  });
});

describe('LastReads', () => {
  it('keeps the time of the last successful get per path and environment', async () => {
    const reads = new LastReads();
    await t.vault.set('project/reads/a', 'dev', 'value-a-123', { description: DESC });
    await reads.refresh(t.vault);
    expect(reads.get('project/reads/a', 'dev')).toBeUndefined();
    const v = await t.vault.get('project/reads/a', 'dev');
    expect(v.value).toBe('value-a-123');
    await expect(t.vault.get('project/reads/a', 'prod')).rejects.toThrow();
    await Promise.all([reads.refresh(t.vault), reads.refresh(t.vault)]);
    const at = reads.get('project/reads/a', 'dev');
    expect(at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(reads.get('project/reads/a', 'prod')).toBeUndefined();
  });
});
