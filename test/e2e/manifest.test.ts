/**
 * `coffer manifest` through the built binary.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  OPTIONAL_SENTRY_DSN,
  RECEPTOR_TIER1,
  RECEPTOR_TIER2,
  receptorManifestWith,
} from '../helpers/receptor-manifest.js';
import { makeHome } from './harness.js';

/** Seed 002's receptor project, with an optional variable for the optional case. */
const MANIFEST = receptorManifestWith(OPTIONAL_SENTRY_DSN);
const REQUIRED = [...RECEPTOR_TIER1, ...RECEPTOR_TIER2];

function project() {
  const h = makeHome();
  expect(h.run(['init']).code).toBe(0);
  const dir = join(h.home, 'receptor');
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'coffer.yaml'), MANIFEST);
  return { h, dir };
}

describe('coffer manifest check', () => {
  it('exits 1 naming every missing variable, then 0 once they are stored', () => {
    const { h, dir } = project();
    // From a subdirectory: the nearest coffer.yaml is found.
    const before = h.run(['manifest', 'check', '--json'], { cwd: join(dir, 'src') });
    expect(before.code, before.stderr).toBe(1);
    const result = JSON.parse(before.stdout);
    expect(result.missing.map((m: { name: string }) => m.name)).toEqual(REQUIRED);
    expect(result.plain).toEqual(['PUBLIC_URL']);
    for (const name of [...REQUIRED.map((n) => n.toLowerCase()), 'legacy_token']) {
      const r = h.run(
        [
          'set',
          `project/receptor/${name}`,
          '-d',
          `Receptor ${name.replace(/_/g, ' ')} read by the API gateway`,
        ],
        { input: `value-of-${name}` },
      );
      expect(r.code, r.stderr).toBe(0);
    }
    const after = h.run(['manifest', 'check'], { cwd: dir });
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toContain('not in the manifest: project/receptor/legacy_token');
    expect(after.stdout).toContain('optional, not stored: SENTRY_DSN');
    expect(after.stdout).not.toContain('value-of-');
    // prod has nothing yet.
    expect(h.run(['manifest', 'check', '--env', 'prod'], { cwd: dir }).code).toBe(1);
  });

  it('an invalid manifest is exit 2 with file:line:column; an unknown environment is refused', () => {
    const { h, dir } = project();
    writeFileSync(
      join(dir, 'coffer.yaml'),
      `${MANIFEST}  BROKEN:\n    description: Signs the webhook payloads sent to partners\n    tier: 9\n`,
    );
    const r = h.run(['manifest', 'check'], { cwd: dir });
    expect(r.code).toBe(2);
    const tierLine = MANIFEST.split('\n').length + 2;
    expect(r.stderr).toMatch(
      new RegExp(
        `coffer\\.yaml:${tierLine}:\\d+: variables\\.BROKEN\\.tier: tier must be 1, 2 or 3`,
      ),
    );
    writeFileSync(join(dir, 'coffer.yaml'), MANIFEST);
    const env = h.run(['manifest', 'check', '--env', 'production'], { cwd: dir });
    expect(env.code).toBe(2);
    expect(env.stderr).toContain('environments: dev, prod');
  });

  it('prints the JSON Schema', () => {
    const { h, dir } = project();
    const r = h.run(['manifest', 'schema'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).properties.variables).toBeDefined();
  });
});

describe('coffer env example --from-manifest', () => {
  it('writes placeholders grouped by tier, keeps plain settings, holds no value', () => {
    const { h, dir } = project();
    const r = h.run(['env', 'example', '--from-manifest', '--env', 'prod'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(join(dir, '.env.example'), 'utf8');
    expect(text).toContain('# Tier 1: infrastructure core\n');
    expect(text).toContain('JWT_SECRET=set-from-JWT_SECRET\n');
    expect(text).toContain('OPENAI_API_KEY=your-openai-api-key\n');
    expect(text).toContain('PUBLIC_URL=http://localhost:3000\n');
    expect(text).toContain("# Signs the API's session tokens; rotating it logs every user out\n");
  });
});
