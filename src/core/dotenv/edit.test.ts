/**
 * setDotenvVariables / removeDotenvVariables: examples, then properties on generated
 * documents: unrelated bytes are kept and the result reads (with the real dotenv package) as
 * the old map with the change applied.
 */
import dotenv from 'dotenv';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CofferError } from '../errors.js';
import { removeDotenvVariables, setDotenvVariables, setDotenvVariablesStepwise } from './edit.js';
import { formatDotenvValue } from './format.js';
import { parseDotenvLines } from './parse.js';

function caught(fn: () => unknown): CofferError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CofferError);
    return err as CofferError;
  }
  throw new Error('expected a CofferError');
}

describe('setDotenvVariables examples', () => {
  it.each([
    [
      'keeps export and inline comments',
      '# db\nexport A=1 # one\n',
      { A: 'x y' },
      "# db\nexport A='x y' # one\n",
    ],
    ['keeps a comment right after a quoted value', "A='x'#c\n", { A: 'y z' }, "A='y z'#c\n"],
    ['appends new keys after a line break', 'A=1', { B: '2', C: '' }, 'A=1\nB=2\nC=\n'],
    ['writes into an empty text', '', { A: '1' }, 'A=1\n'],
    ['updates every duplicate', 'A=1\nB=2\nA=3\n', { A: '9' }, 'A=9\nB=2\nA=9\n'],
    [
      'keeps spacing and separators',
      'A = 1\nB: 2\n  C=3\n',
      { A: 'x', B: 'y', C: 'z' },
      'A = x\nB: y\n  C=z\n',
    ],
    ['replaces a multi-line value', 'A="x\ny"\nB=2\n', { A: '1' }, 'A=1\nB=2\n'],
    [
      'rewrites a prefix that spans lines',
      "A=\n'y'\nexport\nB=1\n",
      { A: 'z', B: '2' },
      'A=z\nexport B=2\n',
    ],
    ['keeps a BOM', '\uFEFFA=1\n', { A: '2' }, '\uFEFFA=2\n'],
    [
      'fills empty values after their spacing',
      'A = \nB= # c\nC =  # c\n',
      { A: '1', B: '2', C: '3' },
      'A = 1\nB=2 # c\nC = 3 # c\n',
    ],
    [
      'keeps CRLF, also inside multi-line values',
      'A=1\r\nB=2\r\n',
      { B: 'a\nb', C: '"\n' },
      'A=1\r\nB="a\\nb"\r\nC=\'"\r\n\'\r\n',
    ],
    ['keeps lone CR endings', 'A=1\rB=2\r', { C: '3' }, 'A=1\rB=2\rC=3\r'],
    [
      'falls back to other quoting when the neighbours need it',
      "A=x\n'y'\n",
      { A: '' },
      "A=''\n'y'\n",
    ],
  ])('%s', (_what, doc, updates, expected) => {
    const out = setDotenvVariables(doc, updates);
    expect(out).toBe(expected);
    expect(dotenv.parse(out)).toEqual({ ...dotenv.parse(doc), ...updates });
  });

  it('replaces the value of a key the file has, whatever dotenv reads; adds only variable names', () => {
    const doc = 'spring.datasource.password=secret\nx-y=1\n';
    expect(setDotenvVariables(doc, { 'spring.datasource.password': 'changeme', 'x-y': '2' })).toBe(
      'spring.datasource.password=changeme\nx-y=2\n',
    );
    // Added, such a key would be a command to a shell that sources the file.
    expect(caught(() => setDotenvVariables(doc, { 'new.key': 'v' })).code).toBe('INVALID_ARGUMENT');
  });

  it('refuses an unencodable value before editing, naming the key only', () => {
    const secret = `'s3cr3t" \`x\n`;
    const err = caught(() => setDotenvVariables('A=1\n', { OK: 'x', TOKEN: secret }));
    expect(err.code).toBe('INVALID_VALUE');
    expect(err.message).toContain('TOKEN');
    expect(err.message).not.toContain(secret);
  });

  it('refuses keys dotenv cannot read back', () => {
    expect(caught(() => setDotenvVariables('', { 'A B': '1' })).code).toBe('INVALID_ARGUMENT');
    expect(caught(() => setDotenvVariables('', JSON.parse('{"__proto__":"1"}'))).code).toBe(
      'INVALID_ARGUMENT',
    );
  });
});

