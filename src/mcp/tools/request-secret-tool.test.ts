/**
 * request_secret / request_status in remote mode, where this process writes the .env file of
 * `writeEnv` after the server stored the value: a failed write is reported as such, with the
 * value stored (and its version), so the agent does not ask the user again. And the rounds of
 * protocol 2026-07-28: the first asks by URL, the retry waits for the page or ends the request.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestVault, type TestVault } from '../../../test/helpers/vault.js';
import { readAudit } from '../../core/audit/log.js';
import type { SecretRequestView } from '../../core/requests/secret-requests.js';
import { localMcpBackend } from '../backend.js';
import { mcpPolicy } from '../policy.js';
import { requestSecretTool, requestStatusTool } from './request-secret-tool.js';
import type { RequestRegistry, ToolContext } from './tool.js';

const VALUE = 'sk_live_stored-on-the-server-sentinel-Wq41';
const PATH = 'project/shop/stripe_key';

let tv: TestVault;
let cwd: string;
beforeAll(async () => {
  tv = await makeTestVault();
  cwd = mkdtempSync(join(tmpdir(), 'coffer-request-env-'));
});
afterAll(async () => {
  tv.vault.close();
  await tv.storage.close();
  rmSync(cwd, { recursive: true, force: true });
});

let n = 0;
/** A `coffer serve` stand-in that has stored the value already (remote mode). */
async function storedOnServer(writeEnv: string): Promise<SecretRequestView> {
  const stored = await tv.vault.set(PATH, 'dev', VALUE, {
    description: 'Stripe secret key for the shop checkout',
  });
  return {
    id: `req_${String(n++).padStart(24, '0')}`,
    path: PATH,
    env: 'dev',
    description: 'Stripe secret key for the shop checkout',
    writeEnv,
    actor: 'mcp:unit/1',
    status: 'stored',
    version: stored.version,
    createdAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + 600_000).toISOString(),
  };
}

function ctx(view: SecretRequestView, completed: string[] = []): ToolContext {
  const registry: RequestRegistry = {
    open: async () => ({ request: { ...view, status: 'pending' }, url: 'https://coffer.test/r/x' }),
    status: async () => view,
    wait: async () => view,
    decline: async () => ({ ...view, status: 'declined' }),
    writesEnv: false,
  };
  return {
    vault: localMcpBackend(tv.vault, async () => {}).as('mcp:unit/1'),
    policy: mcpPolicy({ allow: [], envs: [], readOnly: false, reveal: 'never' }),
    defaultEnv: 'dev',
    cwd,
    requests: {
      registry,
      actor: 'mcp:unit/1',
      elicitUrl: async () => 'accept',
      notifyComplete: async (id) => {
        completed.push(id);
      },
    },
  };
}

type Out = {
  status: string;
  version?: number;
  written?: string[];
  writeEnvError?: string;
  message: string;
};

describe('request_secret in remote mode when the .env file cannot be written', () => {
  it('says the value is stored (version) and why the file was not written, then writes it once fixed', async () => {
    // `.env` is a directory here: the write is refused after the server stored the value.
    mkdirSync(join(cwd, '.env'));
    const view = await storedOnServer('.env');
    const out = (await requestStatusTool.run({ requestId: view.id }, ctx(view))) as Out;
    expect(out).toMatchObject({ status: 'stored', version: view.version });
    expect(out.written).toBeUndefined();
    expect(out.writeEnvError).toMatch(/\.env is .*(not a regular|directory).*\(INVALID_ARGUMENT\)/);
    expect(out.message).toContain(`Stored ${PATH} (dev) version ${view.version}`);
    expect(out.message).toContain('writing .env failed');
    expect(out.message).toContain('do not ask the user for it again');
    expect(JSON.stringify(out)).not.toContain(VALUE);

    rmSync(join(cwd, '.env'), { recursive: true });
    const again = (await requestStatusTool.run({ requestId: view.id }, ctx(view))) as Out;
    expect(again).toMatchObject({ status: 'stored', written: ['STRIPE_KEY'] });
    expect(again.writeEnvError).toBeUndefined();
    expect(again.message).toContain('written to .env: STRIPE_KEY');
    expect(readFileSync(join(cwd, '.env'), 'utf8')).toContain(VALUE);
  });

  it('reports the same from request_secret with URL elicitation, and completes the elicitation', async () => {
    const view = await storedOnServer('.env.late');
    const completed: string[] = [];
    const c = ctx(view, completed);
    // The file was fine when the request was made; it is a directory by the time the value is.
    c.requests!.elicitUrl = async () => {
      mkdirSync(join(cwd, '.env.late'));
      return 'accept';
    };
    const out = (await requestSecretTool.run(
      {
        keyPath: PATH,
        description: 'Stripe secret key for the shop checkout',
        writeEnv: '.env.late',
      },
      c,
    )) as Out;
    expect(out).toMatchObject({ status: 'stored', version: view.version });
    expect(out.writeEnvError).toContain('not a regular file');
    expect(out.writeEnvError).toContain('(INVALID_ARGUMENT)');
    expect(out.message).toContain(`version ${view.version}, but writing .env.late failed`);
    expect(completed).toEqual([view.id]);
    expect(JSON.stringify(out)).not.toContain(VALUE);
  });

  it('refuses a writeEnv that write_env would refuse before the user is asked', async () => {
    const view = await storedOnServer('.env');
    for (const [writeEnv, code, detail] of [
      ['../outside.env', 'FORBIDDEN', `../outside.env is outside the working directory ${cwd}`],
      ['app.env', 'INVALID_ARGUMENT', 'app.env is not a dotenv file'],
      ['.env.example', 'INVALID_ARGUMENT', '.env.example is a template meant to be committed'],
    ] as const) {
      const before = (await readAudit(tv.vault, { limit: 1 }))[0]!.seq;
      const opened: string[] = [];
      const c = ctx(view);
      c.requests!.registry = {
        ...c.requests!.registry,
        open: async () => {
          opened.push(writeEnv);
          return { request: view, url: 'https://coffer.test/r/x' };
        },
      };
      await expect(
        requestSecretTool.run(
          { keyPath: PATH, description: 'Stripe secret key for the shop checkout', writeEnv },
          c,
        ),
      ).rejects.toMatchObject({ code });
      expect(opened).toEqual([]);
      // Each refusal is audited, naming the file and why.
      expect((await readAudit(tv.vault)).filter((r) => r.seq > before)).toEqual([
        expect.objectContaining({
          action: 'request_secret',
          outcome: 'denied',
          path: PATH,
          env: 'dev',
          detail,
        }),
      ]);
    }
  });
});

