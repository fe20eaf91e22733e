import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { actorWithAgent, agentLabelFor, parseAgentLabel } from './agent-label.js';
import { AccessPolicy } from './policy.js';

describe('agent labels (X-Coffer-Agent)', () => {
  it('accepts the labels MCP actors make, and refuses anything else without quoting it', () => {
    expect(parseAgentLabel('mcp:claude-code/1.2.0')).toBe('mcp:claude-code/1.2.0');
    expect(parseAgentLabel('mcp:claude-code/1.2.0 agent:reviewer-3')).toBe(
      'mcp:claude-code/1.2.0 agent:reviewer-3',
    );
    for (const forged of [
      '',
      'token:root@10.0.0.1',
      'mcp:a) (token:admin@1.2.3.4',
      'mcp:a agent:b agent:c',
      'mcp:a\nagent:b',
      `mcp:${'x'.repeat(161)}`,
      'mcp:a agent:',
    ]) {
      let message = '';
      try {
        parseAgentLabel(forged);
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message, forged).toContain('not an agent label');
      if (forged !== '') expect(message).not.toContain(forged);
    }
  });

  it('property: whatever a client declares, the label made from its actor is valid', () => {
    const part = fc.string({ maxLength: 90 }).map((s) => s.replace(/\s/g, '-'));
    fc.assert(
      fc.property(part, fc.option(part, { nil: undefined }), (client, agent) => {
        const actor = agent === undefined ? `mcp:${client}` : `mcp:${client} agent:${agent}`;
        const label = agentLabelFor(actor);
        if (label !== undefined) expect(parseAgentLabel(label)).toBe(label);
      }),
      { numRuns: 300 },
    );
    expect(agentLabelFor('token:deploy@10.0.0.1')).toBeUndefined();
    expect(actorWithAgent('token:a@127.0.0.1', 'mcp:x/1')).toBe('token:a@127.0.0.1 (mcp:x/1)');
  });
});

describe('reveal: never in a policy', () => {
  const never = new AccessPolicy({
    allow: ['**'],
    envs: [],
    caps: ['read', 'admin'],
    reveal: 'never',
  });
  it('refuses answers that hold values, not other reads', () => {
    expect(never.refusal('read', { path: 'project/app/key', values: true })).toBe(
      'values may not be revealed',
    );
    expect(never.refusal('read', { path: 'project/app/key' })).toBeUndefined();
  });
  it('grants only tokens that may not reveal either', () => {
    const spec = { allow: ['project/**'], envs: [], caps: ['read' as const] };
    expect(never.grantRefusal({ ...spec, reveal: 'allow' })).toBe(
      'revealing values is beyond the granting policy',
    );
    expect(never.grantRefusal({ ...spec, reveal: 'never' })).toBeUndefined();
  });
});
