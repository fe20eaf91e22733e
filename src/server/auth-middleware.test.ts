/**
 * Authentication in front of `/v1`, in process: refusals audited with the token's name and
 * the client address, the per-address failure limit with Retry-After, the token cache.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  auditRecords,
  expectError,
  type Kit,
  makeKit,
  SENTINEL,
  secretOf,
  seed,
  withWrongSecret,
} from './test-kit.js';

const URL = '/v1/secrets/project/app/db_url';
let kit: Kit;
afterEach(async () => {
  await kit.dispose();
});

describe('refusals are audited with the token name and the client address', () => {
  it('names the token (when recognised), the address and the reason', async () => {
    kit = await makeKit();
    await seed(kit, 'project/app/db_url', SENTINEL);
    await seed(kit, 'project/other/db_url', SENTINEL);
    const wrongSecret = withWrongSecret(kit.tokens.read);
    const sends: [string | undefined, string, string][] = [
      [undefined, '203.0.113.7', URL],
      ['garbage', '203.0.113.7', URL],
      [`coffer_0123456789abcdef_${'A'.repeat(43)}`, '203.0.113.8', URL],
      [wrongSecret, '::ffff:203.0.113.9', URL],
      [kit.tokens.expired, '2001:db8::1', URL],
      [kit.tokens.revoked, '198.51.100.2', URL],
      [kit.tokens.list, '198.51.100.3', URL],
      [kit.tokens.app, '198.51.100.4', '/v1/secrets/project/other/db_url'],
      [kit.tokens.devOnly, '198.51.100.5', `${URL}?env=prod`],
    ];
    for (const [token, address, url] of sends) {
      const a = await kit.send('GET', url, { token, address });
      expect(a.status === 401 || a.status === 403).toBe(true);
    }
    const denied = (await auditRecords(kit)).filter((r) => r.outcome === 'denied');
    expect(denied.map((r) => [r.actor, r.action, r.detail])).toEqual([
      ['unauthenticated@203.0.113.7', 'authenticate', 'missing'],
      ['unauthenticated@203.0.113.7', 'authenticate', 'malformed'],
      ['unauthenticated@203.0.113.8', 'authenticate', 'unknown'],
      ['token:reader@203.0.113.9', 'authenticate', 'mismatch'],
      ['token:expired@2001:db8::1', 'authenticate', 'expired'],
      ['token:revoked@198.51.100.2', 'authenticate', 'revoked'],
      ['token:lister@198.51.100.3', 'get', 'capability read not granted'],
      ['token:app@198.51.100.4', 'get', 'path not allowed'],
      ['token:dev-only@198.51.100.5', 'get', 'environment not allowed'],
    ]);
    // the records hold names, never token strings
    const all = JSON.stringify(await auditRecords(kit));
    for (const token of kit.allTokens()) expect(all).not.toContain(secretOf(token));
    expect(all).not.toContain(SENTINEL);
  });

  it('every authentication failure gets the same opaque 401 whatever the reason', async () => {
    kit = await makeKit();
    const messages = new Set<string>();
    for (const token of ['garbage', kit.tokens.expired, kit.tokens.revoked]) {
      const a = await kit.send('GET', URL, { token });
      expectError(a, 401, 'UNAUTHENTICATED', kit.allTokens());
      messages.add(a.json.message as string);
    }
    expect(messages.size).toBe(1);
  });
});

describe('failed authentication is rate-limited per client address', () => {
  it('429 with Retry-After after the budget, for that address only, until the window ends', async () => {
    let clock = 1_000_000;
    kit = await makeKit({ rateLimit: { maxFailures: 3, windowMs: 60_000, now: () => clock } });
    await seed(kit, 'project/app/db_url', 'v');
    const from = (address: string, token?: string) => kit.send('GET', URL, { token, address });
    // successes neither count nor reset
    for (let i = 0; i < 5; i++) expect((await from('10.0.0.1', kit.tokens.read)).status).toBe(200);
    for (let i = 0; i < 3; i++) expectError(await from('10.0.0.1', 'bad'), 401);
    const limited = await from('10.0.0.1', 'bad');
    expectError(limited, 429, 'RATE_LIMITED');
    expect(limited.headers.get('retry-after')).toBe('60');
    // a valid token does not get through a blocked address either
    const valid = await from('10.0.0.1', kit.tokens.read);
    expectError(valid, 429, 'RATE_LIMITED');
    expect(valid.text).not.toContain('"value"');
    // ...but another address is unaffected
    expect((await from('10.0.0.2', kit.tokens.read)).status).toBe(200);
    clock += 30_500;
    expect((await from('10.0.0.1', kit.tokens.read)).headers.get('retry-after')).toBe('30');
    clock += 29_500;
    expect((await from('10.0.0.1', kit.tokens.read)).status).toBe(200);
    expectError(await from('10.0.0.1', 'bad'), 401);
  });

  it('a blocked address is answered without looking at its token or auditing again', async () => {
    kit = await makeKit({ rateLimit: { maxFailures: 1, windowMs: 60_000 } });
    expectError(await kit.send('GET', URL, { token: 'bad', address: '10.9.9.9' }), 401);
    const before = (await auditRecords(kit)).length;
    for (let i = 0; i < 3; i++) {
      const a = await kit.send('GET', URL, { token: 'bad', address: '10.9.9.9' });
      expectError(a, 429, 'RATE_LIMITED');
      expect(Number(a.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    expect((await auditRecords(kit)).length).toBe(before);
  });

  it('the token-free routes are not limited', async () => {
    kit = await makeKit({ rateLimit: { maxFailures: 1, windowMs: 60_000 } });
    await kit.send('GET', URL, { token: 'bad' });
    expect((await kit.send('GET', '/healthz')).status).toBe(200);
    expect((await kit.send('GET', '/v1/openapi.json')).status).toBe(200);
  });
});

describe('the token cache', () => {
  it('expiry is checked on every request, cached or not', async () => {
    let now = new Date();
    kit = await makeKit({ now: () => now, tokenCacheMs: 60_000 });
    const token = await kit.token({ name: 'short', caps: ['list'], ttl: '1h' }, now);
    expect((await kit.send('GET', '/v1/secrets', { token })).status).toBe(200);
    now = new Date(now.getTime() + 3_600_000);
    expectError(await kit.send('GET', '/v1/secrets', { token }), 401, 'UNAUTHENTICATED');
  });
});