describe('removeDotenvVariables examples', () => {
  it.each([
    ['drops the line with its inline comment', 'A=1 # one\n# keep\nB=2\n', ['A'], '# keep\nB=2\n'],
    ['drops every duplicate', 'A=1\nB=2\nA=3\n', ['A'], 'B=2\n'],
    ['keeps CRLF', 'A=1\r\nB=2\r\nC=3\r\n', ['B'], 'A=1\r\nC=3\r\n'],
    ['handles a last line without a break', 'A=1\nB=2', ['B'], 'A=1\n'],
    ['drops a multi-line value', "A='x\ny'\nB=2\n", ['A'], 'B=2\n'],
    ['drops an export spanning lines', 'export\nA=1\nB=2\n', ['A'], 'B=2\n'],
    ['keeps a BOM', '\uFEFFA=1\nB=2', ['A'], '\uFEFFB=2'],
    ['ignores absent keys', '# c\nA=1\n', ['Z'], '# c\nA=1\n'],
  ])('%s', (_what, doc, keys, expected) => {
    const out = removeDotenvVariables(doc, keys);
    expect(out).toBe(expected);
    const want = dotenv.parse(doc);
    for (const k of keys) delete want[k];
    expect(dotenv.parse(out)).toEqual(want);
  });

  it('refuses when removing a line would join its neighbours into a new pair', () => {
    const err = caught(() => removeDotenvVariables('FOO\nA=1\n=bar\n', ['A']));
    expect(err.code).toBe('INVALID_VALUE');
    expect(err.message).toContain('A');
  });
});

// ---- Generated documents -------------------------------------------------------------

const keyPool: fc.Arbitrary<string> = fc.constantFrom('A', 'B', 'DB_URL', 'x.y', 'k-1', 'export');
const valueArb = fc.string({
  unit: fc.constantFrom('a', 'Z', ' ', '#', "'", '"', '`', '\\', 'n', '\n', '\r', '$', 'é', '😀'),
  maxLength: 10,
});
const encodable = valueArb.filter((v) => {
  try {
    formatDotenvValue('K', v);
    return true;
  } catch {
    return false;
  }
});

interface Line {
  text: (value?: string) => string;
  key?: string;
}
const pairLine = fc
  .record({
    indent: fc.constantFrom('', '  '),
    exp: fc.constantFrom('', 'export '),
    key: keyPool,
    sep: fc.constantFrom('=', ' = ', ': '),
    value: encodable,
    note: fc.constantFrom('', ' # note', '  #x'),
  })
  // `A=` + `  #x` is also `A= ` + ` #x`: where a new value goes is ambiguous, so keep the
  // comments of empty values to the two shapes the editor promises (see edit.ts).
  .filter(({ value, note }) => value !== '' || note !== '  #x')
  .map(
    ({ indent, exp, key, sep, value, note }): Line => ({
      key,
      text: (v = formatDotenvValue(key, value)) => indent + exp + key + sep + v + note,
    }),
  );
const otherLine = fc
  .constantFrom('# comment', '', '   ', '#A=1', '# "quoted\' #')
  .map((t): Line => ({ text: () => t }));
const docArb = fc.record({
  lines: fc.array(fc.oneof({ weight: 3, arbitrary: pairLine }, otherLine), { maxLength: 8 }),
  eol: fc.constantFrom('\n', '\r\n'),
});
const render = (lines: Line[], eol: string, value: (l: Line) => string | undefined): string =>
  lines.map((l) => `${l.text(value(l))}${eol}`.replace(/\r?\n/g, eol)).join('');
// Keys written are variable names; the document around them may hold others (x.y, k-1).
const updatesArb = fc.dictionary(
  fc.constantFrom('A', 'B', 'DB_URL', 'export', 'NEW', 'N2'),
  encodable,
  {
    maxKeys: 3,
    noNullPrototype: true,
  },
);

