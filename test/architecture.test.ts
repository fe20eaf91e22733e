/**
 * Dependency direction: src/core imports nothing from storage/, cli/, mcp/, server/, web/,
 * and nothing from npm packages (node: built-ins only), so applications can load it alone.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? files(join(dir, e.name))
      : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')
        ? [join(dir, e.name)]
        : [],
  );
}

describe('architecture', () => {
  const core = files(join(root, 'src/core'));

  it('finds the core sources', () => {
    expect(core.length).toBeGreaterThan(5);
  });

  it('core imports only core modules and node: built-ins', () => {
    const bad: string[] = [];
    for (const f of core) {
      const src = readFileSync(f, 'utf8');
      for (const m of src.matchAll(/^\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/gm)) {
        const spec = m[1]!;
        if (spec.startsWith('node:')) continue;
        if (spec.startsWith('.')) {
          const target = join(f, '..', spec);
          if (relative(join(root, 'src/core'), target).startsWith('..'))
            bad.push(`${relative(root, f)} -> ${spec}`);
          continue;
        }
        bad.push(`${relative(root, f)} -> ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
