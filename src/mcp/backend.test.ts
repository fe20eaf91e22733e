/**
 * The remote MCP backend: each tool operation goes to the server unchanged (value, path,
 * environment, version, description and metadata), the actor is not sent, and closing it
 * closes the connection to the server.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SecretInfo, SecretValue, VerifyReport } from '../core/store/vault.js';
import { type RemoteSecrets, remoteMcpBackend } from './backend.js';

function recorder() {
  const calls: { op: string; args: unknown[] }[] = [];
  const info = { path: 'project/app/key', env: 'dev' } as SecretInfo;
  const remote: RemoteSecrets = {
    get: async (...args) => {
      calls.push({ op: 'get', args });
      return { path: args[0], env: args[1], version: 1, value: 'v' } as SecretValue;
    },
    set: async (...args) => {
      calls.push({ op: 'set', args });
      return { path: args[0], env: args[1], version: 2, created: false };
    },
    list: async (...args) => {
      calls.push({ op: 'list', args });
      return [info];
    },
    info: async (...args) => {
      calls.push({ op: 'info', args });
      return info;
    },
    verify: async (...args) => {
      calls.push({ op: 'verify', args });
      return { ok: true } as unknown as VerifyReport;
    },
    close: async () => {
      calls.push({ op: 'close', args: [] });
    },
  };
  return { calls, remote };
}

describe('remoteMcpBackend', () => {
  it('sends each operation as it is (metadata too), without the actor', async () => {
    const { calls, remote } = recorder();
    const backend = remoteMcpBackend(remote);
    const v = backend.as('mcp:claude/1.0 agent:x');
    await v.set('project/app/key', 'prod', 'value-1', {
      description: 'Key of the app service',
      metadata: { generator: 'base64:32' },
    });
    await v.get('project/app/key', 'prod', { version: 3 });
    await v.get('project/app/key', 'dev');
    await v.list({ prefix: 'project/app', env: 'dev' });
    await v.info('project/app/key', 'dev');
    await v.verify('project/app/key', 'staging');
    await backend.close();
    expect(calls).toEqual([
      {
        op: 'set',
        args: [
          'project/app/key',
          'prod',
          'value-1',
          { description: 'Key of the app service', metadata: { generator: 'base64:32' } },
        ],
      },
      { op: 'get', args: ['project/app/key', 'prod', { version: 3 }] },
      { op: 'get', args: ['project/app/key', 'dev', { version: undefined }] },
      { op: 'list', args: [{ prefix: 'project/app', env: 'dev' }] },
      { op: 'info', args: ['project/app/key', 'dev'] },
      { op: 'verify', args: ['project/app/key', 'staging'] },
      { op: 'close', args: [] },
    ]);
    // The server audits the token, so every actor gets the same operations.
    expect(backend.as('mcp:other/2.0')).toBe(v);
  });

  it('passes any value through unchanged', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', maxLength: 200 }), async (value) => {
        const { calls, remote } = recorder();
        await remoteMcpBackend(remote).as('a').set('project/app/key', 'dev', value, {});
        expect(calls[0]?.args[2]).toBe(value);
      }),
    );
  });
});
