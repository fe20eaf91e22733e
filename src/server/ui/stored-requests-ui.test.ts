/**
 * The web UI of `coffer serve` and agents' requests made through its API (remote mode of
 * request_secret, kept in the store): listed to the sessions that may write their key path,
 * answered as the session (once, even with two servers on one store) or declined, refusals
 * audited; the Requests link only for sessions that may answer somewhere. In process
 * (`app.request`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRecords, type Kit, makeKit } from '../../../test/helpers/server-kit.js';
import { uiClient } from '../../../test/helpers/ui-session.js';
import { Vault } from '../../core/store/vault.js';
import { openSqliteStorage, type SqliteStorage } from '../../storage/sqlite/sqlite-storage.js';
import { type Api, createApi } from '../app.js';

/** The server's --public-url: the test server is reached as http://coffer.test, off loopback. */
const PUBLIC = 'https://coffer.example.com';
const ANSWER = 'stored-request-answer-sentinel-Rt61';
const RACE = ['race-value-one-sentinel-Mm10', 'race-value-two-sentinel-Mm20'];

let kit: Kit;
let ui: ReturnType<typeof uiClient>;
/** A second server on the same store. */
let second: { storage: SqliteStorage; vault: Vault; api: Api };

beforeAll(async () => {
  kit = await makeKit({ publicUrl: PUBLIC });
  ui = uiClient(kit);
  const storage = openSqliteStorage(kit.file);
  const vault = new Vault(storage, kit.masterKey, { actor: 'serve:second' });
  second = { storage, vault, api: createApi({ vault }) };
});

afterAll(async () => {
  await second?.api.close();
  second?.vault.close();
  await second?.storage.close();
  await kit?.dispose();
});

/** An agent's request through the API, as `coffer mcp` in remote mode makes it. */
async function ask(token: string, keyPath: string, env = 'dev') {
  const res = await kit.send('POST', '/v1/requests', {
    token,
    body: { keyPath, env, description: 'Charges cards through the payment provider' },
  });
  expect(res.status, res.text).toBe(201);
  return res.json as { request: { id: string; actor: string }; url: string };
}

const statusOf = async (token: string, id: string) =>
  (await kit.send('GET', `/v1/requests/${id}`, { token })).json;

function noValues(text: string): void {
  for (const v of [ANSWER, ...RACE]) expect(text).not.toContain(v);
}

