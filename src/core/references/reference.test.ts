import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DESCRIPTION, makeTestVault } from '../../../test/helpers/vault.js';
import { CofferError } from '../errors.js';
import { parseReference, references, render } from './reference.js';
import { resolveDerived, resolveReferences } from './resolve.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof CofferError ? err.code : 'not a CofferError';
  }
  return undefined;
}

/** `${NAME}` as written in a reference. */
const v = (name: string) => `$\{${name}}`;

describe('references', () => {
  it('parses a reference with and without an environment', () => {
    expect(parseReference('coffer://project/shop/stripe_key')).toEqual({
      text: 'coffer://project/shop/stripe_key',
      path: 'project/shop/stripe_key',
      env: undefined,
    });
    expect(parseReference('coffer://meta/github/token?env=prod')).toMatchObject({
      path: 'meta/github/token',
      env: 'prod',
    });
  });

  it('expands variables inside a reference, and refuses an unset one by name', () => {
    const ref = `coffer://project/${v('APP')}/db_password?env=${v('COFFER_ENV')}`;
    expect(parseReference(ref, { APP: 'shop', COFFER_ENV: 'staging' })).toMatchObject({
      path: 'project/shop/db_password',
      env: 'staging',
    });
    expect(() => parseReference(ref, { APP: 'shop' })).toThrow(/\$\{COFFER_ENV\} is not set/);
  });

  it("never shows a variable's value, and never expands coffer's credentials", () => {
    const held = 'correct horse battery staple';
    const vars = { HOLDS: held, COFFER_PASSPHRASE: held, coffer_master_key: held };
    for (const ref of [
      `coffer://project/app/x?env=${v('HOLDS')}`,
      `coffer://project/${v('HOLDS')}/x`,
      `coffer://project/app/x?env=${v('COFFER_PASSPHRASE')}`,
      `coffer://project/${v('coffer_master_key')}/x`,
    ]) {
      let message = '';
      try {
        parseReference(ref, vars);
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message, ref).toMatch(/^invalid reference/);
      expect(message).not.toContain('horse');
    }
    expect(() =>
      parseReference(`coffer://project/app/x?env=${v('COFFER_PASSPHRASE')}`, {
        COFFER_PASSPHRASE: 'dev',
      }),
    ).toThrow(/coffer's credentials/);
  });

  it.each([
    'coffer://project/shop',
    'coffer://Project/shop/key',
    'coffer://project/shop/key?environment=prod',
    'coffer://project/shop/key?env=PROD',
    'coffer://project/../etc/passwd',
    `coffer://project/shop/${'k'.repeat(600)}`,
  ])('refuses %s', (text) => {
    expect(codeOf(() => parseReference(text))).toBe('INVALID_REFERENCE');
  });

  it('lists the references of a template once each, in order', () => {
    const t =
      'url=postgres://app:{{ coffer://project/app/pw }}@db/app\nkey={{coffer://meta/x/key?env=prod}}\nagain={{ coffer://project/app/pw }}\n';
    expect(references(t).map((r) => `${r.path}@${r.env ?? '-'}`)).toEqual([
      'project/app/pw@-',
      'meta/x/key@prod',
    ]);
    expect(references('coffer://project/app/pw').map((r) => r.path)).toEqual(['project/app/pw']);
    expect(references('no references here {{ not one }}')).toEqual([]);
  });

  it('reads variables inside a template, and refuses a template it cannot read instead of leaving it', () => {
    const t = `pw: {{ coffer://project/app/db_password?env=${v('COFFER_ENV')} }}`;
    expect(references(t, { COFFER_ENV: 'prod' })).toEqual([
      {
        text: `coffer://project/app/db_password?env=${v('COFFER_ENV')}`,
        path: 'project/app/db_password',
        env: 'prod',
      },
    ]);
    const values = new Map([['project/app/db_password\0prod', 'pw-9']]);
    expect(render(t, 'dev', (p, e) => values.get(`${p}\0${e}`), { COFFER_ENV: 'prod' })).toBe(
      'pw: pw-9',
    );
    for (const bad of [
      'x {{ coffer://project/app/pw',
      'x {{ coffer://project/app/pw and more }}',
      'x {{ coffer://project/app/pw?env={prod} }}',
    ]) {
      expect(
        codeOf(() => references(bad)),
        bad,
      ).toBe('INVALID_REFERENCE');
    }
    let message = '';
    try {
      references('u={{ coffer://project/app/db_user pw=Hunter2-Very-Secret }}');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('coffer://project/app/db_user');
    expect(message).not.toContain('Hunter2');
  });

  it('a reference with variables that does not resolve is named as written, never expanded', () => {
    const held = 'ghsessiontoken0123456789abcdef';
    let message = '';
    try {
      render(`{{ coffer://project/${v('TEAM')}/db }}`, 'dev', () => undefined, { TEAM: held });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain(`coffer://project/${v('TEAM')}/db does not resolve`);
    expect(message).not.toContain(held);
  });

  it('renders a derived value and refuses an unresolved reference by name', () => {
    const values = new Map([['project/app/pw\0dev', 's3cr3t-pw']]);
    const get = (p: string, e: string) => values.get(`${p}\0${e}`);
    expect(render('postgres://app:{{ coffer://project/app/pw }}@db/app', 'dev', get)).toBe(
      'postgres://app:s3cr3t-pw@db/app',
    );
    let err: unknown;
    try {
      render('{{ coffer://project/app/pw?env=prod }}', 'dev', get);
    } catch (e) {
      err = e;
    }
    expect((err as CofferError).code).toBe('UNRESOLVED_REFERENCE');
    expect((err as CofferError).message).toContain('coffer://project/app/pw?env=prod');
    expect((err as CofferError).message).not.toContain('s3cr3t-pw');
  });

  it('resolving a template equals substituting the stored values (property)', async () => {
    const { vault } = await makeTestVault();
    const names = ['alpha', 'beta', 'gamma', 'delta'];
    const stored = new Map<string, string>();
    for (const n of names) {
      for (const env of ['dev', 'prod']) {
        // Values with characters a template might trip over: $, {, }, &, backslashes.
        const value = `v-${n}-${env}-$&{x}\\1`;
        await vault.set(`project/app/${n}`, env, value, { description: DESCRIPTION });
        stored.set(`${n}@${env}`, value);
      }
    }
    const piece = fc.oneof(
      fc.string({ maxLength: 8 }).filter((s) => !s.includes('{{') && !s.includes('}}')),
      fc
        .tuple(fc.constantFrom(...names), fc.constantFrom(undefined, 'dev', 'prod'))
        .map(([n, env]) => ({ n, env })),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { maxLength: 6 }), async (pieces) => {
        const template = pieces
          .map((p) =>
            typeof p === 'string'
              ? p
              : `{{ coffer://project/app/${p.n}${p.env ? `?env=${p.env}` : ''} }}`,
          )
          .join('');
        const expected = pieces
          .map((p) => (typeof p === 'string' ? p : stored.get(`${p.n}@${p.env ?? 'dev'}`)!))
          .join('');
        const [out] = await resolveReferences(vault, [template], 'dev');
        expect(out).toBe(expected);
      }),
      { numRuns: 60 },
    );
  });

  it('resolving names a reference to a missing secret, never a value', async () => {
    const { vault } = await makeTestVault();
    await expect(
      resolveReferences(vault, ['{{ coffer://project/app/nothing }}'], 'dev'),
    ).rejects.toMatchObject({ code: 'UNRESOLVED_REFERENCE' });
  });
});

describe('resolveDerived', () => {
  it('names a stored value that is no valid reference by its key path, never quoting it', async () => {
    const { vault } = await makeTestVault();
    const secretPart = 'Zx9SuperSecretPart77';
    const items = [
      { path: 'project/app/legacy_uri', value: `coffer://legacy-token:${secretPart}` },
      {
        path: 'project/app/dsn',
        value: `pg://{{ coffer://project/app/pw }}:{{ coffer://x ${secretPart}`,
      },
    ];
    for (const item of items) {
      const err = await resolveDerived(vault, [item], 'dev').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CofferError);
      expect((err as CofferError).code).toBe('INVALID_REFERENCE');
      expect((err as CofferError).message).toContain(item.path);
      expect(
        JSON.stringify({ m: (err as CofferError).message, h: (err as CofferError).hint }),
      ).not.toContain(secretPart);
    }
  });

  it('resolves valid derived values and leaves the others as they are', async () => {
    const { vault } = await makeTestVault();
    await vault.set('project/app/pw', 'dev', 'pw-value-0001', { description: DESCRIPTION });
    const out = await resolveDerived(
      vault,
      [
        { path: 'project/app/dsn', value: 'pg://u:{{ coffer://project/app/pw }}@db' },
        { path: 'project/app/plain', value: 'plain-value' },
      ],
      'dev',
    );
    expect(out.map((i) => i.value)).toEqual(['pg://u:pw-value-0001@db', 'plain-value']);
  });
});
