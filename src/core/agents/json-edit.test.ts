import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CofferError } from '../errors.js';
import {
  appendItem,
  jsonValue,
  nodeAt,
  parseJsonTree,
  replaceNode,
  setProperty,
} from './json-edit.js';

/** How many characters of `before` an edit removed or rewrote (0: a pure insertion). */
function changedLength(before: string, after: string): number {
  let p = 0;
  while (p < before.length && p < after.length && before[p] === after[p]) p++;
  let s = 0;
  while (
    s < before.length - p &&
    s < after.length - p &&
    before[before.length - 1 - s] === after[after.length - 1 - s]
  )
    s++;
  return before.length - p - s;
}

const key = fc.string({ maxLength: 8 });
const json = fc.jsonValue({ maxDepth: 3 });
const obj = fc.dictionary(key, json, { maxKeys: 6 });
const indent = fc.constantFrom('  ', '    ', '\t');

describe('parseJsonTree', () => {
  it('reads what JSON.stringify writes, in any indentation', () => {
    fc.assert(
      fc.property(json, indent, (v, ind) => {
        const text = JSON.stringify(v, null, ind);
        expect(jsonValue(parseJsonTree(text, 'f.json'))).toEqual(JSON.parse(text));
      }),
      { numRuns: 200 },
    );
  });

  it('refuses what is not JSON with the file, line and column', () => {
    const bad = (text: string, where: string, jsonc = false) => {
      let err: unknown;
      try {
        parseJsonTree(text, 'x.json', { jsonc });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CofferError);
      expect((err as CofferError).message).toContain(`x.json:${where}:`);
    };
    bad('{\n  "a": 1,\n}\n', '3:1');
    bad('{\n  "a": 1\n  "b": 2\n}', '3:3');
    bad('{\n  // note\n  "a": 1\n}', '2:3');
    bad('{"a": 1, "a": 2}', '1:10');
    bad('{"a": [1, 2}', '1:12');
    bad('', '1:1');
    bad('{} {}', '1:4');
    bad('{"a": tru}', '1:7');
    bad('/* open', '1:1', true);
  });

  it('reads a "__proto__" key as data, as JSON.parse does', () => {
    const text = '{"__proto__": {"command": "/x"}, "a": 1}';
    const v = jsonValue(parseJsonTree(text, 'f')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(v).toEqual(JSON.parse(text));
    expect(Object.keys(v)).toEqual(['__proto__', 'a']);
  });

  it('reads comments and trailing commas in JSONC only', () => {
    const text = '{\n  // servers\n  "servers": { "a": 1, },\n  /* x */ "b": [1,],\n}\n';
    expect(jsonValue(parseJsonTree(text, 'mcp.json', { jsonc: true }))).toEqual({
      servers: { a: 1 },
      b: [1],
    });
  });
});

describe('setProperty', () => {
  it('adds or replaces one property, keeps every other entry and byte, and is idempotent', () => {
    fc.assert(
      fc.property(obj, indent, key, key, json, (base, ind, k1, k2, value) => {
        const before = `${JSON.stringify({ ...base, servers: base }, null, ind)}\n`;
        const after = setProperty(before, 'f.json', {}, ['servers'], k1, value);
        const parsed = JSON.parse(after);
        expect(parsed.servers).toEqual(JSON.parse(JSON.stringify({ ...base, [k1]: value })));
        for (const k of Object.keys(base))
          expect(parsed[k]).toEqual(JSON.parse(JSON.stringify(base[k])));
        // Only the old value's text changed (nothing at all for a new property).
        const old = nodeAt(parseJsonTree(before, 'f.json'), ['servers', k1]);
        expect(changedLength(before, after)).toBeLessThanOrEqual(old ? old.end - old.start : 0);
        // The same edit again changes nothing.
        expect(setProperty(after, 'f.json', {}, ['servers'], k1, value)).toBe(after);
        // Creating missing objects on the way (a key longer than any generated one).
        const deep = setProperty(before, 'f.json', {}, ['missing-object', 'y'], k2, value);
        expect(JSON.parse(deep)['missing-object']).toEqual(
          JSON.parse(JSON.stringify({ y: { [k2]: value } })),
        );
        expect(changedLength(before, deep)).toBe(0);
      }),
      { numRuns: 150 },
    );
  });

  it('works on one-line objects, empty objects and JSONC with comments', () => {
    expect(setProperty('{"a": 1}', 'f', {}, [], 'b', 2)).toBe('{"a": 1, "b": 2}');
    expect(setProperty('{}\n', 'f', {}, [], 'b', [1])).toBe('{\n  "b": [\n    1\n  ]\n}\n');
    const jsonc = '{\n  // mine\n  "servers": {\n    "x": {},\n  },\n}\n';
    const out = setProperty(jsonc, 'f', { jsonc: true }, ['servers'], 'coffer', { a: 1 });
    expect(out).toBe(
      '{\n  // mine\n  "servers": {\n    "x": {},\n    "coffer": {\n      "a": 1\n    }\n  },\n}\n',
    );
  });

  it("keeps a comment that ends the last member's line on that line", () => {
    const opts = { jsonc: true };
    for (const [comment, comma] of [
      ['// github', ','],
      ['// github', ''],
      ['/* github */', ','],
      ['/* github */', ''],
    ] as const) {
      const text = `{\n  "servers": {\n    "github": {}${comma} ${comment}\n  }\n}\n`;
      const out = setProperty(text, 'f', opts, ['servers'], 'coffer', 1);
      expect(out, text).toBe(
        `{\n  "servers": {\n    "github": {}, ${comment}\n    "coffer": 1\n  }\n}\n`,
      );
      expect(jsonValue(parseJsonTree(out, 'f', opts))).toEqual({
        servers: { github: {}, coffer: 1 },
      });
    }
  });

  it('keeps the comments of an empty object or array it adds to', () => {
    const jsonc =
      '{\n  "servers": {\n    // TODO add github\n  },\n  "list": [ /* none yet */ ]\n}\n';
    const added = setProperty(jsonc, 'f', { jsonc: true }, ['servers'], 'coffer', { a: 1 });
    expect(added).toBe(
      '{\n  "servers": {\n    // TODO add github\n    "coffer": {\n      "a": 1\n    }\n  },\n  "list": [ /* none yet */ ]\n}\n',
    );
    expect(jsonValue(parseJsonTree(added, 'f', { jsonc: true }))).toEqual({
      servers: { coffer: { a: 1 } },
      list: [],
    });
    const appended = appendItem(added, 'f', { jsonc: true }, ['list'], 'x');
    expect(appended).toContain('"list": [ /* none yet */\n    "x"\n  ]');
    expect(jsonValue(parseJsonTree(appended, 'f', { jsonc: true }))).toMatchObject({ list: ['x'] });
  });

  it('keeps CRLF line endings', () => {
    const out = setProperty('{\r\n  "a": 1\r\n}\r\n', 'f', {}, [], 'b', { c: 2 });
    expect(out).toBe('{\r\n  "a": 1,\r\n  "b": {\r\n    "c": 2\r\n  }\r\n}\r\n');
  });

  it('refuses a path through something that is not an object', () => {
    expect(() => setProperty('{\n  "servers": []\n}', 'f.json', {}, ['servers'], 'a', 1)).toThrow(
      /f\.json:2: servers is not a JSON object/,
    );
  });
});

describe('appendItem and replaceNode', () => {
  it('append keeps the array and every other byte', () => {
    fc.assert(
      fc.property(fc.array(json, { maxLength: 5 }), indent, json, (items, ind, v) => {
        const before = JSON.stringify({ list: items, other: 1 }, null, ind);
        const after = appendItem(before, 'f', {}, ['list'], v);
        expect(JSON.parse(after)).toEqual(
          JSON.parse(JSON.stringify({ list: [...items, v], other: 1 })),
        );
        expect(changedLength(before, after)).toBeLessThanOrEqual(items.length === 0 ? 2 : 0);
      }),
      { numRuns: 150 },
    );
    expect(appendItem('{"l": ["a"]}', 'f', {}, ['l'], 'b')).toBe('{"l": ["a", "b"]}');
  });

  it('replace changes that value only', () => {
    const text = '{\n  "a": [1, 2],\n  "b": 3\n}';
    const node = nodeAt(parseJsonTree(text, 'f'), ['a', 1])!;
    expect(replaceNode(text, node, { x: 1 })).toBe(
      '{\n  "a": [1, {\n    "x": 1\n  }],\n  "b": 3\n}',
    );
  });
});
