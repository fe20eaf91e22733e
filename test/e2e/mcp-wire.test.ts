/**
 * `coffer mcp` at the protocol's edges: raw JSON-RPC on the pipes (stdout carries nothing
 * else; an unknown tool is a JSON-RPC error), the 2026-07-28 protocol negotiated through
 * `server/discover`, and the usage errors that stop the server before it serves.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { BIN, finished, makeHome, STRIPE_DESCRIPTION } from './harness.js';
import { CLIENT_INFO, STRIPE, STRIPE_VALUE, startMcp, TOOLS } from './mcp-harness.js';

describe('coffer mcp on the wire', () => {
  it('writes only JSON-RPC messages on stdout; an unknown tool is a JSON-RPC error', async () => {
    const h = makeHome();
    expect(h.run(['init']).code).toBe(0);
    const child = spawn(process.execPath, [BIN, 'mcp'], {
      env: h.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    const waiting = new Map<number, (msg: { id: number; error?: { code: number } }) => void>();
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      const msg = JSON.parse(line);
      waiting.get(msg.id)?.(msg);
    });
    const request = (id: number, method: string, params: unknown) =>
      new Promise<{ id: number; error?: { code: number } }>((resolve) => {
        waiting.set(id, resolve);
        child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
      });
    await request(1, 'initialize', {
      protocolVersion: '2025-11-25',
      capabilities: {},
      clientInfo: { name: 'raw', version: '0' },
    });
    child.stdin.write(
      `${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`,
    );
    expect((await request(2, 'tools/list', {})).error).toBeUndefined();
    const unknown = await request(3, 'tools/call', { name: 'rotate_everything', arguments: {} });
    expect(unknown.error?.code).toBe(-32602);
    const done = finished(child);
    child.stdin.end();
    const exit = await done;
    expect(exit.code).toBe(0);
    expect(lines.length).toBe(3);
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ jsonrpc: '2.0' });
    expect(exit.stderr).toContain('coffer mcp serving on stdio');
  });

  it('also serves protocol 2026-07-28, auditing the client named in each request', async () => {
    const h = makeHome();
    expect(h.run(['init']).code).toBe(0);
    const modern = await startMcp({ env: h.env, cwd: h.home, protocol: '2026-07-28' });
    try {
      expect(modern.client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
      expect((await modern.client.listTools()).tools.map((t) => t.name)).toEqual(TOOLS);
      const set = await modern.call('set_secret', {
        keyPath: STRIPE,
        value: STRIPE_VALUE,
        description: STRIPE_DESCRIPTION,
      });
      expect(set.structuredContent).toMatchObject({ created: true, verified: true });
      const bad = await modern.call('get_secret', { keyPath: 'project/CONSILIO/Key' });
      expect(JSON.stringify(bad.structuredContent)).toContain('did you mean project/consilio/key');
    } finally {
      await modern.close();
    }
    const audit = JSON.parse(h.run(['audit', '--json']).stdout) as { records: { actor: string }[] };
    expect(audit.records.at(-1)?.actor).toBe(`mcp:${CLIENT_INFO.name}/${CLIENT_INFO.version}`);
  });

  it('refuses --passphrase-stdin and bad --allow globs before serving', () => {
    const h = makeHome();
    expect(h.run(['init']).code).toBe(0);
    const stdin = h.run(['--passphrase-stdin', 'mcp']);
    expect(stdin.code).toBe(2);
    expect(stdin.stderr).toContain('stdin carries the MCP protocol');
    const glob = h.run(['mcp', '--allow', 'project/*']);
    expect(glob.code).toBe(2);
    expect(glob.stderr).toContain('can never match a key path');
    expect(glob.stdout).toBe('');
    const reveal = h.run(['mcp', '--reveal', 'sometimes']);
    expect(reveal.code).toBe(2);
  });
});
