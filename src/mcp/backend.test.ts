/**
 * MCP backends: locally each actor gets its own service (its audit records name it), the
 * same one on every call; in remote mode every actor gets the server's service (the server
 * audits the token), and closing the backend closes it.
 */
import { describe, expect, it } from 'vitest';
import { DESCRIPTION, makeTestVault } from '../../test/helpers/vault.js';
import { readAudit } from '../core/audit/log.js';
import type { SecretsService } from '../core/service/secrets-service.js';
import { localMcpBackend, remoteMcpBackend } from './backend.js';

describe('MCP backends', () => {
  it('binds each actor once to the local vault', async () => {
    const { vault } = await makeTestVault();
    const backend = localMcpBackend(vault, async () => {});
    const a = backend.as('mcp:claude/1.0');
    expect(backend.as('mcp:claude/1.0')).toBe(a);
    await a.set('project/app/key', 'dev', 'value-1234', { description: DESCRIPTION });
    expect((await readAudit(vault)).at(-1)).toMatchObject({
      actor: 'mcp:claude/1.0',
      action: 'set',
    });
  });

  it('gives each actor a server service labelled with it, and closes them all', async () => {
    let closed = 0;
    const labels: (string | undefined)[] = [];
    const opened: SecretsService[] = [];
    const open = (agent: string | undefined) => {
      labels.push(agent);
      const s = {
        remote: true,
        close: async () => {
          closed++;
        },
      } as unknown as SecretsService;
      opened.push(s);
      return { service: s };
    };
    const backend = remoteMcpBackend(open);
    const service = backend.as('mcp:claude/1.0 agent:rev(1)');
    expect(service.remote).toBe(true);
    expect(backend.as('mcp:claude/1.0 agent:rev(1)')).toBe(service);
    expect(backend.as('mcp:other/2.0')).not.toBe(service);
    // The label keeps to the header's grammar: what the client declared, cleaned.
    expect(labels).toEqual(['mcp:claude/1.0 agent:rev-1-', 'mcp:other/2.0']);
    // The client's service as is: rotation status and report_leak go to the server too.
    expect(service).toBe(opened[0]);
    await backend.close();
    expect(closed).toBe(2);
  });
});
