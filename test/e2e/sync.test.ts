/**
 * `coffer sync` against local stand-ins: fake `gh` and `fly` executables on PATH that record
 * their argv and keep what they are given on stdin, and loopback HTTP servers that follow the
 * Heroku, Render and Railway APIs. Every value arrives; no value is in any argv, in any file
 * left in the user's home or in coffer's output (property test with random values);
 * --dry-run changes nothing; --prune removes exactly the extras; a failing target names the
 * variables not pushed; every sync is audited.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boxKeyPair, openSealedBox } from '../../src/cli/sync/sealed-box.js';
import { Vault } from '../../src/core/index.js';
import { refusedEnvName } from '../../src/core/inject/index.js';
import { openSqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';
import { installFakeClis } from './fake-clis.js';
import { auditRecords, finished, makeHome, type RunResult, spawnCoffer } from './harness.js';

const TOKEN = 'api-token-for-the-stand-ins';
const DESCRIPTION = 'Deploy variable of the consilio service';

interface Cloud {
  heroku: Record<string, string>;
  render: Record<string, string>;
  railway: Record<string, string>;
  /** GitHub Actions secrets as the REST stand-in opened them (null: a box that did not open). */
  github: Record<string, string | null>;
  requests: string[];
}

const cloud: Cloud = { heroku: {}, render: {}, railway: {}, github: {}, requests: [] };
/** The stand-in repository's key pair: it opens every sealed box it receives. */
const repoKey = boxKeyPair();
let server: Server;
let base = '';

