/**
 * The StorageTx operations on SQLite: one prepared statement each (cached by its text), run
 * synchronously on the connection inside the transaction SqliteStorage opened.
 */
import type {
  AuditQuery,
  SecretFilter,
  SecretRecord,
  StorageTx,
  VersionRecord,
  WrappedKeyRow,
} from '../../core/store/storage.js';
import {
  bytes,
  type Dialect,
  metaLimit,
  type Row,
  rowId,
  rowMappers,
  SECRET_COLUMNS,
  sqliteInt,
} from '../rows.js';
import type { Statement } from './sqlite-driver.js';

const dialect: Dialect = {
  text: String,
  bool: (v) => (v === 1 ? true : v === 0 ? false : undefined),
  int: sqliteInt,
};
const { toKek, toSecret, toVersion, toAudit, toToken } = rowMappers(dialect);

/** Rows per multi-row INSERT of a bulk copy (13 parameters at most; SQLite allows 32,766). */
const BULK_CHUNK = 64;

/** `INSERT INTO head VALUES (...), (...)` for `n` rows: made once per n (the cache's key). */
function multiInsert(head: string, columns: number): (n: number) => string {
  const made: string[] = [];
  const row = `(${Array(columns).fill('?').join(', ')})`;
  return (n) => {
    let sql = made[n];
    if (sql === undefined) {
      sql = `${head} VALUES ${Array(n).fill(row).join(', ')}`;
      made[n] = sql;
    }
    return sql;
  };
}

const auditInsertSql = multiInsert(
  'INSERT INTO audit (seq, ts, actor, action, path, env, version, outcome, detail, prev_hash, hash)',
  11,
);
const versionInsertSql = multiInsert(
  'INSERT INTO secret_versions (path, env, version, kek_id, wrapped_dek, ciphertext, created_at, actor)',
  8,
);
const secretInsertSql = multiInsert(
  `INSERT INTO secrets (path, env, description, current_version, tier, rotation, env_var,
     local_only, generator, created_at, updated_at, deleted_at, mac)`,
  13,
);

/** Runs `sqlFor(k)` once per chunk of up to BULK_CHUNK rows, with `params` of each row. */
function insertChunks<T>(
  s: (sql: string) => Statement,
  rows: readonly T[],
  sqlFor: (n: number) => string,
  params: (row: T, into: unknown[]) => void,
): void {
  for (let i = 0; i < rows.length; i += BULK_CHUNK) {
    const end = Math.min(rows.length, i + BULK_CHUNK);
    const values: unknown[] = [];
    for (let j = i; j < end; j++) params(rows[j]!, values);
    s(sqlFor(end - i)).run(values);
  }
}

const secretParams = (x: SecretRecord, into: unknown[]): void => {
  into.push(x.path, x.env, x.description, x.currentVersion, x.tier, x.rotation, x.envVar);
  into.push(x.localOnly ? 1 : 0, x.generator, x.createdAt, x.updatedAt, x.deletedAt);
  into.push(x.mac ?? null);
};
const versionParams = (v: VersionRecord, into: unknown[]): void => {
  into.push(v.path, v.env, v.version, v.kekId, v.wrappedDek, v.ciphertext, v.createdAt, v.actor);
};

const sqlValue = (v: unknown): unknown => (typeof v === 'boolean' ? (v ? 1 : 0) : v);

/** The operations, over `s`, which returns the prepared statement for an SQL text. */
/** The WHERE clause of a secret listing (the table aliased `s`). */
function secretWhere(f: SecretFilter): { where: string; args: unknown[] } {
  const where: string[] = [];
  const args: unknown[] = [];
  if (f.scope !== undefined) {
    // A prefix match on the path; `_` and `%` cannot occur in scope or group names
    // except `_`, which LIKE treats as a wildcard, so compare with substr instead.
    const prefix = f.group !== undefined ? `${f.scope}/${f.group}/` : `${f.scope}/`;
    where.push('substr(s.path, 1, ?) = ?');
    args.push(prefix.length, prefix);
  }
  if (f.env !== undefined) {
    where.push('s.env = ?');
    args.push(f.env);
  }
  if (!f.includeDeleted) where.push('s.deleted_at IS NULL');
  return { where: where.length ? `WHERE ${where.join(' AND ')}` : '', args };
}

