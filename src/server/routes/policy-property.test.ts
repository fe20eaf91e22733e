/**
 * Property: for a random policy P, a token holding P (with `admin`, so it may try everything)
 * creates only tokens whose policy lies within P, and reads, lists and audits nothing
 * outside P. "Within" is checked by brute force over every key path of a small universe,
 * not with the containment code under test.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Kit, makeKit, SENTINEL, seed } from '../../../test/helpers/server-kit.js';
import { PathScope } from '../../core/access/globs.js';

const PATHS = ['project', 'meta'].flatMap((s) =>
  ['app', 'other'].flatMap((g) => ['db_url', 'api_key'].map((n) => `${s}/${g}/${n}`)),
);
const ENVS = ['dev', 'prod'];
const GLOBS = [
  '**',
  'project/**',
  'meta/**',
  'project/app/*',
  'project/app/db_*',
  'project/*/*',
  '*/app/*',
  '*/*/api_key',
  'project/other/db_url',
  'meta/app/*',
];
const CAPS = ['read', 'list', 'write', 'delete'] as const;
const TTLS = [undefined, '30m', '1h', '2h'];

interface Policy {
  allow: string[];
  envs: string[];
  caps: string[];
  ttl: string | undefined;
}

const policy: fc.Arbitrary<Policy> = fc.record({
  allow: fc.uniqueArray(fc.constantFrom(...GLOBS), { minLength: 1, maxLength: 3 }),
  envs: fc.subarray(ENVS),
  caps: fc.subarray([...CAPS]),
  ttl: fc.constantFrom(...TTLS),
});

const pathsOf = (allow: readonly string[]) => {
  const scope = new PathScope(allow);
  return new Set(PATHS.filter((p) => scope.allows(p)));
};
const envsOf = (envs: readonly string[]) => new Set(envs.length === 0 ? ENVS : envs);
const subset = <T>(a: Set<T>, b: Set<T>) => [...a].every((x) => b.has(x));

/** Is `inner` within `outer` over the universe (paths, environments, caps, expiry)? */
function within(
  inner: { allow: string[]; envs: string[]; caps: string[]; expiresAt: string | null },
  outer: { allow: string[]; envs: string[]; caps: string[]; expiresAt: string | null },
): boolean {
  return (
    subset(pathsOf(inner.allow), pathsOf(outer.allow)) &&
    (outer.envs.length === 0 ||
      (inner.envs.length > 0 && subset(new Set(inner.envs), new Set(outer.envs)))) &&
    subset(new Set(inner.caps), new Set(outer.caps)) &&
    (outer.expiresAt === null ||
      (inner.expiresAt !== null && Date.parse(inner.expiresAt) <= Date.parse(outer.expiresAt)))
  );
}

let kit: Kit;
beforeAll(async () => {
  kit = await makeKit();
  for (const path of PATHS) for (const env of ENVS) await seed(kit, path, SENTINEL, env);
});
afterAll(async () => {
  await kit.dispose();
});

describe('a token with policy P acts only within P (property)', () => {
  it('creates, reads, lists and audits nothing outside P', async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(policy, fc.array(policy, { minLength: 2, maxLength: 4 }), async (p, qs) => {
        round++;
        const name = `p${round}`;
        const token = await kit.token({ name, ...p, caps: [...p.caps, 'admin'] });
        const mine = (await kit.vault.readTransaction((tx) => tx.getTokenByName(name)))!;
        const t = { token };

        // create: every success lies within P; a copy of P's own policy always succeeds
        for (const [i, q] of [{ ...p, caps: [...p.caps, 'admin'] }, ...qs].entries()) {
          // The copy of P expires a minute from now when P expires at all (an hour or more).
          const ttl = i === 0 ? (p.ttl === undefined ? undefined : '1m') : q.ttl;
          const body = {
            name: `${name}-c${i}`,
            allow: q.allow,
            envs: q.envs,
            caps: q.caps.length > 0 ? q.caps : ['read'],
            ...(ttl !== undefined ? { ttl } : {}),
          };
          const a = await kit.send('POST', '/v1/tokens', { ...t, body });
          expect([201, 403]).toContain(a.status);
          const created = await kit.vault.readTransaction((tx) => tx.getTokenByName(body.name));
          expect(created !== undefined).toBe(a.status === 201);
          if (created !== undefined) expect(within(created, mine)).toBe(true);
          if (i === 0) expect(a.status, JSON.stringify(a.json)).toBe(201);
        }

        // list tokens: only tokens within P
        const listed = await kit.send('GET', '/v1/tokens', t);
        for (const info of listed.json.items as Parameters<typeof within>[0][]) {
          expect(within(info, mine)).toBe(true);
        }

        // read and list secrets: only paths and environments of P
        const paths = pathsOf(p.allow);
        const envs = envsOf(p.envs);
        for (const path of PATHS) {
          for (const env of ENVS) {
            const r = await kit.send('GET', `/v1/secrets/${path}?env=${env}`, t);
            const allowed = p.caps.includes('read') && paths.has(path) && envs.has(env);
            expect(r.status).toBe(allowed ? 200 : 403);
          }
        }
        const list = await kit.send('GET', '/v1/secrets', t);
        if (list.status === 200) {
          for (const s of list.json.items as { path: string; env: string }[]) {
            expect(paths.has(s.path) && envs.has(s.env)).toBe(true);
          }
        }

        // audit: no record of a path or environment outside P; none without a path or
        // environment unless P covers every one
        const audit = await kit.send('GET', '/v1/audit?limit=1000', t);
        expect(audit.status).toBe(200);
        for (const r of audit.json.items as { path: string | null; env: string | null }[]) {
          if (r.path === null) expect(paths.size).toBe(PATHS.length);
          else if (r.path.split('/').length === 3) expect(paths.has(r.path)).toBe(true);
          else expect([...paths].some((x) => x.startsWith(`${r.path}/`))).toBe(true);
          if (r.env === null) expect(p.envs).toEqual([]);
          else expect(envs.has(r.env)).toBe(true);
        }
      }),
      { numRuns: 30 },
    );
  });
});
