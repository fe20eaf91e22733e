/**
 * The server over the SDK's in-memory transport: tools/list as clients see it, results as
 * structuredContent plus the same JSON as text, JSON-RPC errors for unknown tools, error
 * results for malformed arguments, read-only mode, the audit actor and the log lines.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, ProtocolError } from '@modelcontextprotocol/client';
import { InMemoryTransport } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DESCRIPTION, makeTestVault, type TestVault } from '../../test/helpers/vault.js';
import { localMcpBackend } from './backend.js';
import { mcpPolicy } from './policy.js';
import { type CofferMcpOptions, createCofferMcpServer } from './server.js';
import { TOOLS } from './tools/index.js';

let tv: TestVault;
const lines: string[] = [];
beforeAll(async () => {
  tv = await makeTestVault();
});
afterAll(async () => {
  tv.vault.close();
  await tv.storage.close();
});

async function connect(
  overrides: Partial<CofferMcpOptions> & {
    reveal?: 'allow' | 'never';
    allow?: string[];
    envs?: string[];
    /** The client's protocol and capabilities (default: the SDK client's). */
    client?: ConstructorParameters<typeof Client>[1];
  } = {},
): Promise<Client> {
  const { reveal = 'allow', allow = [], envs = [], client: clientOptions, ...rest } = overrides;
  const readOnly = rest.readOnly ?? false;
  const server = createCofferMcpServer({
    backend: localMcpBackend(tv.vault, async () => {}),
    policy: mcpPolicy({ allow, envs, readOnly, reveal }),
    readOnly,
    defaultEnv: 'dev',
    agentId: 'unit-agent',
    cwd: tv.dir,
    log: {
      info: (fields, msg) => lines.push(JSON.stringify({ ...fields, msg })),
      warn: (fields, msg) => lines.push(JSON.stringify({ ...fields, msg })),
    },
    version: '0.0.0-test',
    ...rest,
  });
  const [a, b] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'unit-client', version: '9.9' }, clientOptions);
  if (clientOptions?.versionNegotiation !== undefined) {
    // As `coffer mcp` serves: the opening exchange picks the protocol era (2026-07-28 too).
    serveStdio(() => server, { transport: a });
    await client.connect(b);
  } else await Promise.all([server.connect(a), client.connect(b)]);
  return client;
}

type Result = Awaited<ReturnType<Client['callTool']>>;
const textOf = (r: Result) => (r.content as { type: string; text: string }[])[0]!.text;

