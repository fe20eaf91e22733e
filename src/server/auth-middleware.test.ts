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
} from '../../test/helpers/server-kit.js';

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
      ['garbage', '203.0.113.6', URL],
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
      ['unauthenticated@203.0.113.6', 'authenticate', 'malformed'],
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
    // another address is unaffected
    expectError(await from('10.0.0.2', 'bad'), 401);
    clock += 30_500;
    expect((await from('10.0.0.1')).headers.get('retry-after')).toBe('30');
    clock += 29_500;
    expectError(await from('10.0.0.1', 'bad'), 401);
  });

  it('a valid token is served from a limited address (behind a proxy, everyone shares one)', async () => {
    kit = await makeKit({ rateLimit: { maxFailures: 3, windowMs: 60_000 }, tokenCacheMs: 0 });
    await seed(kit, 'project/app/db_url', SENTINEL);
    const from = (token?: string) => kit.send('GET', URL, { token, address: '10.0.0.1' });
    expect((await from(kit.tokens.read)).status).toBe(200);
    for (let i = 0; i < 3; i++) expectError(await from('bad'), 401);
    expectError(await from('bad'), 429, 'RATE_LIMITED');
    expectError(await from(), 429, 'RATE_LIMITED');
    // known before the limit, and one first seen while limited
    for (const token of [kit.tokens.read, kit.tokens.app, kit.tokens.read]) {
      const a = await from(token);
      expect(a.status).toBe(200);
      expect(a.json.value).toBe(SENTINEL);
    }
    // a wrong secret for a real token, an expired and a revoked one stay refused, and count
    for (const token of [
      withWrongSecret(kit.tokens.read),
      kit.tokens.expired,
      kit.tokens.revoked,
    ]) {
      expectError(await from(token), 429, 'RATE_LIMITED');
    }
    const records = (await auditRecords(kit)).filter((r) => r.action === 'get');
    expect(records.map((r) => [r.actor, r.outcome])).toEqual([
      ['token:reader@10.0.0.1', 'ok'],
      ['token:reader@10.0.0.1', 'ok'],
      ['token:app@10.0.0.1', 'ok'],
      ['token:reader@10.0.0.1', 'ok'],
    ]);
    // every attempt counted once: a failure, or a request refused without an attempt
    await kit.api.close();
    const denied = (await auditRecords(kit)).filter((r) => r.outcome === 'denied');
    expect(denied.map((r) => [r.actor, r.detail])).toEqual([
      ['unauthenticated@10.0.0.1', 'malformed'],
      [
        'unauthenticated@10.0.0.1',
        '5 more failed authentications in 60 s (malformed 2, mismatch 1, expired 1, revoked 1); ' +
          '2 requests refused by the rate limit',
      ],
    ]);
  });

  it('a limited address costs no database read for garbage, and a bounded number for unknown ids', async () => {
    kit = await makeKit({ rateLimit: { maxFailures: 1, windowMs: 60_000 } });
    expectError(await kit.send('GET', URL, { token: 'bad', address: '10.9.9.9' }), 401);
    let reads = 0;
    const read = kit.vault.readTransaction.bind(kit.vault);
    kit.vault.readTransaction = ((fn) => {
      reads++;
      return read(fn);
    }) as typeof kit.vault.readTransaction;
    const started = Date.now();
    for (let i = 0; i < 100; i++) {
      const token =
        i % 2 === 0 ? 'garbage' : `coffer_${i.toString(16).padStart(16, '0')}_${'A'.repeat(43)}`;
      expectError(await kit.send('GET', URL, { token, address: '10.9.9.9' }), 429, 'RATE_LIMITED');
    }
    const seconds = Math.ceil((Date.now() - started) / 1000) + 1;
    // at most 10 reads of unknown ids per second, whatever the number of requests
    expect(reads).toBeLessThanOrEqual(Math.min(50, 10 * seconds));
  });

  it('a blocked address is answered without a record per request; one summary counts them', async () => {
    kit = await makeKit({ rateLimit: { maxFailures: 1, windowMs: 60_000 } });
    expectError(await kit.send('GET', URL, { token: 'bad', address: '10.9.9.9' }), 401);
    const before = (await auditRecords(kit)).length;
    for (let i = 0; i < 3; i++) {
      const a = await kit.send('GET', URL, { token: 'bad', address: '10.9.9.9' });
      expectError(a, 429, 'RATE_LIMITED');
      expect(Number(a.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    expect((await auditRecords(kit)).length).toBe(before);
    await kit.api.close();
    const [summary, ...rest] = (await auditRecords(kit)).slice(before);
    expect(rest).toEqual([]);
    expect(summary).toMatchObject({
      actor: 'unauthenticated@10.9.9.9',
      action: 'authenticate',
      outcome: 'denied',
      detail: '3 requests refused by the rate limit',
    });
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

describe('failed authentications are audited in aggregate', () => {
  it('one address: the first failure at once, the rest of the window as one record with a count', async () => {
    kit = await makeKit({ rateLimit: { maxFailures: 1_000 } });
    for (let i = 0; i < 50; i++) {
      const token = i % 5 === 0 ? withWrongSecret(kit.tokens.read) : 'garbage';
      expectError(await kit.send('GET', URL, { token, address: '203.0.113.50' }), 401);
    }
    const denied = async () => (await auditRecords(kit)).filter((r) => r.outcome === 'denied');
    expect((await denied()).map((r) => [r.actor, r.detail])).toEqual([
      ['token:reader@203.0.113.50', 'mismatch'],
    ]);
    await kit.api.close();
    expect((await denied()).map((r) => [r.actor, r.detail])).toEqual([
      ['token:reader@203.0.113.50', 'mismatch'],
      [
        'unauthenticated@203.0.113.50',
        '49 more failed authentications in 60 s (malformed 40, mismatch 9)',
      ],
    ]);
  });

  it('many addresses: at most 2 x cap + 1 records however many addresses fail', async () => {
    kit = await makeKit({ failureAudit: { maxAddressesPerWindow: 20 } });
    const before = (await auditRecords(kit)).length;
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 150; i++) {
        const a = await kit.send('GET', URL, {
          token: 'garbage',
          address: `10.1.${i >> 8}.${i & 255}`,
        });
        expect(a.status === 401 || a.status === 429).toBe(true);
      }
    }
    expect((await auditRecords(kit)).length - before).toBe(20);
    await kit.api.close();
    const added = (await auditRecords(kit)).slice(before);
    expect(added.length).toBeLessThanOrEqual(2 * 20 + 1);
    expect(added.at(-1)).toMatchObject({
      actor: 'unauthenticated@*',
      detail: expect.stringMatching(
        /^\d+ failed authentications from addresses past the audit cap/,
      ),
    });
  });
});

describe('--trusted-proxy: the client address from X-Forwarded-For', () => {
  it('from a trusted peer only, the right-most entry that is not a trusted proxy', async () => {
    kit = await makeKit({
      trustedProxies: ['10.0.0.0/8', 'fd00::/8'],
      rateLimit: { maxFailures: 2 },
    });
    await seed(kit, 'project/app/db_url', SENTINEL);
    const send = (address: string, xff: string | undefined, token = kit.tokens.list) =>
      kit.send('GET', URL, {
        token,
        address,
        ...(xff !== undefined ? { headers: { 'x-forwarded-for': xff } } : {}),
      });
    const cases: [string, string | undefined, string][] = [
      ['10.0.0.5', '198.51.100.1', '198.51.100.1'],
      ['10.0.0.5', '6.6.6.6, 198.51.100.2, 10.1.1.1', '198.51.100.2'],
      ['::ffff:10.0.0.5', '2001:DB8:0::7', '2001:db8::7'],
      ['fd00::1', '::ffff:198.51.100.3', '198.51.100.3'],
      ['10.0.0.5', 'not-an-address, 10.2.2.2', '10.2.2.2'],
      ['10.0.0.5', '10.3.3.3, 10.2.2.2', '10.3.3.3'],
      ['10.0.0.5', undefined, '10.0.0.5'],
      ['203.0.113.9', '198.51.100.4', '203.0.113.9'],
    ];
    for (const [peer, xff, client] of cases) {
      expectError(await send(peer, xff), 403, 'FORBIDDEN');
      const last = (await auditRecords(kit)).at(-1);
      expect([peer, xff, last?.actor]).toEqual([peer, xff, `token:lister@${client}`]);
    }
    // the rate limit counts the forwarded client, not the proxy everyone shares
    for (let i = 0; i < 2; i++) expectError(await send('10.0.0.5', '198.51.100.66', 'bad'), 401);
    expectError(await send('10.0.0.5', '198.51.100.66', 'bad'), 429, 'RATE_LIMITED');
    expectError(await send('10.0.0.5', '198.51.100.67', 'bad'), 401);
    // and a client that is not a trusted proxy cannot choose its address
    for (let i = 0; i < 2; i++)
      expectError(await send('203.0.113.10', `198.51.100.${i}`, 'bad'), 401);
    expectError(await send('203.0.113.10', '198.51.100.99', 'bad'), 429, 'RATE_LIMITED');
    const log = kit.logs.map((l) => JSON.parse(l) as { addr?: string }).filter((l) => l.addr);
    expect(log.map((l) => l.addr)).toContain('198.51.100.66');
    expect(log.map((l) => l.addr)).not.toContain('198.51.100.99');
  });
});
