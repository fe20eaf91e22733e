/**
 * `coffer envelope rewrap`: moves every envelope of one table column to the primary key with
 * `rewrapRows`, showing a progress bar on a terminal, then a summary (stderr, or one JSON
 * document on stdout with --json). Exit code 1 when any row failed; failures are listed by
 * row id with their error, never with a value.
 */
import { type RewrapResult, rewrapRows } from '../../../core/envelope/rewrap.js';
import { contextTemplate } from '../../../core/envelope/row-context.js';
import { CofferError } from '../../../core/errors.js';
import { databaseError, openRewrapTarget } from '../../../storage/rewrap-target.js';
import type { GlobalOptions } from '../../context.js';
import { EXIT, note, printJson, progressBar } from '../../output.js';
import { type KeyCliOptions, loadKeyring } from './keyring-source.js';

export interface RewrapCliOptions extends KeyCliOptions {
  database?: string;
  table: string;
  column: string;
  idColumn: string;
  contextTemplate: string;
  batch?: number;
  dryRun?: boolean;
}

/** Failures listed in the text summary; --json lists them all. */
const SHOWN_FAILURES = 20;

export async function rewrapAction(opts: RewrapCliOptions, g: GlobalOptions): Promise<number> {
  const url = opts.database ?? process.env.DATABASE_URL;
  if (!url) {
    throw new CofferError('USAGE', 'say which database: --database PATH|URL (or set DATABASE_URL)');
  }
  const ref = { table: opts.table, column: opts.column, idColumn: opts.idColumn };
  const context = contextTemplate(opts.contextTemplate, opts.table, opts.column);
  const keyring = await loadKeyring(opts, g);
  const started = performance.now();
  let result: RewrapResult;
  let kind: string;
  try {
    const target = await openRewrapTarget(url, ref);
    kind = target.kind;
    const bar = progressBar(opts.dryRun ? 'checking rows' : 're-wrapping rows');
    try {
      result = await rewrapRows(target.adapter, keyring, {
        context,
        batchSize: opts.batch,
        dryRun: opts.dryRun === true,
        allowPlaintext: opts.allowPlaintext === true,
        onProgress: (p) => bar.update(p.done, p.total ?? p.done),
      });
    } finally {
      bar.end();
      await target.close();
    }
  } catch (err) {
    throw databaseError(err);
  } finally {
    keyring.destroy();
  }
  const seconds = (performance.now() - started) / 1000;
  if (opts.json) {
    printJson({
      database: kind,
      ...ref,
      contextTemplate: opts.contextTemplate,
      ...result,
      seconds: Number(seconds.toFixed(3)),
    });
  } else {
    printSummary(result, seconds, opts.contextTemplate);
  }
  return result.failures.length > 0 ? EXIT.failure : EXIT.ok;
}

function printSummary(r: RewrapResult, seconds: number, template: string): void {
  const verb = r.dryRun ? 'dry run: would re-wrap' : 're-wrapped';
  note(
    `${verb} ${r.rewrapped} rows to key ${r.primary}; ${r.alreadyCurrent} already current, ` +
      `${r.plaintextEncrypted} plaintext ${r.dryRun ? 'to encrypt' : 'encrypted'}, ${r.empty} empty, ` +
      `${r.failures.length} failed (${r.scanned} rows in ${seconds.toFixed(1)} s)`,
  );
  if (r.failures.length === 0) return;
  note(`error: ${r.failures.length} rows could not be re-wrapped:`);
  // The context is table, column and id (never a value): shown so that a context the
  // application builds differently is recognised at once.
  for (const f of r.failures.slice(0, SHOWN_FAILURES)) {
    const context =
      f.context === undefined
        ? `context template ${template}`
        : `context ${JSON.stringify(f.context)} from template ${template}`;
    note(`  row ${f.id}: ${f.message} [${f.code}] (${context})`);
  }
  if (r.failures.length > SHOWN_FAILURES) {
    note(`  ... and ${r.failures.length - SHOWN_FAILURES} more (--json lists them all)`);
  }
  if (r.failures.some((f) => f.code === 'INTEGRITY_FAILURE')) {
    note(
      'hint: an envelope opens only with the context it was sealed with. If the application ' +
        `builds another one than ${template}, pass its shape with --context-template ` +
        '(rowContext(table, column, id) is {table}/{column}/{id}; {table} is the name without its schema).',
    );
  }
}