describe("agents' requests kept in the store", () => {
  it('are listed to a session that may write their key path and answered as that session', async () => {
    const mine = await ask(kit.tokens.app, 'project/app/payment_key');
    const theirs = await ask(kit.tokens.admin, 'project/other/smtp_password');
    const app = await ui.login(kit.tokens.app);
    const page = await app.get('/requests');
    expect(page.status).toBe(200);
    expect(page.text).toContain('project/app/payment_key (dev)');
    expect(page.text).toContain(mine.request.actor);
    expect(page.text).not.toContain('project/other/smtp_password');

    const refused = await app.post(`/requests/${theirs.request.id}/answer`, { value: ANSWER });
    expect(refused.status).toBe(403);
    expect((await auditRecords(kit)).at(-1)).toMatchObject({
      action: 'request_answer',
      outcome: 'denied',
      path: 'project/other/smtp_password',
      env: 'dev',
    });
    expect((await auditRecords(kit)).at(-1)?.actor).toMatch(/^token:app@/);
    expect(await statusOf(kit.tokens.admin, theirs.request.id)).toMatchObject({
      status: 'pending',
    });

    const res = await app.post(`/requests/${mine.request.id}/answer`, { value: ANSWER });
    expect(res.status).toBe(303);
    const after = await app.get(res.headers.get('location') ?? '/requests');
    expect(after.text).toContain('Stored project/app/payment_key (dev) version 1');
    expect(after.text).not.toContain(`/requests/${mine.request.id}/answer`);
    noValues(after.text);
    expect(await statusOf(kit.tokens.app, mine.request.id)).toMatchObject({
      status: 'stored',
      version: 1,
    });
    expect((await kit.vault.get('project/app/payment_key', 'dev')).value).toBe(ANSWER);

    const records = (await auditRecords(kit)).filter((r) => r.path === 'project/app/payment_key');
    expect(records.map((r) => `${r.action}:${r.outcome}`)).toEqual([
      'request_created:ok',
      'request_opened:ok',
      'set:ok',
      'request_stored:ok',
      'get:ok',
    ]);
    expect(records[2]?.actor).toMatch(/^token:app@/);
    expect(records[1]?.actor).toBe(mine.request.actor);
    expect(records[1]?.detail).toMatch(/answered by token:app@/);
    noValues(JSON.stringify(await auditRecords(kit)));
  });

  it('are answered once: a second answer and the link are refused', async () => {
    const { request, url } = await ask(kit.tokens.app, 'project/app/webhook_key');
    const app = await ui.login(kit.tokens.app);
    expect((await app.post(`/requests/${request.id}/answer`, { value: ANSWER })).status).toBe(303);
    const again = await app.post(`/requests/${request.id}/answer`, { value: 'second-value' });
    expect(again.status).toBe(409);
    expect(again.text).toContain('role="alert"');
    const link = await kit.send('GET', new URL(url).pathname, {
      headers: { host: new URL(url).host },
    });
    expect(link.status).toBe(410);
    expect((await kit.vault.info('project/app/webhook_key', 'dev')).currentVersion).toBe(1);
    expect((await kit.vault.get('project/app/webhook_key', 'dev')).value).toBe(ANSWER);
  });

  it('are stored once when two servers on one store answer at the same time', async () => {
    const { request } = await ask(kit.tokens.app, 'project/app/race_key');
    const other = uiClient({ ...kit, app: second.api.app });
    const [a, b] = await Promise.all([ui.login(kit.tokens.app), other.login(kit.tokens.app)]);
    const answers = await Promise.all([
      a.post(`/requests/${request.id}/answer`, { value: RACE[0]! }),
      b.post(`/requests/${request.id}/answer`, { value: RACE[1]! }),
    ]);
    expect(answers.map((x) => x.status).sort()).toEqual([303, 409]);
    expect((await kit.vault.info('project/app/race_key', 'dev')).currentVersion).toBe(1);
    const won = RACE[answers.findIndex((x) => x.status === 303)];
    expect((await kit.vault.get('project/app/race_key', 'dev')).value).toBe(won);
    expect(await statusOf(kit.tokens.app, request.id)).toMatchObject({ status: 'stored' });
    // The second server lists what the first one took.
    const listed = await b.get('/requests');
    expect(listed.text).not.toContain('project/app/race_key');
  });

  it('can be declined once; the agent learns it', async () => {
    const { request } = await ask(kit.tokens.app, 'project/app/smtp_password', 'prod');
    const admin = await ui.login(kit.tokens.admin);
    expect((await admin.get('/requests')).text).toContain('project/app/smtp_password (prod)');
    const res = await admin.post(`/requests/${request.id}/decline`);
    expect(res.status).toBe(303);
    expect(await statusOf(kit.tokens.app, request.id)).toMatchObject({ status: 'declined' });
    const declined = (await auditRecords(kit)).filter((r) => r.action === 'request_declined');
    expect(declined.at(-1)).toMatchObject({ outcome: 'ok', path: 'project/app/smtp_password' });
    expect(declined.at(-1)?.detail).toMatch(/by token:admin@/);
    expect((await admin.post(`/requests/${request.id}/decline`)).status).toBe(409);
    expect((await admin.post(`/requests/${request.id}/answer`, { value: ANSWER })).status).toBe(
      409,
    );
  });

  it('are not shown, nor linked, to a session that may not answer any', async () => {
    await ask(kit.tokens.app, 'project/app/late_key');
    const reader = await ui.login(kit.tokens.read);
    expect((await reader.get('/')).text).not.toContain('href="/requests"');
    expect((await reader.get('/requests')).status).toBe(403);
    const lister = await ui.login(kit.tokens.list);
    expect((await lister.get('/')).text).not.toContain('href="/requests"');
    const app = await ui.login(kit.tokens.app);
    expect((await app.get('/')).text).toContain('href="/requests"');
    const writer = await ui.login(kit.tokens.write);
    expect((await writer.get('/requests')).text).toContain('project/app/late_key');
  });

  it('still lists the others when one stored request was forged, and says so', async () => {
    const forged = await ask(kit.tokens.app, 'project/app/forged_key');
    const kept = await ask(kit.tokens.app, 'project/app/kept_key');
    const key = `secret_request:${forged.request.id}`;
    await second.vault.auditedTransaction('test_tamper', async (tx) => {
      const stored = (await tx.getMeta(key))!;
      await tx.setMeta(key, stored.replace('project/app/forged_key', 'project/app/other_key'));
      return { result: undefined };
    });
    const app = await ui.login(kit.tokens.app);
    const page = await app.get('/requests');
    expect(page.status).toBe(200);
    expect(page.text).toContain('project/app/kept_key (dev)');
    expect(page.text).not.toContain(forged.request.id);
    expect(page.text).toContain('1 stored request failed the integrity check');
    expect(
      (await auditRecords(kit)).filter((r) => r.action === 'request_list').at(-1),
    ).toMatchObject({
      outcome: 'integrity_failure',
      detail: `INTEGRITY_FAILURE ${key}`,
    });
    expect(kept.request.id).not.toBe(forged.request.id);
    await second.vault.auditedTransaction('test_clean', async (tx) => {
      await tx.deleteMeta(key);
      return { result: undefined };
    });
  });
});

