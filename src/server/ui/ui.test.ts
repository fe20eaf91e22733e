/**
 * The web UI in process (`app.request`): every page route's access rules for a session
 * made from each kind of token, the security headers, CSRF and origin checks, login by token
 * and by one-time link, and that no value is in any HTML the pages serve.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auditRecords,
  DESCRIPTION,
  type Kit,
  makeKit,
  SENTINEL,
} from '../../../test/helpers/server-kit.js';
import {
  ORIGIN,
  sessionCookie,
  type UiSession,
  uiClient,
} from '../../../test/helpers/ui-session.js';
import { AccessPolicy } from '../../core/access/policy.js';
import { createToken, listTokens, revokeToken } from '../../core/access/tokens.js';
import { CONTENT_SECURITY_POLICY } from './routes.js';
import { MAX_SESSIONS_PER_OWNER, SessionStore } from './session.js';

const OTHER_VALUE = 'other-sentinel-Pq7Yt2-never-in-html';
const sessions = new SessionStore();
let kit: Kit;

let ui: ReturnType<typeof uiClient>;
type Browser = UiSession;
const request: ReturnType<typeof uiClient>['request'] = (...args) => ui.request(...args);
const browserFor = (cookie: string): Promise<Browser> => ui.session(cookie);
const login = (token: string): Promise<Browser> => ui.login(token);

beforeAll(async () => {
  kit = await makeKit({ ui: { sessions, revealMs: 1000 } });
  ui = uiClient(kit);
  await kit.vault.set('project/app/db_url', 'dev', SENTINEL, { description: DESCRIPTION });
  await kit.vault.set('project/app/db_url', 'prod', SENTINEL, { description: DESCRIPTION });
  await kit.vault.set('project/app/api_key', 'dev', SENTINEL, { description: DESCRIPTION });
  await kit.vault.set('project/other/token', 'dev', OTHER_VALUE, { description: DESCRIPTION });
});

afterAll(async () => {
  await kit?.dispose();
});

const PAGES = [
  '/',
  '/p/project/app',
  '/s/project/app/db_url',
  '/s/project/app/db_url?env=prod',
  '/s/project/app/api_key?env=prod',
  '/p/project/other',
  '/s/project/other/token',
  '/audit',
  '/audit?path=project/app/db_url&outcome=ok',
  '/tokens',
  '/rotation',
];

describe('without a session', () => {
  it('every page sends the browser to the login page', async () => {
    for (const path of PAGES) {
      const res = await request('GET', path);
      expect({ path, status: res.status, to: res.headers.get('location') }).toEqual({
        path,
        status: 303,
        to: '/login',
      });
    }
  });

  it('a change is refused, and a reveal answers 401', async () => {
    const res = await request('POST', '/s/project/app/db_url/reveal?env=dev', {
      headers: { origin: ORIGIN },
    });
    expect(res.status).toBe(401);
    expect(res.text).not.toContain(SENTINEL);
    const set = await request('POST', '/s/project/app/db_url/set?env=dev', {
      form: { value: 'x' },
      headers: { origin: ORIGIN },
    });
    expect(set.status).toBe(303);
  });

  it('the login page has the security headers and no script or style inline', async () => {
    const res = await request('GET', '/login');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe-inline');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.text).not.toMatch(/<script>|<script [^>]*>[^<]|<style|style="/);
  });

  it('every answer of the UI keeps other sites out of its window and its responses', async () => {
    // An opener (window.open from another site) could send the UI's tab to a look-alike login
    // page; a page of another port of the same host (same site: the cookie goes along) could
    // load a page or the script as a resource of its own.
    const admin = await login(kit.tokens.admin);
    for (const res of [
      await request('GET', '/login'),
      await admin.get('/p/project/app'),
      await admin.get('/tokens?revoked=x'),
      await admin.get('/s/project/app/nope%'),
      await request('GET', '/ui/app.css'),
      await admin.post('/s/project/app/db_url/reveal?env=dev'),
    ]) {
      expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
      expect(res.headers.get('cross-origin-resource-policy')).toBe('same-origin');
    }
  });

  it('the API keeps its own headers', async () => {
    const res = await request('GET', '/healthz');
    expect(res.headers.get('content-security-policy')).toBeNull();
  });
});

describe('login', () => {
  it('a wrong token is refused (401) and audited like a bad bearer token', async () => {
    const res = await request('POST', '/login', {
      form: { token: 'coffer_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
      headers: { origin: ORIGIN },
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('set-cookie')).toBeNull();
    const records = await auditRecords(kit);
    expect(records.some((r) => r.action === 'authenticate' && r.outcome === 'denied')).toBe(true);
  });

  it('a revoked or expired token is refused', async () => {
    for (const token of [kit.tokens.revoked, kit.tokens.expired]) {
      const res = await request('POST', '/login', { form: { token }, headers: { origin: ORIGIN } });
      expect(res.status).toBe(401);
    }
  });

  it('a login from another site is refused', async () => {
    const res = await request('POST', '/login', {
      form: { token: kit.tokens.admin },
      headers: { origin: 'http://evil.test', 'sec-fetch-site': 'cross-site' },
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  it('the session cookie is HttpOnly, SameSite=Strict, expiring; the login is audited', async () => {
    const res = await request('POST', '/login', {
      form: { token: kit.tokens.admin },
      headers: { origin: ORIGIN },
    });
    const cookie = res.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Max-Age=\d+/);
    expect(cookie).not.toContain(kit.tokens.admin);
    const records = await auditRecords(kit);
    expect(records.some((r) => r.action === 'ui_login' && r.actor.startsWith('token:admin@'))).toBe(
      true,
    );
  });

  it('the cookie is Secure when the request came over TLS', async () => {
    const res = await postLogin(kit.app, 'https://coffer.test/login', kit.tokens.admin);
    expect(res.status).toBe(303);
    expect(res.headers.get('set-cookie')).toMatch(/; Secure/);
    const plain = await request('POST', '/login', {
      form: { token: kit.tokens.admin },
      headers: { origin: ORIGIN },
    });
    expect(plain.headers.get('set-cookie')).not.toMatch(/; Secure/);
  });

  it('a one-time link logs in once, with the local policy', async () => {
    const policy = new AccessPolicy({ allow: [], envs: [], caps: ['list', 'read'] }, 'you');
    const code = sessions.link({ kind: 'local', policy, actor: 'ui:tester' });
    const first = await request('GET', `/login/link/${code}`);
    expect(first.status).toBe(303);
    const b = await browserFor(sessionCookie(first));
    expect((await b.get('/')).text).toContain('project/other');
    expect((await request('GET', `/login/link/${code}`)).status).toBe(401);
  });

  it('a link opened from a file or another site logs in on a page of its own that goes on to /', async () => {
    // A browser sends a SameSite=Strict cookie with no request of a navigation another site
    // or a file started (coffer ui's launch page), its redirects included.
    const policy = new AccessPolicy({ allow: [], envs: [], caps: ['list', 'read'] }, 'you');
    for (const site of ['cross-site', 'same-site']) {
      const code = sessions.link({ kind: 'local', policy, actor: 'ui:tester' });
      const first = await request('GET', `/login/link/${code}`, {
        headers: { 'sec-fetch-site': site },
      });
      expect(first.status).toBe(200);
      expect(first.text).toContain('<meta http-equiv="refresh" content="0;url=/"/>');
      expect(first.headers.get('content-security-policy')).toContain("script-src 'self'");
      const b = await browserFor(sessionCookie(first));
      expect((await b.get('/')).text).toContain('project/other');
    }
    let used = 0;
    const code = sessions.link({ kind: 'local', policy, actor: 'ui:tester' }, () => used++);
    expect(used).toBe(0);
    expect((await request('GET', `/login/link/${code}`)).status).toBe(303);
    expect(used).toBe(1);
    expect((await request('GET', `/login/link/${code}`)).status).toBe(401);
    expect(used).toBe(1);
  });

  it("logging in again and again with one token ends only that token's own oldest sessions", async () => {
    const admin = await login(kit.tokens.admin);
    const { token } = await createToken(kit.vault, {
      name: 'many-logins',
      allow: ['project/app/readme'],
      envs: ['dev'],
      caps: ['list'],
    });
    const first = await login(token);
    for (let i = 0; i < MAX_SESSIONS_PER_OWNER; i++) await login(token);
    expect((await admin.get('/tokens')).status).toBe(200);
    expect((await first.get('/')).status).toBe(303);
  });

  it('logout ends the session', async () => {
    const b = await login(kit.tokens.admin);
    expect((await b.get('/')).status).toBe(200);
    const out = await b.post('/logout');
    expect(out.status).toBe(200);
    expect((await b.get('/')).status).toBe(303);
  });
});

describe('an admin session', () => {
  it('sees every page, and no value in any of them', async () => {
    const b = await login(kit.tokens.admin);
    for (const path of PAGES) {
      const res = await b.get(path);
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
      expect(res.text).not.toContain(SENTINEL);
      expect(res.text).not.toContain(OTHER_VALUE);
      expect(res.text).not.toContain(kit.tokens.admin);
    }
  });

  it('the project page lists each environment side by side, with what is missing', async () => {
    const b = await login(kit.tokens.admin);
    const res = await b.get('/p/project/app');
    expect(res.text).toContain('<th scope="col">dev</th><th scope="col">prod</th>');
    expect(res.text).toContain('api_key');
    expect(res.text).toContain('missing');
    expect(res.text).toContain(DESCRIPTION);
  });

  it('escapes what the vault holds (a description with markup)', async () => {
    const b = await login(kit.tokens.admin);
    const markup = 'Signs <script>alert(1)</script> "quoted" & more for the webhook';
    await kit.vault.set('project/app/webhook_key', 'dev', SENTINEL, { description: markup });
    for (const path of ['/p/project/app', '/s/project/app/webhook_key?env=dev']) {
      const res = await b.get(path);
      expect(res.text).not.toContain('<script>alert(1)');
      expect(res.text).toContain(
        'Signs &lt;script&gt;alert(1)&lt;/script&gt; &quot;quoted&quot; &amp; more',
      );
    }
    await kit.vault.delete('project/app/webhook_key', 'dev');
  });

  it('reveals a value only on a POST with the CSRF token, and audits it', async () => {
    const b = await login(kit.tokens.admin);
    const without = await b.post('/s/project/app/db_url/reveal?env=dev', { _csrf: 'wrong' });
    expect(without.status).toBe(403);
    expect(without.text).not.toContain(SENTINEL);
    const res = await b.post('/s/project/app/db_url/reveal?env=dev');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text).value).toBe(SENTINEL);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const records = await auditRecords(kit);
    const last = records.filter((r) => r.action === 'get').at(-1);
    expect(last).toMatchObject({ path: 'project/app/db_url', env: 'dev', outcome: 'ok' });
    expect(last?.actor).toMatch(/^token:admin@/);
  });

  it('refuses a change from another origin, and audits it', async () => {
    const b = await login(kit.tokens.admin);
    const res = await b.post(
      '/s/project/app/db_url/set?env=dev',
      { value: 'changed', ifVersion: '1' },
      { origin: 'http://evil.test', 'sec-fetch-site': 'cross-site' },
    );
    expect(res.status).toBe(403);
    const records = await auditRecords(kit);
    // With the secret it aimed at, so that an admin of that key path sees it.
    expect(records.at(-1)).toMatchObject({
      action: 'set',
      outcome: 'denied',
      path: 'project/app/db_url',
      env: 'dev',
    });
    expect(records.at(-1)?.detail).toContain('cross-origin');
    const forged = await b.post('/s/project/app/db_url/reveal?env=prod', { _csrf: 'forged' });
    expect(forged.status).toBe(403);
    expect((await auditRecords(kit)).at(-1)).toMatchObject({
      outcome: 'denied',
      path: 'project/app/db_url',
      env: 'prod',
    });
  });

  it('answers a form that is not urlencoded (multipart, a file, garbage) with 415, not 500', async () => {
    const b = await login(kit.tokens.admin);
    const multipart = (parts: string) => ({
      'content-type': 'multipart/form-data; boundary=x',
      body: parts,
    });
    const file =
      '--x\r\nContent-Disposition: form-data; name="value"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nfile-part\r\n' +
      '--x\r\nContent-Disposition: form-data; name="value"\r\n\r\nsecond\r\n--x--\r\n';
    for (const [path, cookie, body] of [
      ['/login', undefined, 'garbage'],
      ['/s/project/app/db_url/set?env=dev', b.cookie, file],
    ] as const) {
      const { 'content-type': type, body: text } = multipart(body);
      const res = await kit.app.request(
        `${ORIGIN}${path}`,
        {
          method: 'POST',
          headers: {
            'content-type': type,
            origin: ORIGIN,
            'sec-fetch-site': 'same-origin',
            'x-csrf-token': b.csrf,
            ...(cookie === undefined ? {} : { cookie }),
          },
          body: text,
        },
        { incoming: { socket: { remoteAddress: '127.0.0.1' } } },
      );
      expect(res.status, path).toBe(415);
      expect(await res.text()).not.toContain('file-part');
    }
    expect(kit.logs.join('\n')).not.toMatch(/TypeError|"level":50/);
  });

  it('sets with check-and-set: a stale version is a conflict page without the value', async () => {
    const b = await login(kit.tokens.admin);
    const stale = await b.post('/s/project/app/api_key/set?env=dev', {
      value: 'new-value-Hk29-not-shown',
      ifVersion: '0',
    });
    expect(stale.status).toBe(409);
    expect(stale.text).toContain('role="alert"');
    expect(stale.text).not.toContain('new-value-Hk29-not-shown');
    const ok = await b.post('/s/project/app/api_key/set?env=dev', {
      value: 'new-value-Hk29-not-shown',
      ifVersion: '1',
    });
    expect(ok.status).toBe(303);
    expect((await kit.vault.get('project/app/api_key', 'dev')).value).toBe(
      'new-value-Hk29-not-shown',
    );
  });

  it("stores a value of several lines with the line breaks typed, not the browser's CRLF", async () => {
    const b = await login(kit.tokens.admin);
    const current = (await kit.vault.info('project/app/api_key', 'dev')).currentVersion;
    const key =
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE\n-----END OPENSSH PRIVATE KEY-----\n';
    const set = await b.post('/s/project/app/api_key/set?env=dev', {
      value: key.replace(/\n/g, '\r\n'), // as a browser sends a text area
      ifVersion: String(current),
    });
    expect(set.status).toBe(303);
    expect((await kit.vault.get('project/app/api_key', 'dev')).value).toBe(key);
  });

  it('adds a secret to a new environment (description rules apply), deletes and restores', async () => {
    const b = await login(kit.tokens.admin);
    const vague = await b.post('/s/project/app/api_key/set?env=staging', {
      value: 'v1',
      ifVersion: '0',
      description: 'API key',
    });
    expect(vague.status).toBe(400);
    const added = await b.post('/s/project/app/api_key/set?env=staging', {
      value: 'v1',
      ifVersion: '0',
      description: 'Key of the staging payment sandbox',
    });
    expect(added.status).toBe(303);
    expect((await b.post('/s/project/app/api_key/delete?env=staging')).status).toBe(303);
    expect((await kit.vault.info('project/app/api_key', 'staging')).deletedAt).not.toBeNull();
    expect((await b.post('/s/project/app/api_key/restore?env=staging')).status).toBe(303);
    expect((await kit.vault.info('project/app/api_key', 'staging')).deletedAt).toBeNull();
  });

  it('creates a token shown once, and revokes it (its sessions end)', async () => {
    const b = await login(kit.tokens.admin);
    const res = await b.post('/tokens', {
      name: 'ui-made',
      allow: 'project/app/*',
      envs: 'dev',
      caps: ['read', 'list'],
      ttl: '1d',
    });
    expect(res.status).toBe(201);
    const token = /(coffer_[0-9a-f]{16}_[A-Za-z0-9_-]{43})/.exec(res.text)?.[1];
    expect(token).toBeDefined();
    const listed = await b.get('/tokens');
    expect(listed.text).toContain('ui-made');
    expect(listed.text).not.toContain(token!);
    const other = await login(token!);
    expect((await other.get('/')).status).toBe(200);
    expect((await b.post('/tokens/ui-made/revoke')).status).toBe(303);
    expect((await other.get('/')).status).toBe(303);
  });

  it('creates no-reveal tokens when asked, and only those from a no-reveal session', async () => {
    const b = await login(kit.tokens.admin);
    const asked = await b.post('/tokens', {
      name: 'ui-agent',
      allow: 'project/app/*',
      caps: ['read', 'list'],
      reveal: 'never',
    });
    expect(asked.status).toBe(201);
    const infos = await listTokens(kit.vault);
    expect(infos.find((t) => t.name === 'ui-agent')?.noReveal).toBe(true);
    expect((await b.get('/tokens')).text).toContain('read, list (no reveal)');

    // An admin that may not reveal: its form says so, and what it creates may not either.
    const { token } = await createToken(
      kit.vault,
      { name: 'quiet-admin', allow: ['**'], caps: ['read', 'list', 'admin'], reveal: 'never' },
      new Date(),
    );
    const quiet = await login(token);
    expect((await quiet.get('/tokens')).text).toContain('It will never reveal values');
    const made = await quiet.post('/tokens', {
      name: 'quiet-child',
      allow: 'project/app/*',
      caps: 'read',
    });
    expect(made.status).toBe(201);
    expect((await listTokens(kit.vault)).find((t) => t.name === 'quiet-child')?.noReveal).toBe(
      true,
    );
  });
});

describe('rotation', () => {
  it('rotates a generated secret with a grace window, then finishes; the status page lists it', async () => {
    await kit.vault.set('project/app/jwt_secret', 'dev', SENTINEL, {
      description: 'Signs the session JWTs of the app',
      metadata: { generator: 'base64:32', rotation: '90d' },
    });
    const b = await login(kit.tokens.admin);
    const rotated = await b.post('/s/project/app/jwt_secret/rotate?env=dev', { grace: '1d' });
    expect(rotated.status).toBe(303);
    const info = await kit.vault.info('project/app/jwt_secret', 'dev');
    expect(info.currentVersion).toBe(2);
    const status = await b.get('/rotation');
    expect(status.status).toBe(200);
    expect(status.text).toContain('project/app/jwt_secret');
    expect(status.text).toContain('in-grace');
    expect(status.text).not.toContain(SENTINEL);
    expect((await b.post('/s/project/app/jwt_secret/rotate-finish?env=dev')).status).toBe(303);
    const records = await auditRecords(kit);
    expect(records.filter((r) => r.path === 'project/app/jwt_secret').map((r) => r.action)).toEqual(
      expect.arrayContaining(['rotate', 'rotate_finish']),
    );
  });

  it('attack: a session that may write but not read cannot set or rotate to a reference', async () => {
    const b = await login(kit.tokens.write);
    for (const [route, form] of [
      ['/s/project/app/db_url/set?env=dev', { value: '{{ coffer://project/other/token }}' }],
      [
        '/s/project/app/db_url/rotate?env=dev',
        { grace: '1d', value: 'coffer://project/other/token' },
      ],
    ] as const) {
      const before = (await kit.vault.info('project/app/db_url', 'dev')).currentVersion;
      const res = await b.post(route, form);
      expect(res.status).toBe(403);
      expect(res.text).not.toContain(OTHER_VALUE);
      expect((await kit.vault.info('project/app/db_url', 'dev')).currentVersion).toBe(before);
    }
  });

  it('an external secret needs its new value; a bad grace is an error page', async () => {
    const b = await login(kit.tokens.admin);
    const none = await b.post('/s/project/app/db_url/rotate?env=dev', { grace: '1d' });
    expect(none.status).toBeGreaterThanOrEqual(400);
    expect(none.text).toContain('role="alert"');
    expect(none.text).not.toContain(SENTINEL);
    const bad = await b.post('/s/project/app/db_url/rotate?env=dev', { grace: 'soon', value: 'x' });
    expect(bad.status).toBe(400);
  });

  it('a session limited to project/app sees only its secrets, and may not rotate others', async () => {
    const b = await login(kit.tokens.app);
    const status = await b.get('/rotation');
    expect(status.text).toContain('project/app/db_url');
    expect(status.text).not.toContain('project/other');
    const other = await b.post('/s/project/other/token/rotate?env=dev', {
      grace: '1d',
      value: 'x',
    });
    expect(other.status).toBe(403);
  });
});

describe('a session limited to project/app', () => {
  it('sees that project only; other pages and direct URLs are refused and audited', async () => {
    const b = await login(kit.tokens.app);
    const home = await b.get('/');
    expect(home.text).toContain('project/app');
    expect(home.text).not.toContain('project/other');
    for (const path of ['/p/project/other', '/s/project/other/token', '/audit', '/tokens']) {
      const res = await b.get(path);
      expect({ path, status: res.status }).toEqual({ path, status: 403 });
      expect(res.text).not.toContain(OTHER_VALUE);
    }
    const reveal = await b.post('/s/project/other/token/reveal?env=dev');
    expect(reveal.status).toBe(403);
    expect(reveal.text).not.toContain(OTHER_VALUE);
    const set = await b.post('/s/project/other/token/set?env=dev', { value: 'x', ifVersion: '1' });
    expect(set.status).toBe(403);
    const made = await b.post('/tokens', { name: 'wider', allow: '**', caps: 'read' });
    expect(made.status).toBe(403);
    const records = await auditRecords(kit);
    const denied = records.filter(
      (r) => r.outcome === 'denied' && r.actor.startsWith('token:app@'),
    );
    expect(denied.map((r) => r.action)).toEqual(
      expect.arrayContaining(['list', 'history', 'audit', 'token_list', 'get', 'set']),
    );
  });

  it('a read-only session sees no set, delete or reveal controls it may not use', async () => {
    const b = await login(kit.tokens.list);
    const res = await b.get('/s/project/app/db_url?env=dev');
    expect(res.status).toBe(200);
    expect(res.text).not.toContain('/reveal');
    expect(res.text).not.toContain('/set');
    expect(res.text).not.toContain('/delete');
  });
});

/** The login form posted to `app` at `url` (its origin the page's) from `address`. */
function postLogin(app: Kit['app'], url: string, token: string, address = '127.0.0.1') {
  return app.request(
    url,
    {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: new URL(url).origin,
      },
      body: new URLSearchParams({ token }).toString(),
    },
    { incoming: { socket: { remoteAddress: address } } },
  );
}

