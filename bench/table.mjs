/**
 * Plain-text (markdown-compatible) tables with aligned columns.
 *
 * A table is `{ title, columns, rows, notes }`:
 *   columns: [{ header, align: 'left' | 'right' }]
 *   rows:    arrays of cells (strings or numbers; numbers are printed as given by String())
 *   notes:   lines printed under the table
 */

/** Renders one table as a string (no trailing newline). */
export function renderTable({ title, columns, rows, notes = [] }) {
  const cells = rows.map((row) => columns.map((_, i) => cellText(row[i])));
  const widths = columns.map((c, i) =>
    Math.max(c.header.length, 3, ...cells.map((row) => row[i].length)),
  );
  const line = (texts) =>
    `| ${texts
      .map((t, i) => (columns[i].align === 'right' ? t.padStart(widths[i]) : t.padEnd(widths[i])))
      .join(' | ')} |`;
  const rule = `|${columns
    .map((c, i) =>
      c.align === 'right' ? `${'-'.repeat(widths[i] + 1)}:` : '-'.repeat(widths[i] + 2),
    )
    .join('|')}|`;
  const out = [];
  if (title) out.push(`### ${title}`, '');
  out.push(line(columns.map((c) => c.header)), rule, ...cells.map(line));
  if (notes.length > 0) out.push('', ...notes.map((n) => `  ${n}`));
  return out.join('\n');
}

function cellText(value) {
  if (value === undefined || value === null) return '';
  return String(value);
}

/** Prints tables separated by blank lines. */
export function printTables(tables, write = (s) => process.stdout.write(s)) {
  write(`${tables.map(renderTable).join('\n\n')}\n`);
}
