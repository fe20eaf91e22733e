import { describe, expect, it } from 'vitest';
import { makeTestVault } from '../../../test/helpers/vault.js';
import { Vault } from './vault.js';

describe('vault formats', () => {
  it('a vault a newer coffer moved on is refused as such on every path, the key given directly too', async () => {
    const t = await makeTestVault();
    t.vault.close();
    t.storage.database.prepare("UPDATE meta SET value = '4' WHERE key = 'format'").run();
    const v = new Vault(t.storage, t.masterKey, { actor: 'test:user' });
    await expect(v.list()).rejects.toMatchObject({ code: 'UNSUPPORTED_FORMAT' });
    await expect(v.get('project/app/x', 'dev')).rejects.toMatchObject({
      code: 'UNSUPPORTED_FORMAT',
      message: expect.stringContaining('format "4"'),
    });
    await t.storage.close();
  });
});