describe('edits on generated documents', () => {
  it('set: changes only the updated values, appends the rest, reads as old + updates', () => {
    fc.assert(
      fc.property(docArb, updatesArb, ({ lines, eol }, updates) => {
        const doc = render(lines, eol, () => undefined);
        const out = setDotenvVariables(doc, updates);
        const enc = (l: Line): string | undefined =>
          l.key !== undefined && Object.hasOwn(updates, l.key)
            ? formatDotenvValue(l.key, updates[l.key] as string)
            : undefined;
        const present = new Set(lines.map((l) => l.key));
        const newEol = doc === '' ? '\n' : eol; // no line break to copy: LF
        const appended = Object.keys(updates)
          .filter((k) => !present.has(k))
          .map((k) => `${k}=${formatDotenvValue(k, updates[k] as string)}\n`);
        expect(out).toBe(render(lines, eol, enc) + appended.join('').replace(/\n/g, newEol));
        expect(dotenv.parse(out)).toEqual({ ...dotenv.parse(doc), ...updates });
      }),
      { numRuns: 1500 },
    );
  });

  it('remove: drops exactly the removed lines', () => {
    fc.assert(
      fc.property(docArb, fc.uniqueArray(keyPool, { maxLength: 3 }), ({ lines, eol }, keys) => {
        const doc = render(lines, eol, () => undefined);
        const out = removeDotenvVariables(doc, keys);
        const kept = lines.filter((l) => l.key === undefined || !keys.includes(l.key));
        expect(out).toBe(render(kept, eol, () => undefined));
        const want = dotenv.parse(doc);
        for (const k of keys) delete want[k];
        expect(dotenv.parse(out)).toEqual(want);
      }),
      { numRuns: 1500 },
    );
  });

  // Messy documents: valid lines mixed with garbage, unterminated quotes and odd breaks.
  const junk = fc.string({
    unit: fc.constantFrom('A', '=', ' ', '#', "'", '"', '`', '\\', '\n', '\r', ':', '\u2028'),
    maxLength: 12,
  });
  const messyArb = fc
    .array(
      fc.oneof(
        pairLine.map((l) => `${l.text()}\n`),
        junk,
      ),
      { maxLength: 8 },
    )
    .map((parts) => parts.join(''));

  it('set on messy text: reads as old + updates and keeps the bytes around edits', () => {
    fc.assert(
      fc.property(messyArb, updatesArb, (doc, updates) => {
        let out: string;
        try {
          out = setDotenvVariables(doc, updates);
        } catch (err) {
          expect((err as CofferError).code).toBe('INVALID_VALUE');
          return;
        }
        expect(dotenv.parse(out)).toEqual({ ...dotenv.parse(doc), ...updates });
        // Everything outside the updated pairs survives, in order (an empty old value may
        // lend the spaces after it to the new one).
        let cursor = 0;
        let at = 0;
        let afterEmpty = false;
        const segments: string[] = [];
        const push = (s: string): void => {
          segments.push(afterEmpty ? s.replace(/^[^\S\n\r\u2028\u2029]*/, '') : s);
        };
        for (const e of parseDotenvLines(doc)) {
          if (e.kind !== 'pair' || !Object.hasOwn(updates, e.key)) continue;
          push(doc.slice(cursor, e.start));
          cursor = e.valueEnd;
          afterEmpty = e.valueStart === e.valueEnd;
        }
        push(doc.slice(cursor));
        for (const [i, s] of segments.entries()) {
          const j = i === 0 ? 0 : out.indexOf(s, at);
          expect(out.startsWith(s, j)).toBe(true);
          at = j + s.length;
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('remove on messy text: reads as old minus the keys, or refuses', () => {
    fc.assert(
      fc.property(messyArb, fc.uniqueArray(keyPool, { maxLength: 3 }), (doc, keys) => {
        let out: string;
        try {
          out = removeDotenvVariables(doc, keys);
        } catch (err) {
          expect((err as CofferError).code).toBe('INVALID_VALUE');
          return;
        }
        const want = dotenv.parse(doc);
        for (const k of keys) delete want[k];
        expect(dotenv.parse(out)).toEqual(want);
      }),
      { numRuns: 1500 },
    );
  });

  // The one-pass editor against the key-by-key one it replaced (kept as the fallback): the
  // same text whenever the key-by-key edit succeeds; where it refuses (odd text on which each
  // key alone breaks a neighbour, e.g. `A:` then a new line, fixed only by editing both), the
  // one-pass edit refuses too or gives a text that reads as old + updates (its own check).
  const outcome = (fn: () => string): string => {
    try {
      return `ok:${fn()}`;
    } catch (err) {
      return `err:${(err as CofferError).code}:${(err as Error).message}`;
    }
  };
  const manyUpdatesArb = fc.dictionary(
    fc.constantFrom('A', 'B', 'DB_URL', 'export', 'NEW', 'N2', 'x.y', 'k-1'),
    valueArb,
    { maxKeys: 6, noNullPrototype: true },
  );
  const anyDocArb = fc.oneof(
    docArb.map(({ lines, eol }) => render(lines, eol, () => undefined)),
    messyArb,
  );

  it('set: the one-pass edit gives byte for byte what the key-by-key edit gives', () => {
    fc.assert(
      fc.property(anyDocArb, manyUpdatesArb, (doc, updates) => {
        const stepwise = outcome(() => setDotenvVariablesStepwise(doc, updates));
        const onePass = outcome(() => setDotenvVariables(doc, updates));
        if (stepwise.startsWith('ok:') || onePass.startsWith('err:'))
          expect(onePass).toBe(stepwise);
        else expect(dotenv.parse(onePass.slice(3))).toEqual({ ...dotenv.parse(doc), ...updates });
      }),
      { numRuns: Number(process.env.EDIT_RUNS ?? 5000) },
    );
  });

  it('set: where each key alone breaks a neighbour, editing them together may succeed', () => {
    expect(() => setDotenvVariablesStepwise('A:\n', { B: '', A: '' })).toThrow(CofferError);
    const out = setDotenvVariables('A:\n', { B: '', A: '' });
    expect(dotenv.parse(out)).toEqual({ A: '', B: '' });
  });

  it('set: many keys into a large text in one pass, as the key-by-key edit does', () => {
    const lines = Array.from({ length: 1500 }, (_, i) =>
      i % 3 === 0 ? `# note ${i}` : `K_${i}=old-${i}`,
    );
    const doc = `${lines.join('\n')}\n`;
    const updates: Record<string, string> = {};
    for (let i = 0; i < 150; i++) updates[`K_${i * 7}`] = `new value ${i} "q" #`;
    expect(setDotenvVariables(doc, updates)).toBe(setDotenvVariablesStepwise(doc, updates));
  });
});