async function body(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : JSON.parse(text);
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    cloud.requests.push(`${req.method} ${url.pathname}${url.search}`);
    const send = (status: number, data: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(data === undefined ? '' : JSON.stringify(data));
    };
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return send(401, { id: 'unauthorized' });
    const b = await body(req);
    // Heroku Platform API: GET/PATCH /apps/{app}/config-vars; null removes.
    if (url.pathname === '/heroku/apps/consilio/config-vars') {
      if (req.method === 'PATCH') {
        for (const [k, v] of Object.entries(b as Record<string, string | null>)) {
          if (v === null) delete cloud.heroku[k];
          else cloud.heroku[k] = v;
        }
      }
      return send(200, cloud.heroku);
    }
    // Render: GET /services/{id}/env-vars (cursor pages), PUT/DELETE .../env-vars/{key}.
    const r = /^\/render\/services\/srv-1\/env-vars(?:\/([^/]+))?$/.exec(url.pathname);
    if (r !== null) {
      const key = r[1] === undefined ? undefined : decodeURIComponent(r[1]);
      if (req.method === 'GET') {
        const all = Object.entries(cloud.render).map(([k, value], i) => ({
          envVar: { key: k, value },
          cursor: `c${i}`,
        }));
        const from = url.searchParams.get('cursor');
        const start = from === null ? 0 : Number(from.slice(1)) + 1;
        return send(200, all.slice(start, start + Number(url.searchParams.get('limit') ?? 20)));
      }
      if (req.method === 'PUT' && key !== undefined) {
        cloud.render[key] = (b as { value: string }).value;
        return send(200, { key, value: cloud.render[key] });
      }
      if (req.method === 'DELETE' && key !== undefined) {
        delete cloud.render[key];
        return send(204, undefined);
      }
    }
    // GitHub REST: GET .../actions/secrets (pages), GET .../public-key, PUT/DELETE .../{name}.
    const g = /^\/github\/repos\/acme\/consilio\/actions\/secrets(?:\/([^/]+))?$/.exec(
      url.pathname,
    );
    if (g !== null) {
      const name = g[1] === undefined ? undefined : decodeURIComponent(g[1]);
      if (name === 'public-key' && req.method === 'GET') {
        return send(200, {
          key_id: 'key-7',
          key: Buffer.from(repoKey.publicKey).toString('base64'),
        });
      }
      if (name === undefined && req.method === 'GET') {
        const names = Object.keys(cloud.github).sort();
        const page = Number(url.searchParams.get('page') ?? 1);
        const per = Number(url.searchParams.get('per_page') ?? 30);
        const rows = names.slice((page - 1) * per, page * per).map((n) => ({ name: n }));
        return send(200, { total_count: names.length, secrets: rows });
      }
      if (name !== undefined && req.method === 'PUT') {
        const { encrypted_value, key_id } = b as { encrypted_value: string; key_id: string };
        if (key_id !== 'key-7') return send(422, { message: 'bad key id' });
        if (name === process.env.FAKE_GITHUB_FAIL) return send(500, { message: 'boom' });
        const opened = openSealedBox(
          Buffer.from(encrypted_value, 'base64'),
          repoKey.publicKey,
          repoKey.secretKey,
        );
        cloud.github[name] = opened === undefined ? null : Buffer.from(opened).toString('utf8');
        return send(201, undefined);
      }
      if (name !== undefined && req.method === 'DELETE') {
        delete cloud.github[name];
        return send(204, undefined);
      }
    }
    // Railway: one GraphQL endpoint.
    if (url.pathname === '/railway/graphql/v2' && req.method === 'POST') {
      const { query, variables } = b as { query: string; variables: Record<string, unknown> };
      if (query.includes('variableCollectionUpsert')) {
        Object.assign(cloud.railway, (variables.input as { variables: object }).variables);
        return send(200, { data: { variableCollectionUpsert: true } });
      }
      if (query.includes('variableDelete')) {
        delete cloud.railway[(variables.input as { name: string }).name];
        return send(200, { data: { variableDelete: true } });
      }
      return send(200, { data: { variables: cloud.railway } });
    }
    send(404, { id: 'not_found' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
});

function setup() {
  const h = makeHome();
  const cloudDir = mkdtempSync(join(tmpdir(), 'coffer-cloud-'));
  const bin = join(h.home, 'bin');
  installFakeClis(bin);
  const env: Record<string, string> = {
    ...h.env,
    PATH: `${bin}:${process.env.PATH}`,
    FAKE_CLOUD: cloudDir,
    FAKE_APP: 'consilio-prod',
    COFFER_HEROKU_API_URL: `${base}/heroku`,
    COFFER_RENDER_API_URL: `${base}/render`,
    COFFER_RAILWAY_API_URL: `${base}/railway/graphql/v2`,
    COFFER_GITHUB_API_URL: `${base}/github`,
    HEROKU_API_KEY: TOKEN,
    RENDER_API_KEY: TOKEN,
    RAILWAY_TOKEN: TOKEN,
  };
  const run = async (args: string[], extra: Record<string, string> = {}): Promise<RunResult> =>
    finished(spawnCoffer(args, { env: { ...env, ...extra }, cwd: h.home }));
  expect(h.run(['init']).code).toBe(0);
  const keyFile = join(h.home, '.coffer', 'master.key');
  /** Stores values through the library (one process, not one spawn per value). */
  const store = async (values: Record<string, string>, localOnly: string[] = []) => {
    const storage = openSqliteStorage(join(h.home, '.coffer', 'vault.db'));
    const key = new Uint8Array(Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64'));
    const vault = new Vault(storage, key, { actor: 'test:setup' });
    try {
      for (const [name, value] of Object.entries(values)) {
        await vault.set(`project/consilio/${name.toLowerCase()}`, 'prod', value, {
          description: DESCRIPTION,
          metadata: { localOnly: localOnly.includes(name) },
          allowEmpty: true,
        });
      }
    } finally {
      vault.close();
      await storage.close();
    }
  };
  const fakeState = (name: 'gh' | 'fly'): Record<string, string> => {
    try {
      return JSON.parse(readFileSync(join(cloudDir, `${name}.json`), 'utf8'));
    } catch {
      return {};
    }
  };
  const argv = () => {
    try {
      return readFileSync(join(cloudDir, 'argv.log'), 'utf8');
    } catch {
      return '';
    }
  };
  return { ...h, env, run, store, fakeState, argv, cloudDir };
}

const TARGETS = {
  github: ['--target', 'github', '--repo', 'acme/consilio'],
  fly: ['--target', 'fly', '--app', 'consilio-prod'],
  heroku: ['--target', 'heroku', '--app', 'consilio'],
  render: ['--target', 'render', '--service', 'srv-1'],
  railway: [
    '--target',
    'railway',
    '--service',
    'svc-1',
    '--railway-project',
    'prj-1',
    '--railway-environment',
    'env-1',
  ],
} as const;
type Target = keyof typeof TARGETS;

function state(h: ReturnType<typeof setup>, t: Target): Record<string, string> {
  if (t === 'github') return h.fakeState('gh');
  if (t === 'fly') return h.fakeState('fly');
  return { ...cloud[t] };
}

function resetCloud(): void {
  cloud.github = {};
  cloud.heroku = {};
  cloud.render = {};
  cloud.railway = {};
}

/** Variable names a sync carries (not ones refused as loading code: PATH, IFS, PS1, ...). */
const NAME = fc
  .stringMatching(/^[A-Z][A-Z0-9]{0,10}$/)
  .filter((n) => refusedEnvName(n) === undefined);

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  );
}

