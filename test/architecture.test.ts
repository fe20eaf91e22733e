/**
 * The dependency directions of ARCHITECTURE.md, checked on every source file:
 *
 * - `src/core` imports only core and `node:` built-ins (applications load it alone), except
 *   the manifest reader (`src/core/manifest/`), which parses YAML with `yaml` and checks it
 *   with `zod` schemas that also make its published JSON Schema, and backups
 *   (`src/core/backup/`), which encrypt with `age-encryption`;
 * - `src/storage` imports core, storage and its drivers (npm packages);
 * - `src/server`, `src/mcp` and `src/client` import core (server and mcp also storage, where
 *   they open a store) but not each other, and never the CLI;
 * - only the CLI, the composition root, imports the front ends it launches;
 * - no import circles between modules (type-only imports excepted: they vanish at build).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const src = join(root, 'src');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? files(join(dir, e.name))
      : /\.tsx?$/.test(e.name) && !e.name.endsWith('.test.ts')
        ? [join(dir, e.name)]
        : [],
  );
}

/** The source file of a relative import's target (`x.js` -> `x.ts`, or `x.tsx` for JSX). */
function sourceOf(target: string): string {
  const ts = target.replace(/\.js$/, '.ts');
  return existsSync(ts) ? ts : ts.replace(/\.ts$/, '.tsx');
}

interface Import {
  from: string;
  spec: string;
  /** The resolved file for a relative import. */
  target: string | undefined;
  typeOnly: boolean;
}

const IMPORT =
  /^\s*(?:import|export)(\s+type)?\s[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const out: Import[] = [];
  const add = (spec: string, typeOnly: boolean) =>
    out.push({
      from: file,
      spec,
      target: spec.startsWith('.') ? sourceOf(resolve(dirname(file), spec)) : undefined,
      typeOnly,
    });
  for (const m of text.matchAll(IMPORT)) add((m[2] ?? m[3])!, m[1] !== undefined);
  for (const m of text.matchAll(DYNAMIC)) add(m[1]!, false);
  return out;
}

/** The top-level area of a file under src/: core, storage, server, mcp, client, cli or root. */
function area(file: string): string {
  const rel = relative(src, file);
  return rel.includes('/') ? rel.slice(0, rel.indexOf('/')) : 'root';
}

/** The areas each area may import (relative imports); the CLI and the root may import all. */
const ALLOWED: Record<string, readonly string[]> = {
  core: ['core'],
  storage: ['core', 'storage'],
  server: ['core', 'storage', 'server'],
  mcp: ['core', 'storage', 'mcp'],
  client: ['core', 'client'],
};

const all = files(src);
const imports = all.flatMap(importsOf);

/** Strongly connected components of more than one module (Tarjan), as relative paths. */
function circles(edges: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!edges.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(relative(root, w));
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return found.sort((x, y) => x[0]!.localeCompare(y[0]!));
}

describe('architecture', () => {
  it('finds the sources of every area', () => {
    const areas = new Set(all.map(area));
    for (const a of ['core', 'storage', 'server', 'mcp', 'client', 'cli']) {
      expect(areas.has(a), a).toBe(true);
    }
    expect(imports.length).toBeGreaterThan(100);
  });

  it('core imports only core modules and node: built-ins (the manifest reader: yaml, zod; backups: age-encryption)', () => {
    const packageAllowed = (i: Import) =>
      i.spec.startsWith('node:') ||
      (relative(src, i.from).startsWith('core/manifest/') && ['yaml', 'zod'].includes(i.spec)) ||
      (relative(src, i.from).startsWith('core/backup/') && i.spec === 'age-encryption');
    const bad = imports
      .filter((i) => area(i.from) === 'core')
      .filter((i) => (i.target === undefined ? !packageAllowed(i) : area(i.target) !== 'core'))
      .map((i) => `${relative(root, i.from)} -> ${i.spec}`);
    expect(bad).toEqual([]);
  });

  it('each area imports only the areas below it', () => {
    const bad = imports
      .filter((i) => i.target !== undefined && ALLOWED[area(i.from)] !== undefined)
      .filter((i) => !ALLOWED[area(i.from)]!.includes(area(i.target!)))
      .map((i) => `${relative(root, i.from)} -> ${i.spec}`);
    expect(bad).toEqual([]);
  });

  it('the checker sees a forbidden import (a server module importing the MCP server)', () => {
    const fake: Import = {
      from: join(src, 'server/x.ts'),
      spec: '../mcp/server.js',
      target: join(src, 'mcp/server.ts'),
      typeOnly: false,
    };
    expect(ALLOWED[area(fake.from)]!.includes(area(fake.target!))).toBe(false);
  });

  it('no import circles', () => {
    const edges = new Map<string, string[]>(all.map((f) => [f, []]));
    for (const i of imports) {
      if (i.target !== undefined && !i.typeOnly) edges.get(i.from)!.push(i.target);
    }
    expect(circles(edges)).toEqual([]);
  });

  it('the circle finder finds a circle', () => {
    const a = join(root, 'a.ts');
    const b = join(root, 'b.ts');
    const c = join(root, 'c.ts');
    const edges = new Map([
      [a, [b]],
      [b, [c]],
      [c, [a]],
    ]);
    expect(circles(edges)).toEqual([['a.ts', 'b.ts', 'c.ts']]);
  });

  it('a unit test that replaces a module (vi.mock) is a *.mocked.test.ts, which runs isolated', () => {
    // The unit project shares loaded modules between files: there a mock may never be used.
    const tests = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory()
          ? tests(join(dir, e.name))
          : e.name.endsWith('.test.ts')
            ? [join(dir, e.name)]
            : [],
      );
    const mocking = [
      ...tests(src),
      ...readdirSync(join(root, 'test'))
        .filter((f) => f.endsWith('.test.ts'))
        .map((f) => join(root, 'test', f)),
    ]
      .filter((f) => /\bvi\.(?:do)?[mM]ock\(/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(root, f));
    expect(mocking.length).toBeGreaterThan(0);
    expect(mocking.filter((f) => !f.endsWith('.mocked.test.ts'))).toEqual([]);
  });
});
