/**
 * The PostgreSQL side of `coffer envelope rewrap`: one `pg` client (not a pool, so each batch
 * is one transaction on one connection). Loaded only for postgres:// URLs (database.ts), so
 * the optional `pg` package is required only then.
 */
import pg from 'pg';
import type { ColumnRef } from '../../../core/envelope/sql-adapters.js';
import { postgresRewrapAdapter } from '../../../core/envelope/sql-adapters.js';
import { databaseError, type RewrapTarget } from './database.js';

export async function openPostgresTarget(url: string, ref: ColumnRef): Promise<RewrapTarget> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
  } catch (err) {
    throw databaseError(err, 'cannot connect to the PostgreSQL database');
  }
  try {
    const adapter = await postgresRewrapAdapter(client, ref);
    return { kind: 'postgres', adapter, close: () => client.end() };
  } catch (err) {
    await client.end();
    throw err;
  }
}
