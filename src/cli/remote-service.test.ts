import { describe, expect, it } from 'vitest';
import { fakeFetch } from '../../test/helpers/fake-fetch.js';
import { openRemoteService } from './remote-service.js';

const TOKEN = 'coffer_id1_q0DPm6bH4vXc1nKz8sY2fLwR9aTeJ5uGhB7iNoVdE3x';

describe('remote mode (COFFER_URL)', () => {
  it('verify without --env checks the default environment', async () => {
    const fetch = fakeFetch(() => ({
      body: { ok: true, checked: 1, failures: [], keyFailures: [] },
    }));
    const backend = openRemoteService(
      { COFFER_URL: 'http://localhost', COFFER_TOKEN: TOKEN },
      fetch,
    );
    const saved = process.env.COFFER_ENV;
    process.env.COFFER_ENV = 'staging';
    try {
      await backend.verify('project/app/db_url', undefined);
    } finally {
      if (saved === undefined) delete process.env.COFFER_ENV;
      else process.env.COFFER_ENV = saved;
    }
    expect(fetch.seen[0]!.url.searchParams.get('env')).toBe('staging');
  });

  it('needs COFFER_TOKEN and refuses clear-text http to another host', () => {
    expect(() => openRemoteService({ COFFER_URL: 'http://127.0.0.1:8700' })).toThrow(
      expect.objectContaining({ code: 'UNAUTHENTICATED' }),
    );
    expect(() => openRemoteService({ COFFER_URL: 'http://10.1.2.3', COFFER_TOKEN: TOKEN })).toThrow(
      /clear text/,
    );
    expect(
      openRemoteService({
        COFFER_URL: 'http://10.1.2.3',
        COFFER_TOKEN: TOKEN,
        COFFER_INSECURE_HTTP: '1',
      }).remote,
    ).toBe(true);
  });
});