describe('rate limit', () => {
  it('failed logins from one address get 429 like the API', async () => {
    let last = 0;
    for (let i = 0; i < 15; i++) {
      last = (await postLogin(kit.app, `${ORIGIN}/login`, 'nope', '10.9.9.9')).status;
    }
    expect(last).toBe(429);
    // As the API: the limit throttles guessing, a valid token still logs in.
    const valid = await postLogin(kit.app, `${ORIGIN}/login`, kit.tokens.admin, '10.9.9.9');
    expect(valid.status).toBe(303);
    expect(valid.headers.get('set-cookie')).toMatch(/coffer_session=/);
  });
});

describe('behind a proxy that ends TLS', () => {
  it("takes a change from the public URL's origin when the proxy rewrites Host to its upstream", async () => {
    const proxied = await makeKit({ publicUrl: 'https://coffer.example.com' });
    const login = (origin: string) =>
      proxied.app.request(
        'http://127.0.0.1:8200/login',
        {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            host: '127.0.0.1:8200',
            origin,
          },
          body: new URLSearchParams({ token: proxied.tokens.admin }).toString(),
        },
        { incoming: { socket: { remoteAddress: '127.0.0.1' } } },
      );
    try {
      expect((await login('https://coffer.example.com')).status).toBe(303);
      // Another site, or the public host over another scheme or port, is still refused.
      for (const other of [
        'https://evil.example',
        'http://coffer.example.com',
        'https://coffer.example.com:8443',
      ]) {
        expect((await login(other)).status, other).toBe(403);
      }
    } finally {
      await proxied.dispose();
    }
  });

  it('the cookie is Secure when the public URL is https, though the request is plain HTTP', async () => {
    const proxied = await makeKit({ publicUrl: 'https://coffer.example.com' });
    try {
      const res = await postLogin(
        proxied.app,
        'http://coffer.example.com/login',
        proxied.tokens.admin,
      );
      expect(res.status).toBe(303);
      expect(res.headers.get('set-cookie')).toMatch(/; Secure/);
    } finally {
      await proxied.dispose();
    }
  });
});