describe('coffer sync (binary, stand-in targets)', () => {
  it('every value arrives at every target; none in argv, in files left behind or in output (property)', async () => {
    const h = setup();
    const value = fc
      .string({ unit: 'grapheme', minLength: 0, maxLength: 30 })
      // A CR, three quotes, or a line break at the end: refused or rerouted by name, each
      // covered below; here every value must arrive everywhere.
      .filter(
        (v) => !v.includes('\0') && !v.includes('"""') && !v.includes('\r') && !v.endsWith('\n'),
      )
      .map((v) => `v${randomBytes(6).toString('hex')}-${v}`);
    await fc.assert(
      fc.asyncProperty(
        // Names that make a program load code (PATH, PS1, ...) are refused: covered below.
        fc.dictionary(NAME, value, {
          minKeys: 1,
          maxKeys: 4,
        }),
        async (vars) => {
          resetCloud();
          rmSync(join(h.cloudDir, 'gh.json'), { force: true });
          rmSync(join(h.cloudDir, 'fly.json'), { force: true });
          await h.store(vars);
          const outputs: string[] = [];
          for (const t of Object.keys(TARGETS) as Target[]) {
            const r = await h.run(['sync', '-p', 'consilio', '-e', 'prod', ...TARGETS[t]]);
            expect(r.code, `${t}: ${r.stderr}`).toBe(0);
            outputs.push(r.stdout, r.stderr);
            const got = state(h, t);
            for (const [k, v] of Object.entries(vars)) expect(got[k], `${t} ${k}`).toBe(v);
          }
          const argv = h.argv();
          const files = filesUnder(h.home).map((f) => readFileSync(f).toString('utf8'));
          for (const v of Object.values(vars)) {
            expect(argv).not.toContain(v);
            for (const o of outputs) expect(o).not.toContain(v);
            for (const f of files) expect(f.includes(v)).toBe(false);
          }
        },
      ),
      { numRuns: 3 },
    );
  }, 300_000);

  it('a value gh or fly would change arrives intact another way, or is refused by name', async () => {
    const h = setup();
    resetCloud();
    rmSync(join(h.cloudDir, 'gh.json'), { force: true });
    rmSync(join(h.cloudDir, 'fly.json'), { force: true });
    const pem = '-----BEGIN KEY-----\nAAAA-pem-sentinel\n-----END KEY-----\n';
    const vars = { A_JSON: '"quoted-start"', B_PLAIN: 'plain-b', C_PADDED: '  padded', D_PEM: pem };
    await h.store(vars);
    // fly: each value in a form flyctl's parser reads back exactly; nothing swallowed.
    const fly = await h.run(['sync', '-p', 'consilio', '-e', 'prod', ...TARGETS.fly]);
    expect(fly.code, fly.stderr).toBe(0);
    expect(h.fakeState('fly')).toEqual(vars);
    // gh trims a value's final line break: without a token nothing is pushed...
    const gh = await h.run(['sync', '-p', 'consilio', '-e', 'prod', ...TARGETS.github]);
    expect(gh.code).toBe(2);
    expect(gh.stderr).toContain('drop the line break at the end of D_PEM');
    expect(h.fakeState('gh')).toEqual({});
    expect(gh.stderr).not.toContain('pem-sentinel');
    // ...with one, the API carries every byte.
    const api = await h.run(['sync', '-p', 'consilio', '-e', 'prod', ...TARGETS.github], {
      GITHUB_TOKEN: TOKEN,
    });
    expect(api.code, api.stderr).toBe(0);
    expect(cloud.github.D_PEM).toBe(pem);
    expect(h.fakeState('gh')).toEqual({});
  });

  it('--dry-run changes nothing; --prune removes only what coffer synced there before; local-only never leaves', async () => {
    const h = setup();
    resetCloud();
    // STALE was synced by coffer once, then deleted from the project; OTHER is the target's own.
    await h.store({ STALE: 'x' }, []);
    cloud.heroku = {};
    const first = await h.run(['sync', '-p', 'consilio', '-e', 'prod', ...TARGETS.heroku]);
    expect(first.code, first.stderr).toBe(0);
    expect((await h.run(['delete', 'project/consilio/stale', '--env', 'prod'])).code).toBe(0);
    await h.store({ API_KEY: 'k-1', DB_URL: 'postgres://db', LOCAL_ONLY: 'mine' }, ['LOCAL_ONLY']);
    cloud.heroku = { API_KEY: 'k-1', DB_URL: 'old', STALE: 'x', OTHER: 'y' };
    const before = JSON.stringify(cloud.heroku);
    const dry = await h.run([
      'sync',
      '-p',
      'consilio',
      '-e',
      'prod',
      ...TARGETS.heroku,
      '--dry-run',
      '--prune',
      '--json',
    ]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({
      dryRun: true,
      add: [],
      change: ['DB_URL'],
      unchanged: ['API_KEY'],
      extra: ['OTHER', 'STALE'],
      stale: ['STALE'],
    });
    expect(JSON.stringify(cloud.heroku)).toBe(before);
    expect(dry.stdout).not.toContain('postgres://db');

    const kept = await h.run(['sync', '-p', 'consilio', '-e', 'prod', ...TARGETS.heroku]);
    expect(kept.code, kept.stderr).toBe(0);
    expect(cloud.heroku).toEqual({
      API_KEY: 'k-1',
      DB_URL: 'postgres://db',
      STALE: 'x',
      OTHER: 'y',
    });
    const pruned = await h.run([
      'sync',
      '-p',
      'consilio',
      '-e',
      'prod',
      ...TARGETS.heroku,
      '--prune',
    ]);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(cloud.heroku).toEqual({ API_KEY: 'k-1', DB_URL: 'postgres://db', OTHER: 'y' });
    expect(pruned.stderr).toContain('never synced by coffer (kept): OTHER');
    const audit = await h.run(['audit', '--json', '-n', '200']);
    expect((audit.stdout.match(/"action":\s*"sync"/g) ?? []).length).toBeGreaterThanOrEqual(2);
    expect(audit.stdout).toContain('removed STALE');
    expect(audit.stdout).not.toContain('postgres://db');
  }, 120_000);

  it('github without --repo: the repository gh resolves here names the target, so two repositories never share a --prune', async () => {
    const h = setup();
    await h.store({ SHARED: 's-1' });
    const sync = ['sync', '-p', 'consilio', '-e', 'prod', '--target', 'github'];
    // A clone of acme/consilio: the target is named by its repository, passed to gh.
    const first = await h.run([...sync, '--json'], { FAKE_GH_REPO: 'acme/consilio' });
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ target: 'github acme/consilio' });
    expect(h.fakeState('gh')).toEqual({ SHARED: 's-1' });
    expect(h.argv()).toContain('["gh","secret","set","SHARED","--repo","acme/consilio"]');
    // SHARED leaves the project. Another clone (acme/other) holds a SHARED of its own:
    // coffer never synced it there, so --prune keeps it; in acme/consilio it is removed.
    expect((await h.run(['delete', 'project/consilio/shared', '--env', 'prod'])).code).toBe(0);
    await h.store({ API_KEY: 'k-1' });
    const otherState = join(h.cloudDir, 'gh-acme_other.json');
    writeFileSync(otherState, JSON.stringify({ SHARED: 'theirs' }));
    const other = await h.run([...sync, '--prune'], { FAKE_GH_REPO: 'acme/other' });
    expect(other.code, other.stderr).toBe(0);
    expect(JSON.parse(readFileSync(otherState, 'utf8'))).toEqual({
      SHARED: 'theirs',
      API_KEY: 'k-1',
    });
    expect(other.stderr).toContain('never synced by coffer (kept): SHARED');
    const own = await h.run([...sync, '--prune'], { FAKE_GH_REPO: 'acme/consilio' });
    expect(own.code, own.stderr).toBe(0);
    expect(h.fakeState('gh')).toEqual({ API_KEY: 'k-1' });
    // Outside a repository gh resolves nothing: a usage error that says to pass --repo.
    const none = await h.run(sync);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/gh cannot tell which repository this is/);
    expect(none.stderr).toMatch(/--repo OWNER\/NAME/);
    const bad = await h.run([...sync, '--repo', '--jq=.']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/is not \[HOST\/\]OWNER\/NAME/);
  }, 120_000);

  it('a failing target names the variables not pushed', async () => {
    const h = setup();
    await h.store({ A_KEY: 'a', B_KEY: 'b', C_KEY: 'c' });
    const r = await h.run(['sync', '-p', 'consilio', '-e', 'prod', ...TARGETS.github], {
      FAKE_FAIL: 'B_KEY',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /github acme\/consilio: gh secret set failed \(exit 1\); not pushed: B_KEY, C_KEY/,
    );
    expect(h.fakeState('gh')).toEqual({ A_KEY: 'a' });
    // What did arrive is recorded as coffer's: a later --prune may remove it.
    const audit = JSON.parse((await h.run(['audit', '--json', '-n', '50'])).stdout) as {
      records: { action: string; path: string | null; detail: string | null }[];
    };
    expect(
      audit.records.filter((x) => x.action === 'sync' && x.path !== null).map((x) => x.path),
    ).toEqual(['project/consilio/a_key']);
    const noToken = await h.run(['sync', '-p', 'consilio', '-e', 'prod', ...TARGETS.render], {
      RENDER_API_KEY: '',
    });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/needs a token/);
    for (const f of filesUnder(h.home)) expect(statSync(f).isFile()).toBe(true);
  }, 120_000);
  it('a name that makes programs load code stops the sync at every target before anything is pushed, unless allowed here', async () => {
    const h = setup();
    resetCloud();
    cloud.requests = [];
    const EVIL = '--require /tmp/evil-Jt5.js';
    await h.store({ API_KEY: 'k-Rf3', NODE_OPTIONS: EVIL });
    const cli = () =>
      h
        .argv()
        .split('\n')
        .filter((l) => /"(set|import|delete|unset)"/.test(l));
    for (const t of Object.keys(TARGETS) as Target[]) {
      for (const extra of [[], ['--dry-run']]) {
        const r = await h.run(['sync', '-p', 'consilio', '-e', 'prod', ...TARGETS[t], ...extra]);
        expect(r.code, `${t} ${extra.join(' ')}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toContain('refused to sync the variable NODE_OPTIONS');
        expect(r.stderr).toContain('project/consilio/node_options');
        expect(r.stderr).toContain('--allow-env-name NODE_OPTIONS');
        expect(r.stdout + r.stderr).not.toMatch(/Jt5|Rf3/);
      }
      expect(state(h, t), t).toEqual({});
    }
    expect(cli()).toEqual([]);
    expect(cloud.requests.filter((q) => !q.startsWith('GET '))).toEqual([]);
    // Nothing synced; each refusal audited as one denied record naming the variable.
    const records = auditRecords(await h.run(['audit', '--json', '-n', '100']));
    const syncs = records.filter((x) => x.action === 'sync');
    expect(syncs).toHaveLength(Object.keys(TARGETS).length * 2);
    for (const x of syncs) {
      expect(x).toMatchObject({
        path: 'project/consilio/node_options',
        env: 'prod',
        outcome: 'denied',
        detail: expect.stringMatching(/^ENV_NAME_REFUSED NODE_OPTIONS: /),
      });
    }
    expect(JSON.stringify(records)).not.toMatch(/Jt5|Rf3/);

    // Allowed by the operator on this machine: pushed like any other variable.
    const allowed = await h.run([
      'sync',
      '-p',
      'consilio',
      '-e',
      'prod',
      ...TARGETS.heroku,
      '--allow-env-name',
      'node_options',
    ]);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(cloud.heroku).toEqual({ API_KEY: 'k-Rf3', NODE_OPTIONS: EVIL });
  }, 180_000);

  it('a refused name stops the sync before the --token-from secret is read or gh is run', async () => {
    const h = setup();
    resetCloud();
    cloud.requests = [];
    await h.store({ API_KEY: 'k-Wq2', NODE_OPTIONS: '--require /tmp/evil-Pz4.js' });
    const refused = (r: RunResult, what: string) => {
      expect(r.code, `${what}: ${r.stderr}`).toBe(2);
      expect(r.stderr, what).toContain('refused to sync the variable NODE_OPTIONS');
      expect(r.stdout + r.stderr, what).not.toMatch(/Pz4|Wq2/);
    };
    const sync = ['sync', '-p', 'consilio', '-e', 'prod'];
    // github without --repo would ask `gh repo view` which repository this is.
    refused(
      await h.run([...sync, '--target', 'github'], { FAKE_GH_REPO: 'acme/consilio' }),
      'github',
    );
    // A --token-from secret that does not exist: the refusal, not its SECRET_NOT_FOUND.
    refused(
      await h.run([...sync, ...TARGETS.heroku, '--token-from', 'meta/heroku/api_key']),
      'heroku, missing token secret',
    );
    // One that exists is not read either.
    const set = await h.run([
      'set',
      'meta/heroku/api_key',
      '-d',
      'Heroku API key for deploying the consilio app',
      '--env',
      'prod',
      '--value',
      'hk-token-Mv8',
    ]);
    expect(set.code, set.stderr).toBe(0);
    refused(
      await h.run([...sync, ...TARGETS.heroku, '--token-from', 'meta/heroku/api_key']),
      'heroku, token secret',
    );
    refused(
      await h.run(
        [
          ...sync,
          '--target',
          'github',
          '--repo',
          'acme/consilio',
          '--token-from',
          'meta/heroku/api_key',
        ],
        { PATH: '/nonexistent' },
      ),
      'github API, token secret',
    );
    expect(h.argv()).toBe('');
    expect(cloud.requests).toEqual([]);
    const audit = JSON.parse((await h.run(['audit', '--json', '-n', '100'])).stdout) as {
      records: { action: string; path: string | null; outcome: string }[];
    };
    expect(
      audit.records.filter((x) => x.path === 'meta/heroku/api_key').map((x) => x.action),
    ).toEqual(['set']);
  });

  it('github without gh: the REST API with every value sealed to the repository key', async () => {
    const h = setup();
    resetCloud();
    // No gh on PATH: an empty directory only (coffer itself runs from node's absolute path).
    const noGh = { PATH: mkdtempSync(join(tmpdir(), 'coffer-nogh-')) };
    const values = {
      API_KEY: `ghs-${randomBytes(8).toString('hex')}`,
      DB_URL: `postgres://u:${randomBytes(6).toString('hex')}@db/x é`,
    };
    await h.store(values);
    const sync = ['sync', '-p', 'consilio', '-e', 'prod', ...TARGETS.github];
    const missing = await h.run(sync, noGh);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/gh is not installed/);
    expect(missing.stderr).toMatch(/GITHUB_TOKEN/);

    // STALE was synced there by coffer, then left the project: --prune removes it.
    await h.store({ STALE: 'x' });
    cloud.github = {};
    expect((await h.run(sync, { ...noGh, GITHUB_TOKEN: TOKEN })).code).toBe(0);
    expect((await h.run(['delete', 'project/consilio/stale', '--env', 'prod'])).code).toBe(0);
    cloud.github = { STALE: 'x' };
    const dry = await h.run([...sync, '--dry-run', '--prune', '--json'], {
      ...noGh,
      GITHUB_TOKEN: TOKEN,
    });
    expect(dry.code, dry.stderr).toBe(0);
    expect(cloud.github).toEqual({ STALE: 'x' });

    cloud.requests = [];
    const r = await h.run([...sync, '--prune'], { ...noGh, GH_TOKEN: TOKEN });
    expect(r.code, r.stderr).toBe(0);
    expect(cloud.github).toEqual(values);
    expect(cloud.requests).toContain('GET /github/repos/acme/consilio/actions/secrets/public-key');
    expect(cloud.requests).toContain('DELETE /github/repos/acme/consilio/actions/secrets/STALE');
    for (const v of Object.values(values)) {
      expect(r.stdout + r.stderr + cloud.requests.join('\n')).not.toContain(v);
      for (const f of filesUnder(h.home)) expect(readFileSync(f).includes(v)).toBe(false);
    }

    // A failing PUT names the variables not pushed.
    cloud.github = {};
    process.env.FAKE_GITHUB_FAIL = 'API_KEY'; // read by the stand-in, in this process
    const failed = await h.run(sync, { ...noGh, GITHUB_TOKEN: TOKEN }).finally(() => {
      delete process.env.FAKE_GITHUB_FAIL;
    });
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toMatch(/not pushed: API_KEY, DB_URL/);
  }, 120_000);
});
