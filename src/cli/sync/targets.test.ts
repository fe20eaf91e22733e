/**
 * What `fly secrets import` is given: every value reads back exactly through a port of
 * flyctl's parser (flyParse), or is refused by name before anything is pushed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CofferError } from '../../core/errors.js';
import { flyImportLine, flyParse, makeTarget } from './targets.js';

const value = fc.string({
  unit: fc.constantFrom('a', 'b', ' ', '"', '#', '=', '\n', '\r', "'", 'é'),
  maxLength: 24,
});

describe('fly secrets import lines', () => {
  it('property: a batch reads back exactly, or the value is refused by name', () => {
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 5 }), (values) => {
        const vars = values.map((v, i) => ({
          name: `VAR_${i}`,
          path: `project/p/var_${i}`,
          value: v,
        }));
        const lines: string[] = [];
        for (const v of vars) {
          try {
            lines.push(flyImportLine(v, 'fly test'));
          } catch (err) {
            expect(err).toBeInstanceOf(CofferError);
            expect((err as CofferError).message).toContain(v.name);
            if (v.value.length > 0) expect((err as CofferError).message).not.toContain(v.value);
            return;
          }
        }
        const back = flyParse(lines.join(''));
        expect(back).toBeDefined();
        expect(Object.fromEntries(back!)).toEqual(
          Object.fromEntries(vars.map((v) => [v.name, v.value])),
        );
      }),
      { numRuns: 2000 },
    );
  });

  it('carries the values that used to swallow the lines after them or lose their spaces', () => {
    const vars = [
      { name: 'A_JSON', path: 'project/p/a_json', value: '"quoted-start"' },
      { name: 'B_PLAIN', path: 'project/p/b_plain', value: 'plain-b' },
      { name: 'C_PADDED', path: 'project/p/c_padded', value: '  padded' },
      {
        name: 'D_PEM',
        path: 'project/p/d_pem',
        value: '-----BEGIN KEY-----\nAAAA\n-----END KEY-----\n',
      },
    ];
    const back = flyParse(vars.map((v) => flyImportLine(v, 'fly test')).join(''));
    expect(Object.fromEntries(back!)).toEqual(
      Object.fromEntries(vars.map((v) => [v.name, v.value])),
    );
    // A CR at the end of a line of several cannot pass: refused by name.
    expect(() =>
      flyImportLine({ name: 'E_CR', path: 'project/p/e_cr', value: 'a\r\nb' }, 'fly test'),
    ).toThrow(/E_CR cannot be passed/);
  });

  it('never gives fly a line it crashes on: a value that is one double quote is refused by name', () => {
    // flyctl strips a pair of quotes from a value that starts and ends with one; a lone `"`
    // does both, and value[1:0] panics (slice bounds out of range): nothing would be pushed,
    // after a Go stack trace.
    expect(flyParse('K="\n')).toBeUndefined();
    expect(flyParse('K= "\n')).toBeUndefined();
    expect(() =>
      flyImportLine({ name: 'F_QUOTE', path: 'project/p/f_quote', value: '"' }, 'fly test'),
    ).toThrow(/F_QUOTE cannot be passed/);
    // Two quotes are a pair: they stay readable as the empty value.
    expect(flyParse('K=""\n')?.get('K')).toBe('');
  });
});

describe('github --repo', () => {
  it('refuses . and .. as a segment, which the API URL would resolve to another path', async () => {
    const path = process.env.PATH;
    process.env.PATH = ''; // no gh: the REST API path, where --repo goes into the URL
    try {
      for (const repo of ['../..', 'acme/..', './app', 'acme/.']) {
        const err = await makeTarget('github', { repo, token: 't' }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err, repo).toBeInstanceOf(CofferError);
        expect((err as CofferError).code).toBe('USAGE');
      }
      // Dots inside a name are a name's own.
      const ok = await makeTarget('github', { repo: 'acme/app.v2', token: 't' });
      expect(ok.label).toBe('github acme/app.v2');
    } finally {
      process.env.PATH = path;
    }
  });
});
