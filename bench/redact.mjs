/**
 * Redaction throughput (`coffer/redact`, from dist/redact.js): redactString over log-like
 * text with and without the secret patterns, the stream masker that `coffer run --mask` uses,
 * and a pino logger with and without the redaction hooks. The floor for strings is a naive
 * `replaceAll` of each value in turn (which does not merge overlaps nor find escaped forms).
 *
 * Also measured: what was a trie's worst case, a text that repeats a long prefix of a value
 * (a run of `a` against a value of 64 `a`s and a `!`); the automaton reads it once, like any text.
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ROOT, requireDist } from './env.mjs';
import { fmtBytes, fmtRate, fmtRatio, runForTime } from './stats.mjs';

export const name = 'redact';
export const title = 'Redaction throughput (coffer/redact, single thread)';

const TEXT_BYTES = 64 * 1024;
const VALUE_COUNT = 10;

/** Log-like ASCII text of about `size` bytes with each value appearing a few times. */
function logText(size, values) {
  const lines = [];
  let len = 0;
  for (let i = 0; len < size; i++) {
    const line =
      i % 16 === 0
        ? `2024-05-01T10:00:${String(i % 60).padStart(2, '0')}Z INFO connecting with ${values[i % values.length]}`
        : `2024-05-01T10:00:${String(i % 60).padStart(2, '0')}Z INFO GET /api/items/${i} 200 ${i % 97}ms user=ann`;
    lines.push(line);
    len += line.length + 1;
  }
  return lines.join('\n');
}

/** MB/s for `bytes` processed per call. */
const mbPerSec = (bytes, r) => (bytes * r.perSec) / 1e6;

export async function run(ctx) {
  requireDist();
  const { createRedactor, createStreamMasker, pinoRedactHooks } = await import(
    join(ROOT, 'dist', 'redact.js')
  );
  const pino = createRequire(join(ROOT, 'package.json'))('pino');
  const budget = ctx.quick ? 250 : 1500;
  const values = Array.from({ length: VALUE_COUNT }, () => randomBytes(18).toString('base64url'));
  const text = logText(TEXT_BYTES, values);
  const bytes = Buffer.from(text);
  const plain = createRedactor({ values });
  const withPatterns = createRedactor({ values, patterns: true });
  const expected = plain.redactString(text);
  if (values.some((v) => expected.includes(v))) throw new Error('redactString left a value');

  const rows = [];
  const row = (label, size, r, floor) => [
    label,
    fmtBytes(size),
    fmtRate(r.perSec),
    fmtRate(mbPerSec(size, r)),
    floor ? fmtRatio(r.usPerOp / floor.usPerOp) : '',
  ];

  ctx.log('redact: strings');
  const naive = await runForTime(budget, () => {
    let s = text;
    for (const v of values) s = s.replaceAll(v, '[REDACTED]');
    if (s.length === 0) throw new Error('unreachable');
  });
  const str = await runForTime(budget, () => {
    plain.redactString(text);
  });
  const pat = await runForTime(budget, () => {
    withPatterns.redactString(text);
  });
  rows.push(
    row('naive replaceAll of each value (floor)', TEXT_BYTES, naive, naive),
    row(`redactString, ${VALUE_COUNT} values`, TEXT_BYTES, str, naive),
    row(`redactString, ${VALUE_COUNT} values + patterns`, TEXT_BYTES, pat, naive),
  );

  ctx.log('redact: stream');
  const chunk = 4096;
  const stream = await runForTime(budget, () => {
    const m = createStreamMasker(values);
    let out = 0;
    for (let i = 0; i < bytes.length; i += chunk)
      out += m.push(bytes.subarray(i, i + chunk)).length;
    out += m.end().length;
    if (out !== Buffer.byteLength(expected)) throw new Error('stream masker output differs');
  });
  rows.push(row(`stream masker, ${chunk} B chunks`, TEXT_BYTES, stream, naive));

  ctx.log('redact: worst case');
  const worstText = 'a'.repeat(TEXT_BYTES);
  const worst = createRedactor({ values: [`${'a'.repeat(64)}!`] });
  const bad = await runForTime(budget, () => {
    worst.redactString(worstText);
  });
  rows.push(row('redactString, text repeating a value prefix', TEXT_BYTES, bad, naive));

  ctx.log('redact: pino');
  const sink = { write: () => {} };
  const logPlain = pino({}, sink);
  const logHooked = pino({ hooks: pinoRedactHooks(withPatterns) }, sink);
  const entry = { user: 'ann', items: [1, 2, 3], note: `uses ${values[0]}` };
  const p0 = await runForTime(budget, () => logPlain.info(entry, 'request done'));
  const p1 = await runForTime(budget, () => logHooked.info(entry, 'request done'));
  const p2 = await runForTime(budget, () => logHooked.info({ ...entry, token: 'x' }, 'login'));
  const perLine = (label, r) => [
    label,
    '1 line',
    fmtRate(r.perSec),
    '',
    fmtRatio(r.usPerOp / p0.usPerOp),
  ];
  rows.push(
    perLine('pino info(), no hooks', p0),
    perLine('pino info(), redaction hooks', p1),
    perLine('pino info(), hooks, object with a sensitive key', p2),
  );

  return {
    title,
    columns: [
      { header: 'operation', align: 'left' },
      { header: 'input', align: 'right' },
      { header: 'calls/s', align: 'right' },
      { header: 'MB/s', align: 'right' },
      { header: 'time vs floor', align: 'right' },
    ],
    rows,
    notes: [
      `Each row runs for ${budget} ms. Text: log lines, ${VALUE_COUNT} random 24-character values.`,
      'String rows compare with the naive replaceAll; pino rows with pino without hooks.',
      'Sensitive key: logMethod hides it in a copy of the object; the line is not parsed again.',
    ],
  };
}