describe('the origin of a request link', () => {
  const body = JSON.stringify({
    keyPath: 'project/app/link_key',
    description: 'Signs the links of the app',
  });
  /** POST /v1/requests to `url` with the app token, as the Host in `url`. */
  const create = async (api: Api, url: string) => {
    const res = await api.app.request(
      url,
      {
        method: 'POST',
        body,
        headers: { authorization: `Bearer ${kit.tokens.app}`, 'content-type': 'application/json' },
      },
      { incoming: { socket: { remoteAddress: '127.0.0.1' } } },
    );
    return { status: res.status, json: (await res.json()) as { url?: string; code?: string } };
  };

  it('is --public-url, whatever Host the caller sends', async () => {
    const r = await create(kit.api, 'http://evil.example/v1/requests');
    expect(r.status).toBe(201);
    expect(new URL(r.json.url!).origin).toBe(PUBLIC);
  });

  it('without --public-url, is the loopback address reached, and off loopback is refused', async () => {
    const bare = createApi({ vault: kit.vault });
    try {
      for (const host of ['127.0.0.1:8700', 'localhost:8700', '[::1]:8700']) {
        const r = await create(bare, `http://${host}/v1/requests`);
        expect(r.status).toBe(201);
        expect(new URL(r.json.url!).origin).toBe(`http://${host}`);
      }
      // A Host header is the caller's to choose: a link for it could send the user anywhere.
      for (const host of ['evil.example', '127.0.0.1.nip.io', '10.0.0.5:8700']) {
        const before = (await auditRecords(kit)).length;
        const r = await create(bare, `http://${host}/v1/requests`);
        expect(r.status).toBe(403);
        expect(r.json.code).toBe('FORBIDDEN');
        expect(r.json.url).toBeUndefined();
        // Nothing was created.
        expect((await auditRecords(kit)).slice(before).map((a) => a.action)).not.toContain(
          'request_created',
        );
      }
    } finally {
      await bare.close();
    }
  });
});
