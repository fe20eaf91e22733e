import { describe, expect, it } from 'vitest';
import { makeTestVault } from '../../../test/helpers/vault.js';
import { planSync, syncedNames, syncRecordDetail } from './plan.js';

/** A sync's audit records, as `coffer sync` writes them: one per variable pushed. */
async function recordSync(
  vault: Awaited<ReturnType<typeof makeTestVault>>['vault'],
  target: string,
  project: string,
  env: string,
  names: string[],
) {
  await vault.auditedTransaction('sync', async () => ({
    result: undefined,
    detail: `to ${target} from project ${project} (${env}): pushed ${names.join(',')}`,
    audit: names.map((name) => ({
      action: 'sync',
      path: `project/${project}/${name.toLowerCase()}`,
      env,
      version: 1,
      outcome: 'ok' as const,
      detail: syncRecordDetail(target, name),
    })),
  }));
}

describe('sync --prune', () => {
  it('removes only what this project synced to this target in this environment', async () => {
    const { vault } = await makeTestVault();
    const gh = 'github acme/web';
    await recordSync(vault, gh, 'api', 'prod', ['STRIPE_KEY']);
    await recordSync(vault, gh, 'web', 'prod', ['OLD_FLAG']);
    await recordSync(vault, gh, 'web', 'dev', ['DEV_ONLY']);
    await recordSync(vault, 'heroku app web', 'web', 'prod', ['HEROKU_ONE']);
    const { names: synced, trust } = await syncedNames(vault, gh, 'web', 'prod');
    expect(trust).toEqual({ verified: true });
    expect([...synced]).toEqual(['OLD_FLAG']);
    const remote = new Map<string, string | undefined>([
      ['STRIPE_KEY', undefined],
      ['OLD_FLAG', undefined],
      ['DEV_ONLY', undefined],
      ['DB_URL', undefined],
    ]);
    const plan = planSync(
      [{ name: 'DB_URL', path: 'project/web/db_url', value: 'x' }],
      remote,
      synced,
    );
    expect(plan.stale).toEqual(['OLD_FLAG']);
    expect(plan.extra).toEqual(['DEV_ONLY', 'OLD_FLAG', 'STRIPE_KEY']);
  });

  it("counts a target's former labels too (gh's 'this repository', another case), and no other", async () => {
    const { vault } = await makeTestVault();
    await recordSync(vault, 'github (this repository)', 'web', 'prod', ['LEGACY']);
    await recordSync(vault, 'github Acme/Web', 'web', 'prod', ['CASED']);
    await recordSync(vault, 'github acme/web', 'web', 'prod', ['NOW']);
    await recordSync(vault, 'github acme/other', 'web', 'prod', ['OTHER_REPO']);
    const labels = ['github acme/web', 'github Acme/Web', 'github (this repository)'];
    expect([...(await syncedNames(vault, labels, 'web', 'prod')).names].sort()).toEqual([
      'CASED',
      'LEGACY',
      'NOW',
    ]);
  });
});
