/**
 * The .env editor (`setDotenvVariables`, what `env pull`, `set --dotenv` and `setup` write
 * through): many variables into an empty file, and a few into a large one. The editor is one
 * pass over the text (parsed once, the result parsed once to check it), so both rows grow
 * with the size of the text plus the variables, not with their product: before, 2,000
 * variables took 11.6 s and 200 into a 10 MB file 43 s, holding the file's lock all along.
 */
import { join } from 'node:path';
import { ROOT, requireDist } from './env.mjs';
import { fmtMs, fmtNum, median } from './stats.mjs';

export const name = 'dotenv';
export const title = '.env editor (setDotenvVariables, library)';

function variables(n, prefix) {
  const out = {};
  for (let i = 0; i < n; i++) out[`${prefix}_${i}`] = `value-${i}-${'x'.repeat(24)}`;
  return out;
}

/** A .env text of about `bytes` bytes: comment lines and a pair every tenth line. */
function bigText(bytes) {
  const lines = [];
  let len = 0;
  for (let i = 0; len < bytes; i++) {
    const line = i % 10 === 0 ? `OLD_${i}=old-value-${i}` : `# comment ${i} ${'c'.repeat(180)}`;
    lines.push(line);
    len += line.length + 1;
  }
  return `${lines.join('\n')}\n`;
}

export async function run(ctx) {
  requireDist();
  const { setDotenvVariables } = await import(join(ROOT, 'dist', 'index.js'));
  const rounds = ctx.quick ? 1 : 5;
  const cases = [
    { label: '2,000 variables into an empty file', text: '', values: variables(2000, 'KEY') },
    {
      label: '200 variables into a large file',
      text: bigText(ctx.quick ? 1_000_000 : 10_000_000),
      values: variables(200, 'NEW'),
    },
  ];
  const rows = [];
  for (const c of cases) {
    const times = [];
    let out = '';
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      out = setDotenvVariables(c.text, c.values);
      times.push(performance.now() - t0);
    }
    for (const [k, v] of Object.entries(c.values)) {
      if (!out.includes(`\n${k}=${v}\n`) && !out.startsWith(`${k}=${v}\n`)) {
        throw new Error(`dotenv bench: ${k} was not written`);
      }
    }
    rows.push([c.label, `${fmtNum(Buffer.byteLength(c.text) / 1e6, 1)} MB`, fmtMs(median(times))]);
    ctx.log(`dotenv: ${c.label} done`);
  }
  return {
    title,
    columns: [
      { header: 'case', align: 'left' },
      { header: 'existing text', align: 'right' },
      { header: 'median (ms)', align: 'right' },
    ],
    rows,
    notes: [
      `median of ${rounds} run(s). Target: under 1 s each (linear); the key-by-key editor took 11.6 s and 43 s.`,
    ],
  };
}