describe('request_secret on protocol 2026-07-28 (rounds)', () => {
  const args = { keyPath: PATH, description: 'Stripe secret key for the shop checkout' };
  const view: SecretRequestView = {
    id: 'req_round000000000000000000',
    path: PATH,
    env: 'dev',
    description: args.description,
    actor: 'mcp:unit/1',
    status: 'pending',
    createdAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + 600_000).toISOString(),
  };

  /** A context whose registry records what the tool did with it. */
  function roundCtx(round: NonNullable<NonNullable<ToolContext['requests']>['round']>) {
    const calls: string[] = [];
    const base = ctx(view);
    const registry: RequestRegistry = {
      open: async () => {
        calls.push('open');
        return { request: view, url: 'http://127.0.0.1:1/r/token' };
      },
      status: async () => view,
      wait: async (id) => {
        calls.push(`wait ${id}`);
        return { ...view, status: 'stored', version: 3 };
      },
      decline: async (id, by) => {
        calls.push(`decline ${id} by ${by}`);
        return { ...view, status: 'declined' };
      },
      writesEnv: true,
    };
    const c: ToolContext = { ...base, requests: { registry, actor: 'mcp:unit/1', round } };
    return { c, calls };
  }

  it('the first round opens the request and asks by URL, its request sealed in the state', async () => {
    const asked: unknown[] = [];
    const { c, calls } = roundCtx({ canElicitUrl: true, ask: async (p) => void asked.push(p) });
    await requestSecretTool.run(args, c);
    expect(calls).toEqual(['open']);
    expect(asked).toEqual([
      {
        message: expect.stringContaining(`${PATH} (dev)`),
        state: {
          tool: 'request_secret',
          id: view.id,
          path: PATH,
          env: 'dev',
          url: 'http://127.0.0.1:1/r/token',
        },
      },
    ]);
  });

  const URL = 'http://127.0.0.1:1/r/token';
  const sealed = (path: string, env: string) => ({
    tool: 'request_secret',
    id: view.id,
    path,
    env,
    url: URL,
  });

  it('a retry answered accept waits for the page; declined or cancelled ends it', async () => {
    const state = sealed(PATH, 'dev');
    const ask = async () => {};
    const ok = roundCtx({ canElicitUrl: true, retry: { state, answer: 'accept' }, ask });
    expect(await requestSecretTool.run(args, ok.c)).toMatchObject({ status: 'stored', version: 3 });
    expect(ok.calls).toEqual([`wait ${view.id}`]);
    for (const answer of ['decline', 'cancel'] as const) {
      const no = roundCtx({ canElicitUrl: true, retry: { state, answer }, ask });
      expect(await requestSecretTool.run(args, no.c)).toMatchObject({ status: 'declined' });
      expect(no.calls).toEqual([`decline ${view.id} by the client (${answer})`]);
    }
  });

  it('a retry without a readable answer decides nothing and gives the agent the link', async () => {
    const { c, calls } = roundCtx({
      canElicitUrl: true,
      retry: { state: sealed(PATH, 'dev'), answer: 'missing' },
      ask: async () => {},
    });
    const out = await requestSecretTool.run(args, c);
    expect(out).toMatchObject({ status: 'pending', url: URL, requestId: view.id });
    expect(calls).toEqual([]);
  });

  it('a retry whose state names another key path or environment is refused, nothing touched', async () => {
    for (const state of [sealed('project/shop/other_key', 'dev'), sealed(PATH, 'prod')]) {
      const { c, calls } = roundCtx({
        canElicitUrl: true,
        retry: { state, answer: 'accept' },
        ask: async () => {},
      });
      await expect(requestSecretTool.run(args, c)).rejects.toThrow(/continues a request for/);
      expect(calls).toEqual([]);
    }
  });
});