export function sqliteTx(s: (sql: string) => Statement): StorageTx {
  return {
    getMeta: async (key) => {
      const r = s('SELECT value FROM meta WHERE key = ?').get(key) as Row | undefined;
      return r === undefined ? undefined : String(r.value);
    },
    setMeta: async (key, value) => {
      s(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      ).run(key, value);
    },
    listMeta: async (prefix, limit) => {
      // key is TEXT with the BINARY collation: ORDER BY key is the byte order of its UTF-8.
      const bound = limit === undefined ? '' : ` LIMIT ${metaLimit(limit)}`;
      return (
        prefix === undefined
          ? (s(`SELECT key, value FROM meta ORDER BY key${bound}`).all() as Row[])
          : // Compared as UTF-8 bytes: LIKE would treat `_` and `%` as wildcards, and text
            // functions stop at a U+0000.
            (s(
              `SELECT key, value FROM meta WHERE substr(CAST(key AS BLOB), 1, ?) = ? ORDER BY key${bound}`,
            ).all(Buffer.byteLength(prefix, 'utf8'), Buffer.from(prefix, 'utf8')) as Row[])
      ).map((r) => ({
        key: String(r.key),
        value: String(r.value),
      }));
    },
    deleteMeta: async (key) => {
      s('DELETE FROM meta WHERE key = ?').run(key);
    },
    listKeks: async () =>
      (s('SELECT * FROM keks ORDER BY created_at, id').all() as Row[]).map(toKek),
    getKek: async (id) => {
      const r = s('SELECT * FROM keks WHERE id = ?').get(id) as Row | undefined;
      return r === undefined ? undefined : toKek(r);
    },
    insertKek: async (k) => {
      s(
        'INSERT INTO keks (id, sealed, status, created_at, retired_at, mac) VALUES (?, ?, ?, ?, ?, ?)',
      ).run(k.id, k.sealed, k.status, k.createdAt, k.retiredAt, k.mac ?? null);
    },
    updateKek: async (id, patch) => {
      const cur = s('SELECT * FROM keks WHERE id = ?').get(id) as Row | undefined;
      if (cur === undefined) return;
      const k = { ...toKek(cur), ...patch };
      s('UPDATE keks SET sealed = ?, status = ?, retired_at = ?, mac = ? WHERE id = ?').run(
        k.sealed,
        k.status,
        k.retiredAt,
        k.mac ?? null,
        id,
      );
    },
    countWrappedKeys: async () => {
      const rows = s(
        'SELECT kek_id, COUNT(*) AS n FROM secret_versions GROUP BY kek_id',
      ).all() as Row[];
      return new Map(rows.map((r) => [String(r.kek_id), Number(r.n)]));
    },
    listWrappedKeys: async (kekIds, limit) => {
      const out: WrappedKeyRow[] = [];
      for (const kekId of new Set(kekIds)) {
        if (out.length >= limit) break;
        const rows = s(
          'SELECT id, path, env, version, kek_id, wrapped_dek FROM secret_versions WHERE kek_id = ? LIMIT ?',
        ).all(kekId, limit - out.length) as Row[];
        for (const r of rows) {
          out.push({
            rowId: rowId(dialect, r.id),
            path: String(r.path),
            env: String(r.env),
            version: sqliteInt(r.version),
            kekId: String(r.kek_id),
            wrappedDek: bytes(r.wrapped_dek),
          });
        }
      }
      return out;
    },
    updateWrappedKey: async (rowId, kekId, wrappedDek) => {
      s('UPDATE secret_versions SET kek_id = ?, wrapped_dek = ? WHERE id = ?').run(
        kekId,
        wrappedDek,
        rowId,
      );
    },
    getSecret: async (path, env) => {
      const r = s('SELECT * FROM secrets WHERE path = ? AND env = ?').get(path, env) as
        | Row
        | undefined;
      return r === undefined ? undefined : toSecret(r);
    },
    insertSecret: async (x) => {
      s(
        `INSERT INTO secrets (path, env, description, current_version, tier, rotation, env_var,
           local_only, generator, created_at, updated_at, deleted_at, mac)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        x.path,
        x.env,
        x.description,
        x.currentVersion,
        x.tier,
        x.rotation,
        x.envVar,
        x.localOnly ? 1 : 0,
        x.generator,
        x.createdAt,
        x.updatedAt,
        x.deletedAt,
        x.mac ?? null,
      );
    },
    insertSecrets: async (rows) => insertChunks(s, rows, secretInsertSql, secretParams),
    updateSecret: async (path, env, patch) => {
      const keys = Object.keys(patch).filter((k) => SECRET_COLUMNS[k] !== undefined);
      if (keys.length === 0) return;
      const sets = keys.map((k) => `${SECRET_COLUMNS[k]} = ?`).join(', ');
      const values = keys.map((k) => sqlValue((patch as Record<string, unknown>)[k]));
      s(`UPDATE secrets SET ${sets} WHERE path = ? AND env = ?`).run(...values, path, env);
    },
    listSecrets: async (f: SecretFilter) => {
      const { where, args } = secretWhere(f);
      const sql = `SELECT * FROM secrets s ${where} ORDER BY s.path, s.env`;
      return (s(sql).all(...args) as Row[]).map(toSecret);
    },
    listSecretsWithCurrent: async (f: SecretFilter) => {
      const { where, args } = secretWhere(f);
      const sql = `SELECT s.*, v.created_at AS v_created_at, v.actor AS v_actor FROM secrets s
        LEFT JOIN secret_versions v
          ON v.path = s.path AND v.env = s.env AND v.version = s.current_version
        ${where} ORDER BY s.path, s.env`;
      return (s(sql).all(...args) as Row[]).map((r) => ({
        secret: toSecret(r),
        currentCreatedAt: r.v_created_at === null ? null : String(r.v_created_at),
        currentActor: r.v_actor === null ? null : String(r.v_actor),
      }));
    },
    insertVersion: async (v) => {
      s(
        `INSERT INTO secret_versions (path, env, version, kek_id, wrapped_dek, ciphertext, created_at, actor)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(v.path, v.env, v.version, v.kekId, v.wrappedDek, v.ciphertext, v.createdAt, v.actor);
    },
    insertVersions: async (rows) => insertChunks(s, rows, versionInsertSql, versionParams),
    getVersion: async (path, env, version) => {
      const r = s('SELECT * FROM secret_versions WHERE path = ? AND env = ? AND version = ?').get(
        path,
        env,
        version,
      ) as Row | undefined;
      return r === undefined ? undefined : toVersion(r);
    },
    listVersions: async (path, env) =>
      (
        s('SELECT * FROM secret_versions WHERE path = ? AND env = ? ORDER BY version').all(
          path,
          env,
        ) as Row[]
      ).map(toVersion),
    listAllVersions: async () =>
      (s('SELECT * FROM secret_versions ORDER BY path, env, version').all() as Row[]).map(
        toVersion,
      ),
    lastAudit: async () => {
      const r = s('SELECT * FROM audit ORDER BY seq DESC LIMIT 1').get() as Row | undefined;
      return r === undefined ? undefined : toAudit(r);
    },
    appendAudit: async (a) => {
      s(
        `INSERT INTO audit (seq, ts, actor, action, path, env, version, outcome, detail, prev_hash, hash)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        a.seq,
        a.ts,
        a.actor,
        a.action,
        a.path,
        a.env,
        a.version,
        a.outcome,
        a.detail,
        a.prevHash,
        a.hash,
      );
    },
    appendAuditBatch: async (records) => {
      // One multi-row INSERT per chunk: a short command such as `coffer run` appends one
      // record per secret read, and one statement is cheaper than fifty.
      insertChunks(s, records, auditInsertSql, (a, into) => {
        into.push(a.seq, a.ts, a.actor, a.action, a.path, a.env, a.version);
        into.push(a.outcome, a.detail, a.prevHash, a.hash);
      });
    },
    listAudit: async (q: AuditQuery) => {
      const where: string[] = [];
      const args: unknown[] = [];
      if (q.afterSeq !== undefined) {
        where.push(q.descending ? 'seq < ?' : 'seq > ?');
        args.push(q.afterSeq);
      }
      if (q.path !== undefined) {
        where.push('path = ?');
        args.push(q.path);
      }
      if (q.action !== undefined) {
        where.push('action = ?');
        args.push(q.action);
      }
      const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY seq ${q.descending ? 'DESC' : 'ASC'} LIMIT ?`;
      return (s(sql).all(...args, q.limit ?? 1000) as Row[]).map(toAudit);
    },
    insertToken: async (t) => {
      s(
        `INSERT INTO tokens (id, name, hash, allow, envs, caps, created_at, expires_at, revoked_at, mac, reveal)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        t.id,
        t.name,
        t.hash,
        JSON.stringify(t.allow),
        JSON.stringify(t.envs),
        JSON.stringify(t.caps),
        t.createdAt,
        t.expiresAt,
        t.revokedAt,
        t.mac ?? null,
        t.noReveal === true ? 'never' : null,
      );
    },
    getToken: async (id) => {
      const r = s('SELECT * FROM tokens WHERE id = ?').get(id) as Row | undefined;
      return r === undefined ? undefined : toToken(r);
    },
    getTokenByName: async (name) => {
      const r = s('SELECT * FROM tokens WHERE name = ?').get(name) as Row | undefined;
      return r === undefined ? undefined : toToken(r);
    },
    listTokens: async () =>
      (s('SELECT * FROM tokens ORDER BY created_at, name').all() as Row[]).map(toToken),
    revokeToken: async (id, revokedAt) =>
      s('UPDATE tokens SET revoked_at = ? WHERE id = ?').run(revokedAt, id).changes > 0,
    updateToken: async (id, patch) => {
      const cur = s('SELECT * FROM tokens WHERE id = ?').get(id) as Row | undefined;
      if (cur === undefined) return false;
      const t = { ...toToken(cur), ...patch };
      s('UPDATE tokens SET revoked_at = ?, mac = ? WHERE id = ?').run(
        t.revokedAt,
        t.mac ?? null,
        id,
      );
      return true;
    },
  };
}
