/**
 * A value never lands where it is shown in clear: in the description (listed to everyone who
 * may list, agents without reveal too), or as the environment or the name (logs, audit). The
 * usual cause is a value put into the wrong argument, by a person or an agent.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESCRIPTION, makeTestVault, type TestVault } from '../../../test/helpers/vault.js';
import { CofferError } from '../errors.js';

let tv: TestVault;
beforeAll(async () => {
  tv = await makeTestVault();
});
afterAll(async () => {
  tv.vault.close();
  await tv.storage.close();
});

const failure = async (p: Promise<unknown>): Promise<CofferError> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof CofferError)) throw new Error(`expected a CofferError, got ${String(err)}`);
  return err;
};

/** Values a description could quote: printable, no spaces at the ends, at least 6 long. */
const value = fc
  .string({ minLength: 6, maxLength: 40, unit: fc.constantFrom(...'abcdefXYZ0123456789_-+/=.:') })
  .filter((v) => v.trim() === v);

describe('a value is never stored where it is shown', () => {
  it('refuses a description holding the value, on create and on describe; the error quotes neither (property)', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(value, async (v) => {
        const path = `project/shown/key_${n++}`;
        const described = `Stripe key for the checkout service (${v})`;
        const onCreate = await failure(tv.vault.set(path, 'dev', v, { description: described }));
        expect(onCreate.code).toBe('INVALID_DESCRIPTION');
        expect(onCreate.message + (onCreate.hint ?? '')).not.toContain(v);
        await expect(tv.vault.info(path, 'dev')).rejects.toThrow(); // nothing stored
        await tv.vault.set(path, 'dev', v, { description: DESCRIPTION });
        const onDescribe = await failure(
          tv.vault.describe(path, 'dev', { description: described }),
        );
        expect(onDescribe.code).toBe('INVALID_DESCRIPTION');
        expect(onDescribe.message + (onDescribe.hint ?? '')).not.toContain(v);
        expect((await tv.vault.info(path, 'dev')).description).toBe(DESCRIPTION);
      }),
      { numRuns: 25 },
    );
  });

  it('refuses a value that is the environment or the name (an argument mix-up)', async () => {
    const env = await failure(
      tv.vault.set('project/shown/token', 'wv26valwv26val', 'wv26valwv26val', {
        description: DESCRIPTION,
      }),
    );
    expect(env).toMatchObject({ code: 'INVALID_VALUE' });
    expect(env.message).toContain('environment');
    expect(env.message).not.toContain('wv26valwv26val');
    expect((await tv.vault.list({})).some((s) => s.env === 'wv26valwv26val')).toBe(false);
    const name = await failure(
      tv.vault.set('project/shown/hunter2hunter2', 'dev', 'hunter2hunter2', {
        description: DESCRIPTION,
      }),
    );
    expect(name).toMatchObject({ code: 'INVALID_VALUE' });
    // Short values are left alone (too many innocent matches): `dev`, `json`.
    await tv.vault.set('project/shown/mode', 'dev', 'dev', { description: DESCRIPTION });
    await tv.vault.set('project/shown/log_format', 'dev', 'json', {
      description: 'Log format of the API server: json or text',
    });
  });
});
