import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESCRIPTION, makeTestVault, type TestVault } from '../../../test/helpers/vault.js';
import { listIncidents } from '../../core/incident/incident.js';
import { localMcpBackend } from '../backend.js';
import { mcpPolicy } from '../policy.js';
import { reportLeakTool } from './report-leak-tool.js';
import type { ToolContext } from './tool.js';

let tv: TestVault;
beforeAll(async () => {
  tv = await makeTestVault();
  await tv.vault.set('project/shop/stripe_key', 'dev', 'sk_test_never_returned_1', {
    description: DESCRIPTION,
  });
});
afterAll(async () => {
  tv.vault.close();
  await tv.storage.close();
});

function ctx(allow: string[] = [], readOnly = false): ToolContext {
  return {
    vault: localMcpBackend(tv.vault, async () => {}).as('mcp:unit/1'),
    policy: mcpPolicy({ allow, envs: [], readOnly, reveal: 'never' }),
    defaultEnv: 'dev',
    cwd: tv.dir,
  };
}

describe('report_leak', () => {
  it('opens an incident (once) and marks the secret compromised; no value returned', async () => {
    const out = (await reportLeakTool.run(
      { keyPath: 'project/shop/stripe_key', where: 'printed in the CI log' },
      ctx(),
    )) as { incident: string; resumed: boolean };
    expect(out.resumed).toBe(false);
    const again = (await reportLeakTool.run(
      { keyPath: 'project/shop/stripe_key', where: 'again' },
      ctx(),
    )) as { incident: string; resumed: boolean };
    expect(again).toMatchObject({ incident: out.incident, resumed: true });
    const [incident] = await listIncidents(tv.vault);
    expect(incident).toMatchObject({ id: out.incident, openedBy: 'mcp:unit/1', closedAt: null });
    expect(JSON.stringify(out)).not.toContain('sk_test');
  });

  it('is refused outside the allow list', async () => {
    await expect(
      reportLeakTool.run(
        { keyPath: 'project/shop/stripe_key', where: 'x' },
        ctx(['project/other/*']),
      ),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });
});