describe('a session whose token no longer authenticates', () => {
  // A kit each: a second failure from one address within a minute is counted into a summary
  // record (failure-audit.ts), as on the API.
  it.each([
    ['revoked', undefined],
    ['expired', '1h'],
  ] as const)('%s: refused and audited as that token on the API is, once', async (reason, ttl) => {
    let clock = Date.now();
    const own = await makeKit({ tokenCacheMs: 0, now: () => new Date(clock) });
    try {
      await own.vault.set('project/app/db_url', 'dev', SENTINEL, { description: DESCRIPTION });
      const { token } = await createToken(own.vault, {
        name: 'stolen',
        allow: ['project/app/*'],
        caps: ['read', 'list'],
        ...(ttl === undefined ? {} : { ttl }),
      });
      const b = await uiClient(own).login(token);
      expect((await b.get('/p/project/app')).status).toBe(200);
      if (ttl === undefined) await revokeToken(own.vault, 'stolen');
      else clock += 2 * 3_600_000;
      const before = (await auditRecords(own)).length;
      // The cookie is still presented: a page, then a reveal.
      expect((await b.get('/p/project/app')).status).toBe(303);
      const reveal = await b.post(
        '/s/project/app/db_url/reveal?env=dev',
        {},
        { 'x-csrf-token': b.csrf },
      );
      expect(reveal.status).toBe(401);
      expect(reveal.text).not.toContain(SENTINEL);
      // The API's words: action authenticate, the token's name and address, the reason.
      expect((await auditRecords(own)).slice(before)).toEqual([
        expect.objectContaining({
          actor: 'token:stolen@127.0.0.1',
          action: 'authenticate',
          outcome: 'denied',
          detail: reason,
        }),
      ]);
    } finally {
      await own.dispose();
    }
  });
});