describe('coffer MCP server (in memory)', () => {
  it('lists every tool with schemas and required arguments', async () => {
    const client = await connect();
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(TOOLS.map((t) => t.name));
    expect(tools).toHaveLength(12);
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    expect(Object.keys(byName.set_secret!.inputSchema.properties ?? {})).toEqual([
      'keyPath',
      'value',
      'description',
      'env',
      'allowEmpty',
    ]);
    expect(byName.set_secret!.inputSchema.required).toEqual(['keyPath', 'value']);
    expect(byName.list_secrets!.inputSchema.required).toEqual(['scope']);
    expect(byName.generate_secret!.inputSchema.required).toEqual(['keyPath', 'description']);
    expect(byName.write_env!.inputSchema.required).toEqual(['project']);
    for (const t of tools) {
      expect(t.outputSchema?.type).toBe('object');
      expect(t.annotations?.openWorldHint).toBe(false);
      expect(t.annotations?.title).toBe(t.title);
    }
    await client.close();
  });

  it('answers with structuredContent and the same JSON as text', async () => {
    const client = await connect();
    const r = await client.callTool({
      name: 'set_secret',
      arguments: {
        keyPath: 'project/consilio/stripe_api_key',
        value: 'sk_live_abc123xyz',
        description: DESCRIPTION,
      },
    });
    expect(r.isError).toBeFalsy();
    expect(JSON.parse(textOf(r))).toEqual(r.structuredContent);
    expect(r.structuredContent).toMatchObject({ created: true, verified: true, preview: 'sk…' });
    await client.close();
  });

  it('gives a JSON-RPC error for an unknown tool, an error result for malformed arguments', async () => {
    const client = await connect();
    const unknown = await client
      .callTool({ name: 'delete_secret', arguments: {} })
      .catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(ProtocolError);
    expect((unknown as ProtocolError).code).toBe(-32602);
    const bad = await client.callTool({
      name: 'set_secret',
      arguments: {
        keyPath: 'project/consilio/key',
        value: 918273645546372,
        description: DESCRIPTION,
      },
    });
    expect(bad.isError).toBe(true);
    expect(textOf(bad)).toContain('value');
    expect(textOf(bad)).not.toContain('918273645546372');
    // Answered like any refusal: the error in structuredContent, and a log line.
    expect(bad.structuredContent).toMatchObject({
      error: {
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(/^invalid arguments for set_secret: value: /),
      },
    });
    expect(JSON.parse(textOf(bad))).toEqual(bad.structuredContent);
    const logged = lines.filter(
      (l) => l.includes('"INVALID_ARGUMENT"') && l.includes('set_secret'),
    );
    expect(logged.length).toBeGreaterThan(0);
    expect(lines.join('\n')).not.toContain('918273645546372');
    // An argument the schema does not name is not repeated (its name is the caller's text);
    // a missing required one is named.
    const odd = await client.callTool({ name: 'get_secret', arguments: { sk_live_name123: 1 } });
    expect(odd.isError).toBe(true);
    expect(odd.structuredContent).toMatchObject({ error: { code: 'INVALID_ARGUMENT' } });
    expect(textOf(odd)).toContain('keyPath');
    expect(textOf(odd) + lines.join('\n')).not.toContain('sk_live_name123');
    // A value given as the environment too: refused by the core, and kept out of the log.
    const mixed = await client.callTool({
      name: 'set_secret',
      arguments: {
        keyPath: 'project/consilio/key',
        value: 'wv26valwv26val',
        env: 'wv26valwv26val',
        description: DESCRIPTION,
      },
    });
    expect(mixed.structuredContent).toMatchObject({ error: { code: 'INVALID_VALUE' } });
    expect(textOf(mixed) + lines.join('\n')).not.toContain('wv26valwv26val');
    await client.close();
  });

  it('registers only read-only tools with --read-only', async () => {
    const client = await connect({ readOnly: true });
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual([
      'get_secret',
      'list_secrets',
      'verify_secret',
      'manifest_status',
      'rotation_status',
      'request_status',
    ]);
    const refused = await client
      .callTool({ name: 'set_secret', arguments: { keyPath: 'project/a/b', value: 'v' } })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ProtocolError);
    await client.close();
  });

  it('audits as the declared client and agent, and logs no value (property, --reveal never)', async () => {
    const client = await connect({ reveal: 'never' });
    const seen: string[] = [];
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 12, maxLength: 60 }),
        fc.nat(999),
        async (value, n) => {
          const keyPath = `project/unit/key_${n}`;
          const args = { keyPath, value, description: 'Unit property secret for the leak check' };
          seen.push(JSON.stringify(await client.callTool({ name: 'set_secret', arguments: args })));
          for (const name of ['get_secret', 'verify_secret']) {
            seen.push(JSON.stringify(await client.callTool({ name, arguments: { keyPath } })));
          }
          const generic = { ...args, keyPath: `project/unit/new_${n}`, description: 'token' };
          seen.push(
            JSON.stringify(await client.callTool({ name: 'set_secret', arguments: generic })),
          );
          const out = seen.join('\n') + lines.join('\n');
          expect(out).not.toContain(JSON.stringify(value).slice(1, -1));
          expect(out).not.toContain(value);
        },
      ),
      { numRuns: 15 },
    );
    const records = await tv.storage.transaction('read', (tx) => tx.listAudit({ limit: 10_000 }));
    const mine = records.filter((r) => r.path?.startsWith('project/unit/'));
    expect(mine.length).toBeGreaterThan(0);
    expect(new Set(mine.map((r) => r.actor))).toEqual(
      new Set(['mcp:unit-client/9.9 agent:unit-agent']),
    );
    expect(
      lines.some((l) => l.includes('"tool":"get_secret"') && l.includes('"outcome":"ok"')),
    ).toBe(true);
    expect(lines.some((l) => l.includes('"code":"INVALID_DESCRIPTION"'))).toBe(true);
    await client.close();
  });

  it('keeps a value given in the wrong argument out of the log', async () => {
    const client = await connect();
    const value = 'sk_live_WRONGPLACE123456';
    const r = await client.callTool({
      name: 'get_secret',
      arguments: { keyPath: value, env: value },
    });
    expect(r.isError).toBe(true);
    expect(lines.join('\n')).not.toContain(value);
    expect(lines.at(-1)).toContain('"keyPath":"(invalid)"');
    await client.close();
  });

  it('refuses environments and key paths outside its policy, and audits each refusal', async () => {
    await tv.vault.set('project/scoped/db_url', 'prod', 'prod-value-not-shown', {
      description: DESCRIPTION,
    });
    const client = await connect({ allow: ['project/scoped/*'], envs: ['dev'] });
    const before = await tv.storage.transaction('read', (tx) => tx.listAudit({ limit: 10_000 }));
    const env = await client.callTool({
      name: 'get_secret',
      arguments: { keyPath: 'project/scoped/db_url', env: 'prod' },
    });
    const path = await client.callTool({
      name: 'verify_secret',
      arguments: { keyPath: 'project/other/db_url' },
    });
    for (const r of [env, path]) {
      expect(r.isError).toBe(true);
      expect(r.structuredContent).toMatchObject({ error: { code: 'FORBIDDEN' } });
    }
    expect(textOf(env)).not.toContain('prod-value-not-shown');
    const after = await tv.storage.transaction('read', (tx) => tx.listAudit({ limit: 10_000 }));
    expect(after.slice(before.length)).toEqual([
      expect.objectContaining({
        actor: 'mcp:unit-client/9.9 agent:unit-agent',
        action: 'get',
        path: 'project/scoped/db_url',
        env: 'prod',
        outcome: 'denied',
        detail: 'environment not allowed',
      }),
      expect.objectContaining({
        action: 'verify',
        path: 'project/other/db_url',
        env: 'dev',
        outcome: 'denied',
        detail: 'path not allowed',
      }),
    ]);
    await client.close();
  });

  it('2026-07-28: request_secret state outlives its request, so a late retry reads expired', async () => {
    // Only Date is faked: the request's expiry and the state's are read from it.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const client = await connect({
        client: {
          versionNegotiation: { mode: { pin: '2026-07-28' } },
          capabilities: { elicitation: { url: {} } },
        },
      });
      const args = { keyPath: 'project/shop/late_key', description: DESCRIPTION };
      const first = (await client.callTool(
        { name: 'request_secret', arguments: args },
        { allowInputRequired: true },
      )) as { resultType?: string; requestState?: string };
      expect(first.resultType).toBe('input_required');
      const retry = () =>
        client.callTool(
          {
            name: 'request_secret',
            arguments: args,
            inputResponses: { value: { action: 'accept' } },
            requestState: first.requestState,
          } as never,
          { allowInputRequired: true },
        );
      vi.setSystemTime(Date.now() + 11 * 60_000); // the link (10 minutes) is dead
      const late = (await retry()) as { structuredContent?: Record<string, unknown> };
      expect(late.structuredContent).toMatchObject({ status: 'expired' });
      vi.setSystemTime(Date.now() + 5 * 60_000); // and the state too
      await expect(retry()).rejects.toThrow(/Invalid or expired requestState/);
      await client.close();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('request_secret with writeEnv (local vault): the value is stored whatever stops the file', () => {
  const VALUE = 'sk_live_from_the_user_Rk27';

  /** The user answers the request's page with `value`, as a browser posts its form. */
  async function answerPage(url: string, value: string): Promise<number> {
    const page = await (await fetch(url)).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1]!;
    const res = await fetch(url, {
      method: 'POST',
      headers: { origin: new URL(url).origin, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf, action: 'store', value }).toString(),
    });
    await res.text();
    return res.status;
  }

  /**
   * Opens a request for `keyPath` with `writeEnv`, lets `meanwhile` change the directory before
   * the user answers, answers it, and gives the page's status and request_status's answer.
   */
  async function storedWith(
    keyPath: string,
    writeEnv: string,
    meanwhile: (cwd: string) => void,
    backend = localMcpBackend(tv.vault, async () => {}),
  ) {
    const cwd = mkdtempSync(join(tmpdir(), 'coffer-mcp-request-'));
    const client = await connect({ cwd, backend });
    try {
      const opened = (
        await client.callTool({
          name: 'request_secret',
          arguments: { keyPath, description: DESCRIPTION, writeEnv },
        })
      ).structuredContent as { url: string; requestId: string };
      meanwhile(cwd);
      const http = await answerPage(opened.url, VALUE);
      const status = (
        await client.callTool({
          name: 'request_status',
          arguments: { requestId: opened.requestId },
        })
      ).structuredContent as Record<string, unknown>;
      return { http, status, cwd };
    } finally {
      await client.close();
    }
  }

  it('a directory that became a file: stored, and writeEnvError names the file (IO_ERROR)', async () => {
    const { http, status } = await storedWith('project/shop/stripe_key', 'sub/.env', (cwd) =>
      writeFileSync(join(cwd, 'sub'), 'x'),
    );
    expect(http).toBe(200);
    expect(status).toMatchObject({
      status: 'stored',
      version: 1,
      writeEnvError:
        'cannot use sub/.env: a part of the path is not a directory (ENOTDIR) (IO_ERROR)',
    });
    expect(status.message).toContain('do not ask the user for it again');
    expect((await tv.vault.get('project/shop/stripe_key', 'dev')).value).toBe(VALUE);
    expect(JSON.stringify(status)).not.toContain(VALUE);
  });

  it('an unexpected error: stored, and writeEnvError says INTERNAL without its text', async () => {
    // Reading the value back for the file fails with an error that is no CofferError.
    const inner = localMcpBackend(tv.vault, async () => {});
    const backend = {
      ...inner,
      as: (actor: string) =>
        new Proxy(inner.as(actor), {
          get(target, key) {
            if (key === 'get') {
              return async () => {
                throw new TypeError('disk gone under /srv/private/place');
              };
            }
            const v = Reflect.get(target, key);
            return typeof v === 'function' ? v.bind(target) : v;
          },
        }),
    };
    const from = lines.length;
    const { http, status, cwd } = await storedWith(
      'project/shop/webhook_key',
      '.env',
      () => {},
      backend,
    );
    expect(http).toBe(200);
    expect(status).toMatchObject({
      status: 'stored',
      version: 1,
      writeEnvError: "internal error (TypeError); see the server's log (INTERNAL)",
    });
    expect((await tv.vault.get('project/shop/webhook_key', 'dev')).value).toBe(VALUE);
    expect(existsSync(join(cwd, '.env'))).toBe(false);
    const logged = lines.slice(from).join('\n');
    expect(logged).toContain('writing the .env file of a stored request failed');
    expect(logged).not.toContain('/srv/private');
    expect(logged).not.toContain(VALUE);
  });
});
