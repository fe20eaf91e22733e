import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { referenceRedact, textWith, valuesArb } from '../../../test/helpers/redact-reference.js';
import { createRedactor, isSensitiveKey } from './index.js';

const M = '[REDACTED]';

/** The expected redaction of plain JSON-like data, written independently of redact.ts. */
function model(value: unknown, values: string[]): unknown {
  if (typeof value === 'string') return referenceRedact(value, values);
  if (Array.isArray(value)) return value.map((v) => model(v, values));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[referenceRedact(k, values)] =
        isSensitiveKey(k) && v !== null && v !== undefined ? M : model(v, values);
    }
    return out;
  }
  return value;
}

const KEY = fc.oneof(
  fc.constantFrom('password', 'apiKey', 'DB_PASSWORD', 'auth', 'name', 'id', 'note', 'items'),
  fc.string({ unit: fc.constantFrom('a', 'b', 'x', '_'), maxLength: 6 }),
);

/** Values, and JSON-like data whose strings are texts made from them. */
const valuesAndData = valuesArb.chain((values) =>
  fc
    .letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        textWith(values),
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(KEY, tie('node'), { maxKeys: 4 }),
      ),
    }))
    .node.map((data) => ({ values, data })),
);

describe('redactObject', () => {
  it('property: strings redacted, sensitive keys hidden, structure kept, input untouched', () => {
    fc.assert(
      fc.property(valuesAndData, ({ values, data }) => {
        const before = structuredClone(data);
        const out = createRedactor({ values }).redactObject(data);
        expect(out).toEqual(model(data, values));
        expect(data).toEqual(before);
      }),
      { numRuns: 300 },
    );
  });

  it('hides whole values under sensitive keys, short ones too, but keeps null', () => {
    const r = createRedactor();
    expect(
      r.redactObject({
        password: 'x',
        db: { apiKey: 12345, api_key: { nested: true }, 'X-Auth-Token': ['a'] },
        token: null,
        secret: undefined,
        user: 'ann',
      }),
    ).toEqual({
      password: M,
      db: { apiKey: M, api_key: M, 'X-Auth-Token': M },
      token: null,
      secret: undefined,
      user: 'ann',
    });
  });

  it('names sensitive keys in every spelling', () => {
    for (const k of ['password', 'DB_PASSWD', 'clientSecret', 'x-api-key', 'Authorization']) {
      expect(isSensitiveKey(k), k).toBe(true);
    }
    for (const k of ['passphrase', 'pwd', 'session_id', 'set-cookie', 'connectionString']) {
      expect(isSensitiveKey(k), k).toBe(true);
    }
    for (const k of ['user', 'name', 'id', 'host', 'port', 'keyPath', 'description']) {
      expect(isSensitiveKey(k), k).toBe(false);
    }
  });

  it('keeps cycles and shared references, without looping', () => {
    const secret = 'cycle-secret-1';
    const obj: Record<string, unknown> = { note: `has ${secret}` };
    obj.self = obj;
    const list: unknown[] = [obj];
    list.push(list);
    obj.list = list;
    const map = new Map<string, unknown>([['me', obj]]);
    obj.map = map;
    const out = createRedactor({ values: [secret] }).redactObject(obj);
    expect(out.self).toBe(out);
    expect((out.list as unknown[])[0]).toBe(out);
    expect((out.list as unknown[])[1]).toBe(out.list);
    expect((out.map as Map<string, unknown>).get('me')).toBe(out);
    expect(out.note).toBe(`has ${M}`);
    expect(obj.note).toBe(`has ${secret}`);
  });

  it('copies an Error with its message, stack, cause and own fields redacted', () => {
    const secret = 'err-secret-123';
    const cause = new Error(`inner ${secret}`);
    const err = Object.assign(new TypeError(`bad token ${secret}`, { cause }), {
      code: 'E_AUTH',
      token: 'abc',
    });
    const out = createRedactor({ values: [secret] }).redactObject(err);
    expect(out).toBeInstanceOf(TypeError);
    expect(out.message).toBe(`bad token ${M}`);
    expect(out.stack).toContain(`TypeError: bad token ${M}`);
    expect(out.stack).not.toContain(secret);
    expect((out.cause as Error).message).toBe(`inner ${M}`);
    expect(out.code).toBe('E_AUTH');
    expect(out.token).toBe(M);
    expect(Object.keys(out)).toEqual(['code', 'token']);
    expect(err.message).toBe(`bad token ${secret}`);
  });

  it('redacts Maps, Sets and property names, and copies Dates', () => {
    const secret = 'key-name-value1';
    const date = new Date(0);
    const out = createRedactor({ values: [secret] }).redactObject({
      map: new Map<unknown, unknown>([
        [secret, 1],
        ['password', 'p'],
        ['ok', `v ${secret}`],
      ]),
      set: new Set([secret, 'plain']),
      [`by ${secret}`]: true,
      date,
    });
    expect([...out.map]).toEqual([
      [M, 1],
      ['password', M],
      ['ok', `v ${M}`],
    ]);
    expect([...out.set]).toEqual([M, 'plain']);
    expect(out).toHaveProperty(`by ${M}`, true);
    expect(out.date).toEqual(date);
    expect(out.date).not.toBe(date);
  });

  it('serializes toJSON objects as JSON would, and keeps class prototypes', () => {
    const secret = 'url-secret-pw';
    class Account {
      constructor(
        public name: string,
        public note: string,
      ) {}
      label(): string {
        return `account ${this.name}`;
      }
    }
    const r = createRedactor({ values: [secret], patterns: true });
    const out = r.redactObject({
      url: new URL(`https://user:${secret}@example.com/`),
      account: new Account('ann', `note ${secret}`),
      custom: { toJSON: () => ({ apiKey: 'k', v: secret }) },
    });
    expect(out.url).toBe(`https://user:${M}@example.com/`);
    expect(out.account).toBeInstanceOf(Account);
    expect(out.account.label()).toBe('account ann');
    expect(out.account.note).toBe(`note ${M}`);
    expect(out.custom).toEqual({ apiKey: M, v: M });
  });

  it('survives throwing getters and toJSON, and keeps binary data by reference', () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const tricky = {
      get boom(): string {
        throw new Error('getter failed');
      },
      get fine(): string {
        return 'secret-getter-value';
      },
      bytes,
    };
    const out = createRedactor({ values: ['secret-getter-value'] }).redactObject(tricky);
    expect(Object.getOwnPropertyDescriptor(out, 'boom')).toBeUndefined();
    expect(out.fine).toBe(M);
    expect(out.bytes).toBe(bytes);
    const badJson = {
      a: 'b',
      toJSON: () => {
        throw new Error('no');
      },
    };
    expect(createRedactor().redactObject(badJson).a).toBe('b');
    const selfJson = {
      toJSON(): unknown {
        return { me: selfJson };
      },
    };
    expect(createRedactor().redactObject(selfJson)).toEqual({ me: M });
  });

  it('an own __proto__ key stays data and does not change the prototype', () => {
    const parsed = JSON.parse('{"__proto__": {"password": "x", "polluted": true}}') as object;
    const out = createRedactor().redactObject(parsed);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toEqual({
      password: M,
      polluted: true,
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('redactObject and built-ins with internal state', () => {
  const S = 'hunter2-boxed-secret';
  const r = createRedactor({ values: [S] });

  it('unboxes String, Number and Boolean objects (a boxed string is masked whole)', () => {
    const out = r.redactObject({ msg: new String(S), n: new Number(5), b: new Boolean(true) });
    expect(JSON.stringify(out)).toBe('{"msg":"[REDACTED]","n":5,"b":true}');
  });

  it('keeps RegExp and URLSearchParams usable, masked, and passes promises and weak maps on', () => {
    const p = Promise.resolve(1);
    const w = new WeakMap();
    const out = r.redactObject({
      re: new RegExp(`${S}|x`, 'g'),
      q: new URLSearchParams({ k: S }),
      p,
      w,
    }) as { re: RegExp; q: URLSearchParams; p: unknown; w: unknown };
    expect(out.re.source).toBe('[REDACTED]|x');
    expect(out.re.flags).toBe('g');
    expect(out.q.get('k')).toBe('[REDACTED]');
    expect(out.p).toBe(p);
    expect(out.w).toBe(w);
  });

  it('skips a throwing symbol-keyed getter as it skips a string-keyed one', () => {
    const o: Record<PropertyKey, unknown> = { a: S };
    Object.defineProperty(o, Symbol('s'), {
      enumerable: true,
      get() {
        throw new Error('boom');
      },
    });
    expect(() => r.redactObject(o)).not.toThrow();
    expect((r.redactObject(o) as { a: string }).a).toBe('[REDACTED]');
  });
});
