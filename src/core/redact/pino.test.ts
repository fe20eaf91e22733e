import fc from 'fast-check';
import pino, { type LoggerOptions } from 'pino';
import { describe, expect, it } from 'vitest';
import { forms } from '../../../test/helpers/redact-reference.js';
import { createRedactor, pinoRedactHooks, type RedactorOptions } from './index.js';

const M = '[REDACTED]';
const SECRET = 'sup3r-s3cret-value';

/** A real pino logger writing to memory, with the redaction hooks; `lines` are parsed. */
function memoryLogger(options: RedactorOptions, extra: LoggerOptions = {}) {
  const raw: string[] = [];
  const hooks = pinoRedactHooks(createRedactor(options));
  const log = pino({ ...extra, hooks }, { write: (s: string) => raw.push(s) });
  const lines = () => raw.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { log, raw, lines };
}

describe('pinoRedactHooks with a real pino logger', () => {
  it('masks values in the message and format arguments, and keys in interpolated objects', () => {
    const { log, raw, lines } = memoryLogger({ values: [SECRET] });
    log.info(`connecting with ${SECRET}`);
    log.info('retry %s in %d s', SECRET, 5);
    log.info({ user: 'ann' }, 'pair %j', { note: SECRET });
    log.info('config %j', { password: 'pw', port: 5432 });
    expect(raw.join('')).not.toContain(SECRET);
    expect(lines().map((l) => l.msg)).toEqual([
      `connecting with ${M}`,
      `retry ${M} in 5 s`,
      `pair {"note":"${M}"}`,
      `config {"password":"${M}","port":5432}`,
    ]);
    expect(lines()[2]!.user).toBe('ann');
  });

  it('never throws in a log call, and a boxed string shows no character of a value', () => {
    const { log, raw, lines } = memoryLogger({ values: [SECRET] });
    class Money {
      readonly #cents: number;
      constructor(cents: number) {
        this.#cents = cents;
      }
      toString() {
        return `${this.#cents / 100} EUR`;
      }
    }
    const symbolGetter = { a: 1 };
    Object.defineProperty(symbolGetter, Symbol('s'), {
      enumerable: true,
      get() {
        throw new Error('boom');
      },
    });
    expect(() => {
      log.info('q %s', new URLSearchParams(`a=1&k=${SECRET}`));
      log.info('re %s', /ab+c/);
      log.info('%s', new String(SECRET));
      log.info('%d', new Number(5) as unknown as number);
      log.info('cost %s', new Money(500));
      // pino's formatter reads an unknown %x as taking an argument, too.
      Reflect.apply(log.info, log, ['%x %j', 'skipped', { password: 'pw' }]);
      log.info(symbolGetter, 'with a throwing symbol getter');
      log.info({ boxed: new String(SECRET) }, 'boxed');
    }).not.toThrow();
    expect(raw.join('')).not.toContain(SECRET);
    expect(lines().map((l) => l.msg)).toEqual([
      `q a=1&k=${M}`,
      're /ab+c/',
      M,
      '5',
      'cost 5 EUR',
      `%x {"password":"${M}"}`,
      'with a throwing symbol getter',
      'boxed',
    ]);
    expect(lines()[7]!.boxed).toBe(M);
  });

  it('hides keys in %j objects after a null or undefined first argument, as after an object', () => {
    const { log, raw } = memoryLogger({ values: [SECRET] });
    Reflect.apply(log.info, log, [null, 'cfg %j', { password: 'hunter2pw' }]);
    Reflect.apply(log.info, log, [undefined, 'cfg %O', { token: 'tok-abc-123' }]);
    expect(raw.join('')).not.toContain('hunter2pw');
    expect(raw.join('')).not.toContain('tok-abc-123');
  });

  it('a marker that is regular-expression syntax does not break the copy of a RegExp', () => {
    const raw: string[] = [];
    const log = pino(
      { hooks: pinoRedactHooks(createRedactor({ values: [SECRET], marker: '***' })) },
      { write: (l: string) => raw.push(l) },
    );
    log.info('cfg %j', { password: 'hunter2pw', match: new RegExp(SECRET) });
    expect(raw.join('')).not.toContain('hunter2pw');
    expect(raw.join('')).not.toContain(SECRET);
  });

  it('masks an Error carrying a value, as the first argument and under err', () => {
    const { log, raw, lines } = memoryLogger({ values: [SECRET] });
    const err = Object.assign(new Error(`login failed for ${SECRET}`), { code: 'E_LOGIN' });
    log.error(err);
    log.error({ err }, 'while syncing');
    expect(raw.join('')).not.toContain(SECRET);
    const [first, second] = lines();
    expect(first!.msg).toBe(`login failed for ${M}`);
    expect(first!.err).toMatchObject({ type: 'Error', message: `login failed for ${M}` });
    expect((first!.err as { stack: string }).stack).toContain(`Error: login failed for ${M}`);
    expect(second!.err).toMatchObject({ code: 'E_LOGIN', message: `login failed for ${M}` });
    expect(err.message).toBe(`login failed for ${SECRET}`);
  });

  it('hides password and token keys in nested objects, short and unknown values too', () => {
    const { log, raw, lines } = memoryLogger({ values: [], patterns: true });
    log.info(
      {
        db: { host: 'db', password: 'pw', options: { token: 'tok-unknown-1' } },
        req: { headers: { authorization: 'Bearer abcdef123456', cookie: 'sid=s1d-val' } },
      },
      'request',
    );
    for (const v of ['"pw"', 'tok-unknown-1', 'abcdef123456', 's1d-val']) {
      expect(raw.join('')).not.toContain(v);
    }
    expect(lines()[0]).toMatchObject({
      db: { host: 'db', password: M, options: { token: M } },
      req: { headers: { authorization: M, cookie: M } },
      msg: 'request',
    });
  });

  it('covers child bindings, mixin output and msgPrefix, which pino formats itself', () => {
    const { log, raw, lines } = memoryLogger(
      { values: [SECRET] },
      { mixin: () => ({ trace: `t-${SECRET}` }), msgPrefix: `[${SECRET}] ` },
    );
    log.child({ apiKey: 'unknown-api-key', tenant: `t ${SECRET}` }).info('hello');
    expect(raw.join('')).not.toContain(SECRET);
    expect(raw.join('')).not.toContain('unknown-api-key');
    expect(lines()[0]).toMatchObject({ apiKey: M, tenant: `t ${M}`, trace: `t-${M}` });
    expect(lines()[0]!.msg).toBe(`[${M}] hello`);
  });

  it('finds a value with quotes and backslashes in its escaped JSON form', () => {
    const tricky = 'a"b\\c\nd-é';
    const { log, raw, lines } = memoryLogger({ values: [tricky] });
    log.child({ note: tricky }).info({ deep: { v: [tricky] } }, 'x');
    expect(raw.join('')).not.toContain(JSON.stringify(tricky).slice(1, -1));
    expect(lines()[0]).toMatchObject({ note: M, deep: { v: [M] }, msg: 'x' });
  });

  it('masks a pattern split between the format string and its argument', () => {
    const { log, raw, lines } = memoryLogger({ patterns: true });
    log.info('sending Bearer %s', 'abc123.def-456');
    expect(raw.join('')).not.toContain('abc123');
    expect(lines()[0]!.msg).toBe(`sending Bearer ${M}`);
  });

  it('keeps lines whose sensitive keys are hidden as written, and hides a binding key', () => {
    const { log, raw } = memoryLogger({}, { base: null, timestamp: false });
    log.info({ password: 'pw', token: null, nested: { apiKey: 'k' } }, 'already hidden');
    log.child({ 'api key': 'visible-1' }).info('from a binding');
    expect(raw).toEqual([
      `{"level":30,"password":"${M}","token":null,"nested":{"apiKey":"${M}"},"msg":"already hidden"}\n`,
      `{"level":30,"api key":"${M}","msg":"from a binding"}\n`,
    ]);
  });

  it('leaves lines without secrets as pino wrote them', () => {
    const { log, raw } = memoryLogger({ values: [SECRET] }, { base: null, timestamp: false });
    log.info({ a: 1, b: [true, null], keyPath: 'project/x/y' }, 'nothing to hide');
    expect(raw).toEqual([
      '{"level":30,"a":1,"b":[true,null],"keyPath":"project/x/y","msg":"nothing to hide"}\n',
    ]);
  });

  it('refuses a marker that would break JSON lines', () => {
    expect(() => pinoRedactHooks(createRedactor({ marker: '"x"' }))).toThrow(RangeError);
    expect(() => pinoRedactHooks(createRedactor({ marker: '<hidden>' }))).not.toThrow();
  });

  it('property: no generated secret reaches the log, in any form, and lines stay JSON', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'grapheme', minLength: 4, maxLength: 16 }), {
          minLength: 1,
          maxLength: 3,
        }),
        (secrets) => {
          const { log, raw, lines } = memoryLogger({ values: secrets });
          const [s0, s1 = s0, s2 = s0] = secrets as [string, ...string[]];
          log.info(`msg ${s0}`);
          log.child({ bound: s1 }).warn({ nested: { list: [s2, { v: s0 }] } }, 'obj %s', s1);
          log.error(new Error(`failed: ${s2}`));
          expect(lines()).toHaveLength(3);
          // Split at the markers: a secret may only be spelt by a marker and its neighbours.
          const pieces = raw.join('').split(M);
          for (const s of secrets) {
            for (const f of forms(s)) for (const p of pieces) expect(p).not.toContain(f);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('a value with a quote in it', () => {
  it('is masked in its escaped form, backslash included, so the line stays JSON', () => {
    for (const value of ['"   ', 'a"b\\c']) {
      const { log, raw, lines } = memoryLogger({ values: [value] });
      log.info(`msg ${value}`);
      log.child({ bound: value }).warn('obj %s', value);
      expect(lines().map((l) => l.msg)).toEqual([`msg ${M}`, `obj ${M}`]);
      expect(lines()[1]!.bound).toBe(M);
      expect(raw.join('')).not.toContain(JSON.stringify(value).slice(1, -1));
    }
  });
});
