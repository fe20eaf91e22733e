/**
 * The web UI's project overview and work pages in process (`app.request`): last read and
 * "same value in dev and prod" on the project page, generate on a secret's page, the manifest
 * status, incidents with their timeline, and agents' requests answered here. For each: what a
 * session may see and do by its token's policy (direct URLs refused and audited), and no value
 * in any HTML.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRecords, type Kit, makeKit } from '../../../test/helpers/server-kit.js';
import { uiClient } from '../../../test/helpers/ui-session.js';
import { openIncident } from '../../core/incident/incident.js';
import { SecretRequests } from '../../core/requests/secret-requests.js';

const SHARED = 'shared-sentinel-Vb81-in-dev-and-prod';
const DEV = 'dev-only-sentinel-Qw31';
const PROD = 'prod-only-sentinel-Lk92';
const OTHER = 'other-project-sentinel-Zt55';
const ANSWER = 'answered-from-the-ui-sentinel-Hh72';
const VALUES = [SHARED, DEV, PROD, OTHER, ANSWER];
const DESC = 'Signs the session cookies of the app';

let kit: Kit;
let ui: ReturnType<typeof uiClient>;
let dir: string;
const stored: string[] = [];
const requests = new SecretRequests({
  async store(request, value) {
    const r = await kit.vault.withActor(request.actor).set(request.path, request.env, value, {
      description: request.description,
    });
    return { version: r.version };
  },
  async audit() {},
});

function noValues(html: string): void {
  for (const v of [...VALUES, ...stored]) expect(html).not.toContain(v);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'coffer-ui-work-'));
  const manifest = join(dir, 'coffer.yaml');
  writeFileSync(
    manifest,
    `project: app
environments: [dev, prod]
variables:
  SESSION_SECRET:
    description: ${DESC}
    source: { generate: "hex:32" }
  PAYMENT_KEY:
    description: Charges cards through the payment provider
    tier: 2
    source: ask
`,
  );
  kit = await makeKit({ ui: { manifests: [manifest], requests } });
  ui = uiClient(kit);
  const set = (path: string, env: string, value: string) =>
    kit.vault.set(path, env, value, { description: DESC });
  await set('project/app/session_secret', 'dev', SHARED);
  await set('project/app/session_secret', 'prod', SHARED);
  await set('project/app/api_key', 'dev', DEV);
  await set('project/app/api_key', 'prod', PROD);
  await set('project/app/only_dev', 'dev', DEV);
  await set('project/other/token', 'dev', OTHER);
  await set('project/other/token', 'prod', OTHER);
});

afterAll(async () => {
  await kit?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** The cell of `name`'s row in the "same" column, as text. */
function sameCell(html: string, name: string): string | undefined {
  const row = new RegExp(`<tr><th scope="row"><a href="/s/project/app/${name}">.*?</tr>`).exec(
    html,
  )?.[0];
  return row === undefined
    ? undefined
    : /<td[^>]*>([^<]*(?:<strong>[^<]*<\/strong>)?)<\/td><\/tr>$/.exec(row)?.[1];
}

