/**
 * PostgreSQL schema migrations, applied in order; the table `schema_migrations` records each
 * one that ran (the counterpart of SQLite's `PRAGMA user_version`). A migration is never
 * edited once released: add a new one instead.
 *
 * Several instances may start at once against a new or older database: `migrate` checks
 * the version without a lock (the common case, one query), and only when something is
 * missing takes the store's advisory lock in a transaction, re-reads the version under it,
 * and applies what is still missing. The schema itself is created in that transaction too.
 *
 * The tables mirror the SQLite schema. Every text column that is compared or sorted uses
 * the "C" collation, so that keys differing only in case or normalisation stay distinct and
 * ORDER BY is by code point whatever the database's locale; text is stored through
 * text-escape.ts (PostgreSQL text cannot hold U+0000). Timestamps are the ISO strings the
 * core writes, kept as text so that they round-trip exactly. Integers are bigint, like
 * SQLite's 64-bit INTEGER.
 */
import { CofferError } from '../../core/errors.js';
import type { PgClient } from './postgres-driver.js';

export const POSTGRES_MIGRATIONS: readonly string[] = [
  // 1: the initial schema, with the API tokens of `coffer serve` (hashes only).
  `
  CREATE TABLE meta (
    key   text COLLATE "C" PRIMARY KEY,
    value text NOT NULL
  );

  CREATE TABLE keks (
    id         text COLLATE "C" PRIMARY KEY,
    sealed     bytea,
    status     text NOT NULL CHECK (status IN ('primary', 'retiring', 'retired')),
    created_at text COLLATE "C" NOT NULL,
    retired_at text
  );

  CREATE TABLE secrets (
    path            text COLLATE "C" NOT NULL,
    env             text COLLATE "C" NOT NULL,
    description     text NOT NULL,
    current_version bigint NOT NULL,
    tier            bigint,
    rotation        text,
    env_var         text,
    local_only      boolean NOT NULL DEFAULT false,
    generator       text,
    created_at      text NOT NULL,
    updated_at      text NOT NULL,
    deleted_at      text,
    PRIMARY KEY (path, env)
  );

  CREATE TABLE secret_versions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    path        text COLLATE "C" NOT NULL,
    env         text COLLATE "C" NOT NULL,
    version     bigint NOT NULL,
    kek_id      text COLLATE "C" NOT NULL,
    wrapped_dek bytea NOT NULL,
    ciphertext  bytea NOT NULL,
    created_at  text NOT NULL,
    actor       text NOT NULL,
    UNIQUE (path, env, version)
  );
  CREATE INDEX secret_versions_kek ON secret_versions (kek_id);

  CREATE TABLE audit (
    seq       bigint PRIMARY KEY,
    ts        text NOT NULL,
    actor     text NOT NULL,
    action    text NOT NULL,
    path      text COLLATE "C",
    env       text,
    version   bigint,
    outcome   text NOT NULL,
    detail    text,
    prev_hash text NOT NULL,
    hash      text NOT NULL
  );

  CREATE TABLE tokens (
    id         text COLLATE "C" PRIMARY KEY,
    name       text COLLATE "C" NOT NULL UNIQUE,
    hash       text NOT NULL,
    allow      text NOT NULL,
    envs       text NOT NULL,
    caps       text NOT NULL,
    created_at text COLLATE "C" NOT NULL,
    expires_at text,
    revoked_at text
  );
  `,
  // 2: row MACs (docs/format.md, "Row MACs"); NULL in rows written before them, until the
  // vault MACs them once when it is next opened with its master key.
  `
  ALTER TABLE keks ADD COLUMN mac bytea;
  ALTER TABLE secrets ADD COLUMN mac bytea;
  ALTER TABLE tokens ADD COLUMN mac bytea;
  `,
  // 3: tokens that may not read values (`token create --no-reveal`): 'never', or NULL.
  `
  ALTER TABLE tokens ADD COLUMN reveal text;
  `,
];

const MIGRATIONS_TABLE = `
  CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`;

/** The schema's migration version; 0 when the schema or its migrations table is missing. */
export async function schemaVersion(client: PgClient): Promise<number> {
  // Two statements: PostgreSQL resolves every table a statement names before running it, so a
  // CASE around a missing table still fails.
  const present = await client.query(
    `SELECT to_regclass('schema_migrations') IS NOT NULL AS present`,
  );
  if (present.rows[0]?.present !== true) return 0;
  const { rows } = await client.query(
    'SELECT coalesce(max(version), 0) AS v FROM schema_migrations',
  );
  return Number(rows[0]?.v ?? 0);
}

export interface MigrateOptions {
  schema: string;
  lockKey: string;
  /** Create the schema when it is missing (`coffer init`); otherwise VAULT_NOT_FOUND. */
  create: boolean;
  location: string;
}

/** Brings the schema up to date; the client's search_path already names the schema. */
export async function migrate(client: PgClient, options: MigrateOptions): Promise<void> {
  const target = POSTGRES_MIGRATIONS.length;
  const current = await schemaVersion(client);
  if (current === target) return;
  if (current > target) throw newerSchema(current, target);
  if (current === 0 && !options.create) {
    throw new CofferError(
      'VAULT_NOT_FOUND',
      `no vault in the PostgreSQL store at ${options.location}`,
    );
  }
  await client.query(`BEGIN; SELECT pg_advisory_xact_lock(${options.lockKey})`);
  try {
    const exists = await client.query({
      text: 'SELECT 1 FROM pg_namespace WHERE nspname = $1',
      values: [options.schema],
    });
    // The name is checked against /^[a-z_][a-z0-9_]*$/ (postgres-driver.ts), so quoting it is safe.
    if (exists.rows.length === 0) await client.query(`CREATE SCHEMA "${options.schema}"`);
    await client.query(`SET LOCAL search_path TO "${options.schema}"`);
    await client.query(MIGRATIONS_TABLE);
    // Re-read under the lock: another instance may have migrated meanwhile.
    const start = await schemaVersion(client);
    if (start > target) throw newerSchema(start, target);
    for (let i = start; i < target; i++) {
      await client.query(POSTGRES_MIGRATIONS[i]!);
      await client.query({
        text: 'INSERT INTO schema_migrations (version) VALUES ($1)',
        values: [i + 1],
      });
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

function newerSchema(current: number, target: number): CofferError {
  return new CofferError(
    'UNSUPPORTED_FORMAT',
    `the PostgreSQL schema is version ${current}, newer than this coffer (${target})`,
  );
}
