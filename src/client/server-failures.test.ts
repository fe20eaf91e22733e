/**
 * A failure of the server itself, seen through coffer/client: the server's store reports
 * damage (STORE_CORRUPT), and the caller gets the code and the server's fixed text, but no
 * hint: the catalogue's "Restore the vault file from a backup" is advice for the server's
 * operator, not for a remote caller. A refusal of the caller's own request keeps its hint.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Kit, makeKit, seed } from '../../test/helpers/server-kit.js';
import { CofferError, defaultHint, ERROR_CODES, SERVER_SIDE_CODES } from '../core/errors.js';
import { type CofferClient, createClient } from './client.js';
import type { FetchFunction } from './transport.js';

let kit: Kit;
let client: CofferClient;
/** Set to make every transaction of the server's store fail with this error. */
let failWith: CofferError | undefined;

beforeAll(async () => {
  kit = await makeKit();
  await seed(kit, 'project/app/db_url', 'postgres://app:pw-Srv-Fail@db/app');
  const storage = kit.storage;
  const transaction = storage.transaction.bind(storage);
  storage.transaction = ((mode, fn) => {
    if (failWith !== undefined) throw failWith;
    return transaction(mode, fn);
  }) as typeof storage.transaction;
  // The client talks to the in-process app: the server's own error answers, unchanged.
  const fetch: FetchFunction = async (url, init) =>
    kit.app.request(url, init, { incoming: { socket: { remoteAddress: '127.0.0.1' } } });
  client = createClient({ url: 'http://127.0.0.1:8700', token: kit.tokens.admin, fetch });
});

afterAll(async () => {
  failWith = undefined;
  await kit.dispose();
});

async function failure(p: Promise<unknown>): Promise<CofferError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CofferError);
  return err as CofferError;
}

describe("a failure of the server's own store, through the client", () => {
  it('STORE_CORRUPT on the server: the code, no hint, nothing of the server path', async () => {
    expect(defaultHint('STORE_CORRUPT')).toBe('Restore the vault file from a backup.');
    failWith = new CofferError('STORE_CORRUPT', 'the vault file /srv/coffer/vault.db is damaged');
    try {
      const err = await failure(client.getSecret('project/app/db_url', { env: 'dev' }));
      expect(err.code).toBe('STORE_CORRUPT');
      expect(err.hint).toBeUndefined();
      expect(err.message).not.toContain('/srv/coffer');
      expect(err.message).toContain('the server log has the request id');
    } finally {
      failWith = undefined;
    }
  });

  it('every server-side code: no hint, though each may have one in the catalogue', async () => {
    for (const code of SERVER_SIDE_CODES) {
      failWith = new CofferError(code, 'cannot use /srv/coffer/vault.db (EIO)');
      try {
        const err = await failure(client.listSecrets({ env: 'dev' }));
        expect([code, err.code, err.hint]).toEqual([code, code, undefined]);
      } finally {
        failWith = undefined;
      }
    }
  });

  it("the server's operator advice never reaches the caller: integrity, audit chain, master key", async () => {
    const cases = [
      new CofferError(
        'INTEGRITY_FAILURE',
        'the row secrets:project/app/db_url of /srv/coffer/vault.db failed its MAC check',
      ),
      new CofferError(
        'AUDIT_CHAIN_BROKEN',
        'the audit log of /srv/coffer/vault.db was changed outside coffer: record 41 edited; nothing was done',
      ),
      new CofferError('MASTER_KEY_MISSING', 'the key file /srv/coffer/master.key does not exist', {
        hint: 'Restore /srv/coffer/master.key from your backup, or set COFFER_MASTER_KEY.',
      }),
    ];
    for (const local of cases) {
      // Locally the same error keeps its full message and the operator's advice.
      expect(local.hint, local.code).toBeTruthy();
      failWith = local;
      try {
        for (const call of [
          () => client.getSecret('project/app/db_url', { env: 'dev' }),
          () => client.listSecrets({ env: 'dev' }),
        ]) {
          const err = await failure(call());
          expect(err.code).toBe(local.code);
          expect(err.hint, local.code).toBeUndefined();
          // That the server cannot serve and its operator must act; not how.
          expect(err.message).toContain('operator');
          expect(err.message).toContain('the server log has the request id');
          for (const leak of ['/srv/coffer', 'backup', 'acknowledge', 'COFFER_MASTER_KEY', 'MAC']) {
            expect(err.message, `${local.code}: ${leak}`).not.toContain(leak);
          }
        }
      } finally {
        failWith = undefined;
      }
    }
  });

  it('every code whose catalogue hint advises the operator is a server-side code', () => {
    // Advice about the vault's own files, keys and log (a backup is the caller's input in
    // BACKUP_INVALID, `coffer backup verify`: not this).
    const operatorAdvice =
      /(from|with) a backup|acknowledge|COFFER_MASTER_KEY|upgrade coffer|coffer init|Install the/i;
    const advising = ERROR_CODES.filter((c) => operatorAdvice.test(defaultHint(c) ?? ''));
    expect(advising.length).toBeGreaterThan(0);
    for (const code of advising) expect(SERVER_SIDE_CODES, code).toContain(code);
  });

  it("a refusal of the caller's own request still carries its hint", async () => {
    const err = await failure(client.getSecret('project/app/missing', { env: 'dev' }));
    expect(err.code).toBe('SECRET_NOT_FOUND');
    expect(err.hint).toBe(defaultHint('SECRET_NOT_FOUND'));
  });
});