describe('the project page', () => {
  it('says which secrets hold the same value in dev and prod, names only', async () => {
    const admin = await ui.login(kit.tokens.admin);
    const page = await admin.get('/p/project/app');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<th scope="col">Same in dev and prod</th>');
    expect(sameCell(page.text, 'session_secret')).toBe('<strong>same</strong>');
    expect(sameCell(page.text, 'api_key')).toBe('differs');
    expect(sameCell(page.text, 'only_dev')).toBe('—');
    noValues(page.text);
    // The comparison read the values inside the vault: one audited `compare`, no `get`.
    const records = await auditRecords(kit);
    expect(records.filter((r) => r.action === 'compare').at(-1)).toMatchObject({
      path: 'project/app',
      outcome: 'ok',
    });
    expect(records.some((r) => r.action === 'get' && r.path === 'project/app/api_key')).toBe(false);
  });

  it('a session that may not read both values gets no answer', async () => {
    const lister = await ui.login(kit.tokens.list);
    const page = await lister.get('/p/project/app');
    expect(page.status).toBe(200);
    expect(sameCell(page.text, 'session_secret')).toBe('—');
    const blind = await ui.login(
      await kit.token({ name: 'no-reveal', caps: ['read', 'list'], reveal: 'never' }),
    );
    expect(sameCell((await blind.get('/p/project/app')).text, 'session_secret')).toBe('—');
    const devOnly = await ui.login(kit.tokens.devOnly);
    const dev = await devOnly.get('/p/project/app');
    expect(dev.text).not.toContain('Same in');
    expect(dev.text).not.toContain('/s/project/app/api_key?env=prod');
  });

  it('shows when each secret was last read in each environment', async () => {
    const admin = await ui.login(kit.tokens.admin);
    const before = await admin.get('/p/project/app');
    expect(before.text).toContain('never read');
    await kit.vault.get('project/app/api_key', 'prod');
    const after = await admin.get('/p/project/app');
    const row = /<tr><th scope="row"><a href="\/s\/project\/app\/api_key">.*?<\/tr>/.exec(
      after.text,
    )?.[0];
    expect(row).toMatch(
      /api_key\?env=dev">v1<\/a>.*?never read.*api_key\?env=prod">v1<\/a>.*?read <time/,
    );
  });

  it('keeps the rotation state in each cell', async () => {
    await kit.vault.set('project/app/old_key', 'dev', DEV, {
      description: DESC,
      metadata: { rotation: '90d' },
    });
    const admin = await ui.login(kit.tokens.admin);
    const page = await admin.get('/p/project/app');
    expect(page.text).toMatch(/old_key\?env=dev">v1<\/a>/);
    await openIncident(kit.vault, { path: 'project/app/old_key', env: 'dev', where: 'a chat log' });
    const later = await admin.get('/p/project/app');
    expect(later.text).toContain('<span class="tag state-compromised">compromised</span>');
  });
});

describe('generate on a secret page', () => {
  it('replaces a value only when confirmed, and never shows it', async () => {
    const admin = await ui.login(kit.tokens.admin);
    const unconfirmed = await admin.post('/s/project/app/api_key/generate?env=dev', {
      spec: 'hex:32',
    });
    expect(unconfirmed.status).toBe(400);
    expect(unconfirmed.text).toContain('role="alert"');
    const res = await admin.post('/s/project/app/api_key/generate?env=dev', {
      spec: 'hex:32',
      confirm: 'yes',
    });
    expect(res.status).toBe(303);
    const v = await kit.vault.get('project/app/api_key', 'dev');
    expect(v.value).toMatch(/^[0-9a-f]{64}$/);
    stored.push(v.value);
    const page = await admin.get('/s/project/app/api_key?env=dev&done=generated');
    expect(page.text).toContain('Generated and stored a new value');
    noValues(page.text);
  });

  it('creates a new secret with its description; a bad spec is an error page', async () => {
    const admin = await ui.login(kit.tokens.admin);
    const bad = await admin.post('/s/project/app/webhook_key/generate?env=dev', {
      spec: 'hex:0',
      description: 'Verifies the payment webhooks',
    });
    expect(bad.status).toBe(400);
    const res = await admin.post('/s/project/app/webhook_key/generate?env=dev', {
      spec: 'base64:32',
      description: 'Verifies the payment webhooks',
    });
    expect(res.status).toBe(303);
    const info = await kit.vault.info('project/app/webhook_key', 'dev');
    expect(info).toMatchObject({ generator: 'base64:32', currentVersion: 1 });
    stored.push((await kit.vault.get('project/app/webhook_key', 'dev')).value);
  });

  it('is refused outside the policy, and audited', async () => {
    const app = await ui.login(kit.tokens.app);
    const res = await app.post('/s/project/other/token/generate?env=dev', { confirm: 'yes' });
    expect(res.status).toBe(403);
    noValues(res.text);
    const lister = await ui.login(kit.tokens.list);
    expect((await lister.get('/s/project/app/api_key?env=dev')).text).not.toContain('/generate');
    const records = await auditRecords(kit);
    expect(
      records.filter((r) => r.action === 'generate' && r.outcome === 'denied').at(-1),
    ).toMatchObject({ path: 'project/other/token', env: 'dev' });
    expect(records.at(-1)?.actor).toMatch(/^token:lister@/);
  });
});

describe('the manifest status', () => {
  it('lists what is missing and what is extra in each environment', async () => {
    const admin = await ui.login(kit.tokens.admin);
    expect((await admin.get('/p/project/app')).text).toContain('/p/project/app/manifest');
    const page = await admin.get('/p/project/app/manifest');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<strong>dev</strong>: 1 missing');
    expect(page.text).toMatch(/PAYMENT_KEY<\/a>.*?missing \(asked for\)/);
    expect(page.text).toMatch(/SESSION_SECRET<\/a>.*?stored/);
    expect(page.text).toContain('project/app/api_key</a> in dev');
    noValues(page.text);
  });

  it('has no page for a project without a manifest, and refuses one outside the policy', async () => {
    const admin = await ui.login(kit.tokens.admin);
    expect((await admin.get('/p/project/other')).text).not.toContain('/manifest');
    expect((await admin.get('/p/project/other/manifest')).status).toBe(400);
    const app = await ui.login(kit.tokens.app);
    const refused = await app.get('/p/project/other/manifest');
    expect(refused.status).toBe(403);
    const records = await auditRecords(kit);
    expect(records.at(-1)).toMatchObject({ action: 'manifest_status', outcome: 'denied' });
  });
});

describe('incidents', () => {
  beforeAll(async () => {
    await openIncident(kit.vault, { path: 'project/other/token', env: 'prod', where: 'a gist' });
  });

  it('lists each incident with its timeline, within the policy', async () => {
    const admin = await ui.login(kit.tokens.admin);
    const all = await admin.get('/incidents');
    expect(all.status).toBe(200);
    expect(all.text).toContain('project/other/token');
    expect(all.text).toContain('project/app/old_key');
    expect(all.text).toContain('marked compromised');
    expect(all.text).toContain('found in a gist');
    noValues(all.text);
    const app = await ui.login(kit.tokens.app);
    const mine = await app.get('/incidents');
    expect(mine.text).toContain('project/app/old_key');
    expect(mine.text).not.toContain('project/other/token');
  });

  it('closes an incident the session may write; another one is refused and audited', async () => {
    const app = await ui.login(kit.tokens.app);
    const other = (await import('../../core/incident/incident.js')).listIncidents(kit.vault);
    const ids = Object.fromEntries((await other).map((i) => [i.path, i.id]));
    const refused = await app.post(`/incidents/${ids['project/other/token']}/close`);
    expect(refused.status).toBe(403);
    expect((await auditRecords(kit)).at(-1)).toMatchObject({
      action: 'incident_close',
      outcome: 'denied',
      path: 'project/other/token',
    });
    const closed = await app.post(`/incidents/${ids['project/app/old_key']}/close`);
    expect(closed.status).toBe(303);
    const page = await app.get('/incidents');
    expect(page.text).toMatch(/closed<\/span> opened by/);
    const reader = await ui.login(kit.tokens.read);
    expect((await reader.get('/incidents')).status).toBe(403);
  });
});

describe("agents' requests", () => {
  it('are listed to sessions that may write their key path, and answered here', async () => {
    const { request: mine } = requests.create({
      path: 'project/app/payment_key',
      env: 'dev',
      description: 'Charges cards through the payment provider',
      actor: 'mcp:claude-code/2.1',
    });
    const { request: theirs } = requests.create({
      path: 'project/other/smtp_password',
      env: 'dev',
      description: 'Sends the password-reset mails',
      actor: 'mcp:claude-code/2.1',
    });
    const app = await ui.login(kit.tokens.app);
    const page = await app.get('/requests');
    expect(page.status).toBe(200);
    expect(page.text).toContain('project/app/payment_key (dev)');
    expect(page.text).toContain('mcp:claude-code/2.1');
    expect(page.text).not.toContain('project/other/smtp_password');
    const refused = await app.post(`/requests/${theirs.id}/answer`, { value: ANSWER });
    expect(refused.status).toBe(403);
    const res = await app.post(`/requests/${mine.id}/answer`, { value: ANSWER });
    expect(res.status).toBe(303);
    expect((await requests.status(mine.id)).status).toBe('stored');
    expect((await kit.vault.get('project/app/payment_key', 'dev')).value).toBe(ANSWER);
    const after = await app.get(res.headers.get('location') ?? '/requests');
    expect(after.text).toContain('Stored project/app/payment_key (dev) version 1');
    noValues(after.text);
    const again = await app.post(`/requests/${mine.id}/answer`, { value: 'second' });
    expect(again.status).toBe(409);
    const records = await auditRecords(kit);
    const set = records.filter((r) => r.action === 'set' && r.path === 'project/app/payment_key');
    expect(set.at(-1)?.actor).toMatch(/^token:app@/);
    expect(JSON.stringify(records)).not.toContain(ANSWER);
  });

  it('take a value of several lines from the text area, line breaks as LF; one field at a time', async () => {
    const { request } = requests.create({
      path: 'project/app/deploy_key',
      env: 'dev',
      description: 'Deploys the app over SSH',
      actor: 'mcp:claude-code/2.1',
    });
    const app = await ui.login(kit.tokens.app);
    const page = await app.get('/requests');
    expect(page.text).toContain('name="value_lines"');
    const pem = '-----BEGIN KEY-----\r\nAAAA-ui-lines-sentinel\r\n-----END KEY-----';
    for (const [form, message] of [
      [{}, 'Nothing was entered.'],
      [{ value: 'one', value_lines: 'two' }, 'both fields hold a value'],
    ] as const) {
      const refused = await app.post(`/requests/${request.id}/answer`, form);
      expect(refused.status).toBe(400);
      expect(refused.text).toContain(message);
      expect((await requests.status(request.id)).status).toBe('pending');
    }
    const res = await app.post(`/requests/${request.id}/answer`, { value: '', value_lines: pem });
    expect(res.status).toBe(303);
    expect((await kit.vault.get('project/app/deploy_key', 'dev')).value).toBe(
      pem.replace(/\r\n/g, '\n'),
    );
  });

  it("shows no notice from a link's own text (no message spoofing)", async () => {
    const app = await ui.login(kit.tokens.admin);
    const lure = 'Session expired, paste your token at evil.example';
    for (const path of [
      `/requests?done=${encodeURIComponent(lure)}`,
      `/incidents?closed=${encodeURIComponent(lure)}`,
      `/tokens?revoked=${encodeURIComponent(lure)}`,
    ]) {
      const page = await app.get(path);
      expect(page.status, path).toBe(200);
      expect(page.text, path).not.toContain('Session expired');
    }
  });

  it("says a secret was deleted, saved or rotated only when its state is that change's", async () => {
    const app = await ui.login(kit.tokens.admin);
    await kit.vault.set('project/app/done_lure', 'dev', 'done-lure-value-1', {
      description: 'Signs the session cookies of the app',
    });
    const live = await app.get('/s/project/app/done_lure?env=dev&done=deleted');
    expect(live.status).toBe(200);
    expect(live.text).not.toContain('Deleted. Restore brings it back.');
    expect((await app.get('/s/project/app/done_lure?env=prod&done=set')).text).not.toContain(
      'Saved a new version.',
    );
    expect((await app.post('/s/project/app/done_lure/delete?env=dev')).status).toBe(303);
    const gone = await app.get('/s/project/app/done_lure?env=dev&done=rotated');
    expect(gone.text).not.toContain('Rotated:');
    expect((await app.get('/s/project/app/done_lure?env=dev&done=deleted')).text).toContain(
      'Deleted. Restore brings it back.',
    );
  });

  it('says a token was revoked only when it was: a link cannot claim a live token revoked', async () => {
    const app = await ui.login(kit.tokens.admin);
    const page = await app.get('/tokens?revoked=admin');
    expect(page.status).toBe(200);
    expect(page.text).not.toContain('Revoked admin.');
    expect((await app.get('/tokens?revoked=revoked')).text).toContain('Revoked revoked.');
  });

  it('can be declined; a read-only session may not see them', async () => {
    const { request } = requests.create({
      path: 'project/app/smtp_password',
      env: 'prod',
      description: 'Sends the password-reset mails',
      actor: 'mcp:cursor/1.0',
    });
    const admin = await ui.login(kit.tokens.admin);
    expect((await admin.post(`/requests/${request.id}/decline`)).status).toBe(303);
    expect((await requests.status(request.id)).status).toBe('declined');
    const reader = await ui.login(kit.tokens.read);
    expect((await reader.get('/requests')).status).toBe(403);
  });
});
