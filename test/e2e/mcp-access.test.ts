/**
 * `coffer mcp` under `--reveal never`, end to end: `--env` limits environments as `--allow`
 * limits key paths, every refusal is in the audit log (outcome denied), and no tool answer
 * tells an agent whether a value equals one it supplied (write_env) or shows a meaningful
 * share of a short value (previews).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRecords, makeHome } from './harness.js';
import { type McpSession, startMcp } from './mcp-harness.js';

const PIN = 'project/bank/card_pin';
const PIN_VALUE = '4729';

describe('coffer mcp --env and --reveal never', () => {
  const h = makeHome();
  const cwd = join(h.home, 'bank');
  const sessions: McpSession[] = [];
  const start = async (args: string[]) => {
    const s = await startMcp({ env: h.env, cwd, protocol: '2025-11-25', args });
    sessions.push(s);
    return s;
  };
  const audit = () => auditRecords(h.run(['audit', '-n', '100000', '--json']));

  beforeAll(() => {
    mkdirSync(cwd);
    expect(h.run(['init']).code).toBe(0);
    for (const env of ['dev', 'prod']) {
      const set = h.run(['set', PIN, '-e', env, '-d', 'Card PIN for the bank test account'], {
        input: PIN_VALUE,
      });
      expect(set.code, set.stderr).toBe(0);
    }
  });
  afterAll(async () => {
    for (const s of sessions) await s.close();
  });

  it('--env limits the environments of every tool; refusals are audited as denied', async () => {
    const mcp = await start(['--env', 'dev', '--reveal', 'never']);
    const calls: [string, Record<string, unknown>][] = [
      ['get_secret', { keyPath: PIN, env: 'prod' }],
      ['verify_secret', { keyPath: PIN, env: 'prod' }],
      ['list_secrets', { scope: 'project', project: 'bank', env: 'prod' }],
      ['write_env', { project: 'bank', env: 'prod' }],
      ['set_secret', { keyPath: PIN, env: 'prod', value: '0000' }],
      [
        'generate_secret',
        {
          keyPath: 'project/bank/new_key',
          env: 'prod',
          description: 'Signing key for prod statements',
        },
      ],
    ];
    const before = audit().length;
    for (const [tool, args] of calls) {
      const r = await mcp.call(tool, args);
      expect(r.isError, tool).toBe(true);
      expect(r.structuredContent, tool).toMatchObject({ error: { code: 'FORBIDDEN' } });
    }
    const denied = audit()
      .slice(before)
      .filter((r) => r.outcome === 'denied');
    expect(denied).toHaveLength(calls.length);
    for (const r of denied) {
      expect(r).toMatchObject({ env: 'prod', detail: 'environment not allowed' });
      expect(r.actor).toMatch(/^mcp:/);
    }
    // The named environment is the default; dev works.
    const dev = await mcp.call('get_secret', { keyPath: PIN });
    expect(dev.structuredContent).toMatchObject({ env: 'dev', revealed: false });
    expect(h.run(['get', PIN, '-e', 'prod']).stdout).toBe(`${PIN_VALUE}\n`);
  });

  it('an --allow refusal is audited too', async () => {
    const mcp = await start(['--allow', 'project/other/*', '--reveal', 'never']);
    const before = audit().length;
    const r = await mcp.call('get_secret', { keyPath: PIN });
    expect(r.structuredContent).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect(audit().slice(before)).toEqual([
      expect.objectContaining({
        action: 'get',
        path: PIN,
        outcome: 'denied',
        detail: 'path not allowed',
      }),
    ]);
  });

  it('write_env answers the same whether a guess in the file is right or wrong', async () => {
    const mcp = await start(['--reveal', 'never']);
    const answers: unknown[] = [];
    for (const guess of ['1111', PIN_VALUE]) {
      writeFileSync(join(cwd, '.env'), `CARD_PIN=${guess}\n`);
      const r = await mcp.call('write_env', { project: 'bank' });
      expect(r.isError).toBeFalsy();
      answers.push(r.structuredContent);
      expect(readFileSync(join(cwd, '.env'), 'utf8')).toContain(`CARD_PIN=${PIN_VALUE}`);
    }
    expect(answers[0]).toEqual(answers[1]);
    expect(answers[0]).toMatchObject({ written: ['CARD_PIN'] });
    expect(answers[0]).not.toHaveProperty('unchanged');
  });

  it('previews show nothing of a short value', async () => {
    const mcp = await start(['--reveal', 'never']);
    const got = await mcp.call('get_secret', { keyPath: PIN });
    expect(got.structuredContent).toMatchObject({ revealed: false, preview: '…' });
    const set = await mcp.call('set_secret', {
      keyPath: 'project/bank/short_password',
      value: 'hunter2-ok',
      description: 'Password of the bank test account',
    });
    expect(set.structuredContent).toMatchObject({ preview: '…' });
    expect(JSON.stringify([got, set, mcp.results])).not.toMatch(/4729|472|hunter/);
  });
});
