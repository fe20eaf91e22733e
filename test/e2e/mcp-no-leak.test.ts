/**
 * No leak through `coffer mcp --reveal never`: a property test drives every tool (and their
 * failure paths) with random secret values through one server process, then checks that no
 * value, nor any 8-character piece of one, appears in any tool result, in the server's
 * stderr log, or in the audit log. Generated values (which the test never sends) are read
 * back with `coffer get` and checked the same way.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome } from './harness.js';
import { type McpSession, startMcp } from './mcp-harness.js';

const secretValue = fc
  .oneof(
    fc.string({ unit: 'grapheme', minLength: 12, maxLength: 64 }),
    fc.string({ unit: 'binary', minLength: 12, maxLength: 64 }),
    fc.stringMatching(/^sk_live_[A-Za-z0-9]{16,32}$/),
  )
  .filter((v) => new Set(v).size >= 6 && v.trim().length >= 12);
// Key names are not secret and appear in results; drawn from digits and `_` after a fixed
// letter so that a name can never share an 8-character piece with a random value by chance
// (fast-check favours words such as "prototype" in both).
const name = fc.stringMatching(/^k[0-9_]{2,20}$/);

/** The value and its 8-code-point pieces with some variety, raw and as JSON escapes them. */
function needles(value: string): string[] {
  const chars = Array.from(value);
  const out = new Set<string>([value]);
  for (let i = 0; i + 8 <= chars.length; i++) {
    const piece = chars.slice(i, i + 8);
    if (new Set(piece).size >= 5) out.add(piece.join(''));
  }
  return [...out].flatMap((s) => [s, JSON.stringify(s).slice(1, -1)]);
}

function leaks(haystack: string, values: string[]): string[] {
  return values.filter((v) => needles(v).some((n) => haystack.includes(n)));
}

describe('coffer mcp --reveal never leaks no value', () => {
  const h = makeHome();
  const cwd = join(h.home, 'work');
  let mcp: McpSession;
  const sent: string[] = [];
  const generated: string[] = [];
  let runs = 0;

  beforeAll(async () => {
    mkdirSync(cwd);
    writeFileSync(join(cwd, '.gitignore'), '.env\n.env.*\n');
    expect(h.run(['init']).code).toBe(0);
    mcp = await startMcp({ env: h.env, cwd, protocol: '2025-11-25', args: ['--reveal', 'never'] });
  });
  afterAll(async () => {
    await mcp?.close();
  });

  it('no tool result, log line or audit record holds a value (property)', async () => {
    await fc.assert(
      fc.asyncProperty(secretValue, secretValue, name, async (value, next, drawn) => {
        sent.push(value, next);
        // One key per run, always a valid name (a drawn name may end in `_`, which the path
        // grammar refuses, or repeat an earlier one): every run writes the same records.
        const key = `${drawn}_${++runs}`;
        const keyPath = `project/leak/${key}`;
        const description = 'Leak test secret for the billing webhook';
        const call = (tool: string, args: Record<string, unknown>) => mcp.call(tool, args);
        await call('set_secret', { keyPath, value, description });
        await call('set_secret', { keyPath, value: next });
        await call('get_secret', { keyPath });
        await call('verify_secret', { keyPath });
        await call('list_secrets', { scope: 'project', project: 'leak' });
        await call('list_secrets', { scope: 'project' });
        await call('write_env', { project: 'leak', file: `.env.${key}`, keyPaths: [keyPath] });
        const gen = await call('generate_secret', {
          keyPath: `${keyPath}_gen`,
          description,
          kind: 'urlsafe',
        });
        if (gen.structuredContent?.action === 'generated') {
          generated.push(h.run(['get', `${keyPath}_gen`]).stdout.replace(/\n$/, ''));
        }
        // Failure paths, each carrying the value.
        await call('set_secret', { keyPath: `${keyPath}_x`, value, description: 'API key' });
        await call('set_secret', {
          keyPath: `${keyPath}_x`,
          value,
          description,
          env: 'Not An Env',
        });
        await call('set_secret', { keyPath: `${keyPath}_x`, value, description: 42 });
        await call('set_secret', { keyPath: 'project/LEAK/Key', value, description });
        await call('get_secret', { keyPath: `${keyPath}_missing` });
        expect(leaks(mcp.results.join('\n'), [value, next])).toEqual([]);
      }),
      { numRuns: 12 },
    );
    expect(generated.length).toBeGreaterThan(0);
    const all = [...sent, ...generated];
    expect(leaks(mcp.results.join('\n'), all)).toEqual([]);
    expect(leaks(mcp.stderr(), all)).toEqual([]);
    const audit = h.run(['audit', '-n', '100000', '--json']);
    expect(audit.code).toBe(0);
    expect(JSON.parse(audit.stdout).records.length).toBeGreaterThan(100);
    expect(leaks(audit.stdout, all)).toEqual([]);
    expect(mcp.errors).toEqual([]);
  });

  it('the check itself finds a value that does appear', () => {
    const value = 'sk_live_0123456789abcdef';
    expect(leaks(`{"preview":"${value.slice(3, 12)}"}`, [value])).toEqual([value]);
    expect(leaks('{"preview":"sk_l…"}', [value])).toEqual([]);
  });
});
