/**
 * SQLite schema migrations, applied in order; `PRAGMA user_version` records how many ran.
 * A migration is never edited once released: add a new one instead.
 */
export const SQLITE_MIGRATIONS: readonly string[] = [
  // 1: the initial schema.
  `
  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) STRICT;

  CREATE TABLE keks (
    id         TEXT PRIMARY KEY,
    sealed     BLOB,
    status     TEXT NOT NULL CHECK (status IN ('primary', 'retiring', 'retired')),
    created_at TEXT NOT NULL,
    retired_at TEXT
  ) STRICT;

  CREATE TABLE secrets (
    path            TEXT NOT NULL,
    env             TEXT NOT NULL,
    description     TEXT NOT NULL,
    current_version INTEGER NOT NULL,
    tier            INTEGER,
    rotation        TEXT,
    env_var         TEXT,
    local_only      INTEGER NOT NULL DEFAULT 0,
    generator       TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    deleted_at      TEXT,
    PRIMARY KEY (path, env)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE secret_versions (
    id          INTEGER PRIMARY KEY,
    path        TEXT NOT NULL,
    env         TEXT NOT NULL,
    version     INTEGER NOT NULL,
    kek_id      TEXT NOT NULL,
    wrapped_dek BLOB NOT NULL,
    ciphertext  BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    actor       TEXT NOT NULL,
    UNIQUE (path, env, version)
  ) STRICT;
  CREATE INDEX secret_versions_kek ON secret_versions (kek_id);

  CREATE TABLE audit (
    seq       INTEGER PRIMARY KEY,
    ts        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    path      TEXT,
    env       TEXT,
    version   INTEGER,
    outcome   TEXT NOT NULL,
    detail    TEXT,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
  ) STRICT;
  CREATE INDEX audit_path ON audit (path);
  `,
  // 2: API tokens of `coffer serve` (hashes only; lists as JSON arrays).
  `
  CREATE TABLE tokens (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    hash       TEXT NOT NULL,
    allow      TEXT NOT NULL,
    envs       TEXT NOT NULL,
    caps       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT
  ) STRICT;
  `,
  // 3: no index on audit.path. A `coffer run` appends one record per secret read, and an
  // index on path puts each of them on a different B-tree page (most of the pages a run
  // writes); audit queries by path are rare and scan instead.
  `
  DROP INDEX audit_path;
  `,
  // 4: row MACs (docs/format.md, "Row MACs"): the MAC of each row that decides access or
  // which value is served, under a key derived from the master key. NULL in rows written
  // before it; the vault MACs them once when it is next opened with its master key.
  `
  ALTER TABLE keks ADD COLUMN mac BLOB;
  ALTER TABLE secrets ADD COLUMN mac BLOB;
  ALTER TABLE tokens ADD COLUMN mac BLOB;
  `,
  // 5: tokens that may not read values (`token create --no-reveal`): 'never', or NULL.
  // Covered by the row MAC (docs/format.md, "Row MACs").
  `
  ALTER TABLE tokens ADD COLUMN reveal TEXT;
  `,
];
