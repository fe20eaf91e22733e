import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CofferError } from '../errors.js';
import { parseToml, renderTomlTable, setTomlTable, type TomlDoc } from './toml-edit.js';

/** Python's tomllib (3.11+), an independent TOML parser, when this machine has it. */
const python = spawnSync('python3', ['-c', 'import tomllib'], { encoding: 'utf8' }).status === 0;

/** Parses each document with tomllib in one process: the parsed values, or the error text. */
function pythonParse(docs: string[]): unknown[] {
  const r = spawnSync(
    'python3',
    [
      '-c',
      [
        'import sys, json, math, tomllib',
        'def clean(x):',
        '  if isinstance(x, float) and not math.isfinite(x): return str(x)',
        '  if isinstance(x, dict): return {k: clean(v) for k, v in x.items()}',
        '  if isinstance(x, list): return [clean(v) for v in x]',
        '  return x',
        'out = []',
        'for d in json.load(sys.stdin):',
        '  try: out.append(clean(tomllib.loads(d)))',
        '  except Exception as e: out.append({"error": str(e)})',
        'print(json.dumps(out, default=str))',
      ].join('\n'),
    ],
    { input: JSON.stringify(docs), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

function valuesOf(doc: TomlDoc): Record<string, unknown> {
  return Object.fromEntries(doc.keys.map((k) => [k.path.join('.'), k.value]));
}

const bare = fc.stringMatching(/^[a-z][a-z0-9_-]{0,7}$/);
const str = fc.string({ unit: 'binary', maxLength: 12 }).filter((s) => !/[\uD800-\uDFFF]/.test(s));
const value = fc.oneof(str, fc.array(str, { maxLength: 3 }));
/** A config.toml of tables with string values, some comments, the way people write them. */
const document = fc
  .array(
    fc.record({
      path: fc.array(bare, { minLength: 1, maxLength: 2 }),
      entries: fc.uniqueArray(fc.tuple(bare, value), { selector: (e) => e[0], maxLength: 3 }),
      comment: fc.boolean(),
    }),
    { maxLength: 4 },
  )
  .map((tables) => {
    const seen = new Set<string>();
    let text = 'model = "o3"\n';
    for (const t of tables) {
      const name = t.path.join('.');
      // Each table once, and never a prefix clash with a key (the generator keeps it simple).
      if (seen.has(name) || t.path[0] === 'model' || t.path[0] === 'mcp_servers') continue;
      seen.add(name);
      if (t.comment) text += '# a comment\n';
      text += `\n${renderTomlTable(t.path, t.entries)}`;
    }
    return text;
  });

describe('parseToml', () => {
  it('reads the shapes Codex documents', () => {
    const text = `# Codex
model = "o3"
approval_policy = 'on-request'

[mcp_servers.docs]
command = "npx"
args = ["-y", "@upstash/context7-mcp"] # inline comment
startup_timeout_sec = 20
enabled = true

[mcp_servers.docs.env]
DEBUG = "mcp:*"

[[profiles.list]]
name = """multi
line"""
when = 2026-12-04T10:00:00Z
ratio = 1_000.5e-3
nested = { a = 1, b = [1, 2,], "c d" = 'x' }
[[profiles.list]]
name = 'again'
`;
    const doc = parseToml(text, 'config.toml');
    expect(valuesOf(doc)).toMatchObject({
      model: 'o3',
      approval_policy: 'on-request',
      'mcp_servers.docs.command': 'npx',
      'mcp_servers.docs.args': ['-y', '@upstash/context7-mcp'],
      'mcp_servers.docs.enabled': true,
      'mcp_servers.docs.env.DEBUG': 'mcp:*',
    });
    expect(doc.tables.map((t) => t.path.join('.'))).toEqual([
      '',
      'mcp_servers.docs',
      'mcp_servers.docs.env',
      'profiles.list',
      'profiles.list',
    ]);
  });

  it('reads a "__proto__" key as data', () => {
    const doc = parseToml('t = { __proto__ = { polluted = "yes" } }\n', 'f');
    const t = doc.keys[0]!.value as Record<string, unknown>;
    expect(Object.keys(t)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(t)).toBe(Object.prototype);
  });

  it('refuses what is not TOML with the file and line', () => {
    const bad: [string, number][] = [
      ['a = 1\nb = \n', 2],
      ['a = "x\n', 1],
      ['[t]\na = 1\n[t]\n', 3],
      ['a = 1\na = 2\n', 2],
      ['a = [1, 2\n', 2],
      ['a = 1 b = 2\n', 1],
      ['[t\n', 1],
      ['a = "\\q"\n', 1],
      ['a = {b = 1,\n', 2],
      ['= 1\n', 1],
      ['x = nope\n', 1],
    ];
    for (const [text, line] of bad) {
      let err: unknown;
      try {
        parseToml(text, 'config.toml');
      } catch (e) {
        err = e;
      }
      expect(err, text).toBeInstanceOf(CofferError);
      expect((err as Error).message, text).toMatch(new RegExp(`^config\\.toml:${line}: `));
    }
  });

  it.skipIf(!python)('accepts and refuses the same samples as tomllib', () => {
    const samples = [
      'a = 1\n',
      'a = "x"\nb = \'y\'\n',
      '[t]\n[t.u]\nv = 1\n',
      'a = [\n  1, # one\n  2,\n]\n',
      'a = """\nx\\\n   y"""\n',
      "a = '''it's'''\n",
      'a = 0x1F\nb = 0o7\nc = 0b1\nd = +inf\ne = -nan\nf = 1e3\n',
      'a = 1979-05-27\nb = 07:32:00\nc = 1979-05-27T07:32:00-08:00\n',
      '"quoted key" = 1\n',
      'a.b.c = 1\n',
      'a = 1\na = 2\n',
      '[t]\n[t]\n',
      'a = "x\ny"\n',
      'a = [1 2]\n',
      'a =\n',
    ];
    const py = pythonParse(samples);
    samples.forEach((s, k) => {
      let ours = true;
      try {
        parseToml(s, 'f');
      } catch {
        ours = false;
      }
      const theirs = !(typeof py[k] === 'object' && py[k] !== null && 'error' in (py[k] as object));
      expect(ours, s).toBe(theirs);
    });
  });
});

describe('setTomlTable', () => {
  const entries = (cmd: string, args: string[]) =>
    [
      ['command', cmd],
      ['args', args],
    ] as const;

  it.skipIf(!python)(
    "adds or replaces coffer's table: valid TOML, other tables kept, every other byte kept, idempotent",
    () => {
      const outputs: string[] = [];
      const expected: { doc: string; cmd: string; args: string[] }[] = [];
      fc.assert(
        fc.property(document, str, fc.array(str, { maxLength: 4 }), str, (doc, cmd, args, cmd2) => {
          const once = setTomlTable(
            doc,
            'config.toml',
            ['mcp_servers', 'coffer'],
            entries(cmd, args),
          );
          expect(once.startsWith(doc)).toBe(true);
          expect(
            setTomlTable(once, 'config.toml', ['mcp_servers', 'coffer'], entries(cmd, args)),
          ).toBe(once);
          // A later table after coffer's stays where it is when coffer's is replaced.
          const withMore = `${once}\n[after]\nx = "1"\n`;
          const replaced = setTomlTable(
            withMore,
            'config.toml',
            ['mcp_servers', 'coffer'],
            entries(cmd2, args),
          );
          expect(replaced.startsWith(doc)).toBe(true);
          expect(replaced.endsWith('\n[after]\nx = "1"\n')).toBe(true);
          outputs.push(once, replaced);
          expected.push({ doc, cmd, args }, { doc, cmd: cmd2, args });
        }),
        { numRuns: 60 },
      );
      const parsed = pythonParse(outputs) as Record<string, unknown>[];
      const originals = pythonParse(expected.map((e) => e.doc)) as Record<string, unknown>[];
      parsed.forEach((p, k) => {
        expect(p, outputs[k]).not.toHaveProperty('error');
        const {
          mcp_servers,
          after: _after,
          ...rest
        } = p as { mcp_servers: unknown; after?: unknown };
        expect(mcp_servers).toEqual({
          coffer: { command: expected[k]!.cmd, args: expected[k]!.args },
        });
        expect(rest).toEqual(originals[k]);
      });
    },
    60_000,
  );

  it('whole: replaces the table and its sub-tables in place, keeping comments around them', () => {
    const before =
      '# mine\n[mcp_servers.coffer]\ncommand = "old"\n[mcp_servers.coffer.env]\nCOFFER_MASTER_KEY = "x"\n\n# next\n[other]\na = 1\n';
    const after = setTomlTable(
      before,
      'c.toml',
      ['mcp_servers', 'coffer'],
      entries('/bin/coffer', ['mcp']),
      'whole',
    );
    expect(after).toBe(
      '# mine\n[mcp_servers.coffer]\ncommand = "/bin/coffer"\nargs = ["mcp"]\n\n# next\n[other]\na = 1\n',
    );
  });

  it("keys: sets the entries' keys where they stand and keeps the table's others and sub-tables", () => {
    const before =
      '# mine\n[mcp_servers.coffer]\ncommand = "old" # was\nargs = [\n  "mcp",\n  "--x",\n]\nstartup_timeout_sec = 20\n[mcp_servers.coffer.env]\nCOFFER_HOME = "/srv/c"\n\n# next\n[other]\na = 1\n';
    const after = setTomlTable(
      before,
      'c.toml',
      ['mcp_servers', 'coffer'],
      [...entries('/bin/coffer', ['mcp']), ['enabled', true]],
    );
    expect(after).toBe(
      '# mine\n[mcp_servers.coffer]\ncommand = "/bin/coffer"\nargs = ["mcp"]\nstartup_timeout_sec = 20\nenabled = true\n[mcp_servers.coffer.env]\nCOFFER_HOME = "/srv/c"\n\n# next\n[other]\na = 1\n',
    );
    // Again: nothing changes.
    expect(
      setTomlTable(
        after,
        'c.toml',
        ['mcp_servers', 'coffer'],
        [...entries('/bin/coffer', ['mcp']), ['enabled', true]],
      ),
    ).toBe(after);
    // A table at the end of a file without its last newline.
    expect(
      setTomlTable(
        '[mcp_servers.coffer]\ncommand = "a"',
        'c.toml',
        ['mcp_servers', 'coffer'],
        [...entries('/bin/c', [])],
      ),
    ).toBe('[mcp_servers.coffer]\ncommand = "/bin/c"\nargs = []\n');
  });

  it('keeps a CRLF file CRLF and reads past a byte order mark', () => {
    const crlf = 'model = "o3"\r\n\r\n[mcp_servers.x]\r\ncommand = "a"\r\n';
    const added = setTomlTable(crlf, 'c.toml', ['mcp_servers', 'coffer'], entries('/bin/c', []));
    expect(added.startsWith(crlf)).toBe(true);
    expect(added.replace(/\r\n/g, '')).not.toContain('\n');
    expect(parseToml(added, 'c.toml').keys.map((k) => k.path.join('.'))).toContain(
      'mcp_servers.coffer.command',
    );
    // Without a final newline, the new table still starts on a line of its own.
    expect(
      setTomlTable(crlf.trimEnd(), 'c.toml', ['mcp_servers', 'coffer'], entries('/bin/c', [])),
    ).toBe(added);
    const bom = '\uFEFFmodel = "o3"\n';
    expect(parseToml(bom, 'c.toml').keys).toMatchObject([{ path: ['model'], value: 'o3' }]);
    const withBom = setTomlTable(bom, 'c.toml', ['mcp_servers', 'coffer'], entries('/bin/c', []));
    expect(withBom.startsWith(bom)).toBe(true);
    // A mark anywhere else is not TOML.
    expect(() => parseToml('model = "o3"\n\uFEFFx = 1\n', 'c.toml')).toThrow(/^c\.toml:2:/);
  });

  it("refuses coffer's server written with dotted keys or an inline table", () => {
    for (const text of [
      'mcp_servers.coffer.command = "x"\n',
      '[mcp_servers]\ncoffer = { command = "x" }\n',
    ]) {
      expect(() =>
        setTomlTable(text, 'c.toml', ['mcp_servers', 'coffer'], entries('/c', [])),
      ).toThrow(/^c\.toml:\d+: mcp_servers\.coffer is defined with dotted keys or an inline table/);
    }
  });

  it('writes strings that read back as written', () => {
    fc.assert(
      fc.property(str, fc.array(str, { maxLength: 4 }), (cmd, args) => {
        const text = renderTomlTable(['mcp_servers', 'coffer'], entries(cmd, args));
        expect(valuesOf(parseToml(text, 'f'))).toEqual({
          'mcp_servers.coffer.command': cmd,
          'mcp_servers.coffer.args': args,
        });
      }),
      { numRuns: 200 },
    );
  });
});
