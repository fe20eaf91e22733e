/**
 * The plaintext of a coffer backup (docs/format.md, "Backups"): JSON lines, the header first,
 * then one record per stored row (meta, keks, secrets, versions, tokens, audit; the master key
 * only when asked for), then an end line with the SHA-256 of every byte before it. Byte
 * columns are base64. Rows are copied exactly as stored, MACs included, so a restored store
 * is byte for byte the store that was backed up and every integrity check still applies.
 *
 * The file as a whole is encrypted with age (age.ts); this module neither encrypts nor
 * decrypts. Decoding is strict: an unknown record type, a missing or mistyped field, a count
 * that does not match the header, or a wrong end digest is refused with BACKUP_INVALID, which
 * names the line and never a value.
 */
import { createHash } from 'node:crypto';
import { CofferError } from '../errors.js';
import type {
  AuditRecord,
  KekRecord,
  KekStatus,
  MetaEntry,
  SecretRecord,
  TokenCapability,
  TokenRecord,
  VersionRecord,
} from '../store/storage.js';
import { escapeControls, isPrintable } from '../terminal-text.js';

export const BACKUP_FORMAT = 'coffer-backup';
export const BACKUP_VERSION = 1;

export interface BackupCounts {
  meta: number;
  keks: number;
  secrets: number;
  versions: number;
  tokens: number;
  audit: number;
}

export interface BackupHeader {
  format: typeof BACKUP_FORMAT;
  version: typeof BACKUP_VERSION;
  /** The store it was taken from: `sqlite` or `postgres`, and its location (no password). */
  source: { kind: string; location: string };
  /** When the snapshot was taken (ISO 8601). */
  createdAt: string;
  /** The vault's own format (meta `format`). */
  vaultFormat: string;
  counts: BackupCounts;
  /** The newest audit record in the snapshot; null for an empty log. */
  auditHead: { seq: number; hash: string } | null;
  masterKeyIncluded: boolean;
}

/** Everything a backup holds, decoded. */
export interface Snapshot {
  header: BackupHeader;
  meta: MetaEntry[];
  keks: KekRecord[];
  secrets: SecretRecord[];
  versions: VersionRecord[];
  tokens: TokenRecord[];
  audit: AuditRecord[];
  /** The 32-byte master key (`--include-master-key`), else undefined. */
  masterKey: Uint8Array | undefined;
}

const b64 = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64');
const b64OrNull = (b: Uint8Array | null | undefined): string | null =>
  b === null || b === undefined ? null : b64(b);

/** Plaintext handed to the sink at a time while encoding (about 1 MB). */
const ENCODE_PIECE = 1 << 20;

const J = JSON.stringify;
const jOrNull = (v: string | null): string => (v === null ? 'null' : J(v));

/**
 * Encodes a snapshot as the backup's plaintext, handing it to `sink` in pieces of about
 * 1 MB (the whole text is never one string); each piece is the sink's to keep or wipe.
 * The lines of the bulk rows (versions, audit records) are written field by field, in
 * the same order and with the same escaping as JSON.stringify of the record would.
 */
export function encodeSnapshotTo(s: Snapshot, sink: (piece: Buffer) => void): void {
  const hash = createHash('sha256');
  let text = '';
  const line = (l: string): void => {
    text += `${l}\n`;
    if (text.length >= ENCODE_PIECE) flush();
  };
  const flush = (): void => {
    if (text === '') return;
    const piece = Buffer.from(text, 'utf8');
    text = '';
    hash.update(piece);
    sink(piece);
  };
  line(J(s.header));
  for (const m of s.meta) line(J({ t: 'meta', key: m.key, value: m.value }));
  if (s.masterKey !== undefined) {
    line(J({ t: 'master_key', key: b64(s.masterKey) }));
  }
  for (const k of s.keks) {
    line(
      J({
        t: 'kek',
        id: k.id,
        sealed: b64OrNull(k.sealed),
        status: k.status,
        createdAt: k.createdAt,
        retiredAt: k.retiredAt,
        mac: b64OrNull(k.mac),
      }),
    );
  }
  for (const x of s.secrets) {
    line(
      J({
        t: 'secret',
        path: x.path,
        env: x.env,
        description: x.description,
        currentVersion: x.currentVersion,
        tier: x.tier,
        rotation: x.rotation,
        envVar: x.envVar,
        localOnly: x.localOnly,
        generator: x.generator,
        createdAt: x.createdAt,
        updatedAt: x.updatedAt,
        deletedAt: x.deletedAt,
        mac: b64OrNull(x.mac),
      }),
    );
  }
  for (const v of s.versions) {
    line(
      `{"t":"version","path":${J(v.path)},"env":${J(v.env)},"version":${J(v.version)},"kekId":${J(v.kekId)},"wrappedDek":"${b64(v.wrappedDek)}","ciphertext":"${b64(v.ciphertext)}","createdAt":${J(v.createdAt)},"actor":${J(v.actor)}}`,
    );
  }
  for (const t of s.tokens) {
    line(
      J({
        t: 'token',
        id: t.id,
        name: t.name,
        hash: t.hash,
        allow: t.allow,
        envs: t.envs,
        caps: t.caps,
        createdAt: t.createdAt,
        expiresAt: t.expiresAt,
        revokedAt: t.revokedAt,
        ...(t.noReveal === true ? { reveal: 'never' } : {}),
        mac: b64OrNull(t.mac),
      }),
    );
  }
  for (const a of s.audit) {
    line(
      `{"t":"audit","seq":${J(a.seq)},"ts":${J(a.ts)},"actor":${J(a.actor)},"action":${J(a.action)},"path":${jOrNull(a.path)},"env":${jOrNull(a.env)},"version":${J(a.version)},"outcome":${J(a.outcome)},"detail":${jOrNull(a.detail)},"prevHash":${J(a.prevHash)},"hash":${J(a.hash)}}`,
    );
  }
  flush();
  const digest = hash.digest('hex');
  sink(Buffer.from(`${J({ t: 'end', sha256: digest })}\n`, 'utf8'));
}

/** Encodes a snapshot as the backup's plaintext, in one buffer. */
export function encodeSnapshot(s: Snapshot): Uint8Array {
  const pieces: Buffer[] = [];
  encodeSnapshotTo(s, (p) => pieces.push(p));
  const out = Buffer.concat(pieces);
  for (const p of pieces) p.fill(0);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/** The counts of a snapshot's rows. */
export function countRows(s: Omit<Snapshot, 'header' | 'masterKey'>): BackupCounts {
  return {
    meta: s.meta.length,
    keks: s.keks.length,
    secrets: s.secrets.length,
    versions: s.versions.length,
    tokens: s.tokens.length,
    audit: s.audit.length,
  };
}

function invalid(line: number, what: string): CofferError {
  return new CofferError('BACKUP_INVALID', `the backup is damaged: line ${line}: ${what}`);
}

type Obj = Record<string, unknown>;

/** Field readers for one decoded line; each failure names the line and the field. */
function fields(o: Obj, line: number) {
  const str = (k: string): string => {
    const v = o[k];
    if (typeof v !== 'string') throw invalid(line, `${k} is not text`);
    return v;
  };
  const strOrNull = (k: string): string | null => (o[k] === null ? null : str(k));
  const int = (k: string): number => {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
      throw invalid(line, `${k} is not a whole number`);
    }
    return v;
  };
  const intOrNull = (k: string): number | null => (o[k] === null ? null : int(k));
  const bytes = (k: string): Uint8Array => {
    const s = str(k);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) {
      throw invalid(line, `${k} is not base64`);
    }
    return new Uint8Array(Buffer.from(s, 'base64'));
  };
  const bytesOrNull = (k: string): Uint8Array | null => (o[k] === null ? null : bytes(k));
  const bool = (k: string): boolean => {
    if (typeof o[k] !== 'boolean') throw invalid(line, `${k} is not true or false`);
    return o[k] as boolean;
  };
  const list = (k: string): string[] => {
    const v = o[k];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
      throw invalid(line, `${k} is not a list of text`);
    }
    return v as string[];
  };
  /** Present (an optional field, absent in rows that do not use it). */
  const has = (k: string): boolean => o[k] !== undefined;
  return { str, strOrNull, int, intOrNull, bytes, bytesOrNull, bool, list, has };
}

/** A token line's optional `reveal` (only `never` is ever written). */
function revealOf(v: string, line: number): true {
  if (v !== 'never') throw invalid(line, 'reveal is not "never"');
  return true;
}

/** The longest store location a backup header names (a file path or a database URL). */
export const MAX_SOURCE_LOCATION = 1024;
const STORE_KIND = /^[a-z][a-z0-9_-]{0,31}$/;

/**
 * A store's location as a header names it: printable and at most MAX_SOURCE_LOCATION
 * characters, so that coffer never writes a header it would refuse to read (a path holding a
 * control character is named escaped, an overlong one cut).
 */
export function headerLocation(location: string): string {
  let shown = escapeControls(location).replace(/[\u2028\u2029]|\p{Surrogate}/gu, '\ufffd');
  if (shown.length > MAX_SOURCE_LOCATION) {
    // Cut between characters, never inside a surrogate pair.
    shown = `${shown.slice(0, MAX_SOURCE_LOCATION - 3).replace(/[\ud800-\udbff]$/, '')}...`;
  }
  return shown;
}

/** An ISO 8601 time exactly as Date#toISOString writes it. */
function isIsoTime(s: string): boolean {
  const t = Date.parse(s);
  return Number.isFinite(t) && new Date(t).toISOString() === s;
}

/**
 * The header's text fields go into the restore's audit record and onto the operator's
 * terminal, and nothing authenticates them (the file's encryption is anyone's who knows the
 * passphrase or has the recipient): each is checked for the form coffer writes.
 */
function headerText(o: Obj): { kind: string; location: string; createdAt: string } {
  const f = fields(o, 1);
  const source = o.source as Obj | null;
  if (typeof source !== 'object' || source === null) throw invalid(1, 'source is missing');
  const s = fields(source, 1);
  const kind = s.str('kind');
  if (!STORE_KIND.test(kind)) throw invalid(1, 'source.kind is not the name of a store kind');
  const location = s.str('location');
  if (location.length > MAX_SOURCE_LOCATION || !isPrintable(location)) {
    throw invalid(
      1,
      `source.location is not one line of printable text of at most ${MAX_SOURCE_LOCATION} characters`,
    );
  }
  const createdAt = f.str('createdAt');
  if (!isIsoTime(createdAt)) {
    throw invalid(1, 'createdAt is not a time as coffer writes it (ISO 8601, UTC)');
  }
  return { kind, location, createdAt };
}

function parseHeader(o: Obj): BackupHeader {
  if (o.format !== BACKUP_FORMAT) {
    throw new CofferError('BACKUP_INVALID', 'this file is not a coffer backup (no backup header)');
  }
  if (o.version !== BACKUP_VERSION) {
    throw new CofferError(
      'UNSUPPORTED_FORMAT',
      `the backup has format version ${String(o.version).slice(0, 20)}; this coffer reads version ${BACKUP_VERSION}`,
    );
  }
  const f = fields(o, 1);
  const { kind, location, createdAt } = headerText(o);
  const counts = o.counts as Obj | null;
  if (typeof counts !== 'object' || counts === null) throw invalid(1, 'counts are missing');
  const c = fields(counts, 1);
  let auditHead: BackupHeader['auditHead'] = null;
  if (o.auditHead !== null) {
    if (typeof o.auditHead !== 'object') throw invalid(1, 'auditHead is malformed');
    const h = fields(o.auditHead as Obj, 1);
    auditHead = { seq: h.int('seq'), hash: h.str('hash') };
  }
  return {
    format: BACKUP_FORMAT,
    version: BACKUP_VERSION,
    source: { kind, location },
    createdAt,
    vaultFormat: f.str('vaultFormat'),
    counts: {
      meta: c.int('meta'),
      keks: c.int('keks'),
      secrets: c.int('secrets'),
      versions: c.int('versions'),
      tokens: c.int('tokens'),
      audit: c.int('audit'),
    },
    auditHead,
    masterKeyIncluded: f.bool('masterKeyIncluded'),
  };
}

const KEK_STATUSES: readonly string[] = ['primary', 'retiring', 'retired'];
const CAPS: readonly string[] = ['read', 'list', 'write', 'delete', 'admin'];

/** Decodes and checks a backup's plaintext (throws BACKUP_INVALID or UNSUPPORTED_FORMAT). */
export function decodeSnapshot(plain: Uint8Array): Snapshot {
  const buf = Buffer.from(plain.buffer, plain.byteOffset, plain.length);
  if (buf.length === 0 || buf[buf.length - 1] !== 0x0a) {
    throw new CofferError(
      'BACKUP_INVALID',
      'the backup is damaged: it does not end with a newline',
    );
  }
  const endStart = buf.lastIndexOf(0x0a, buf.length - 2) + 1;
  const firstEnd = buf.indexOf(0x0a);
  const parse = (text: string, line: number): Obj => {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      throw invalid(line, 'not a JSON object');
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      throw invalid(line, 'not a JSON object');
    }
    return v as Obj;
  };
  const header = parseHeader(parse(buf.subarray(0, firstEnd).toString('utf8'), 1));
  if (endStart === 0 || endStart <= firstEnd) {
    throw new CofferError('BACKUP_INVALID', 'the backup is damaged: its end line is missing');
  }
  const end = parse(buf.subarray(endStart, buf.length - 1).toString('utf8'), 0);
  const digest = createHash('sha256').update(buf.subarray(0, endStart)).digest('hex');
  if (end.t !== 'end' || end.sha256 !== digest) {
    throw new CofferError(
      'BACKUP_INVALID',
      'the backup is damaged: its end line is missing or its digest does not match',
    );
  }
  const s: Snapshot = {
    header,
    meta: [],
    keks: [],
    secrets: [],
    versions: [],
    tokens: [],
    audit: [],
    masterKey: undefined,
  };
  const lines = buf.subarray(firstEnd + 1, endStart - 1).toString('utf8');
  let n = 1;
  for (const text of lines === '' ? [] : lines.split('\n')) {
    n++;
    const o = parse(text, n);
    const f = fields(o, n);
    switch (o.t) {
      case 'meta':
        s.meta.push({ key: f.str('key'), value: f.str('value') });
        break;
      case 'master_key': {
        const key = f.bytes('key');
        if (key.length !== 32) throw invalid(n, 'the master key is not 32 bytes');
        s.masterKey = key;
        break;
      }
      case 'kek': {
        const status = f.str('status');
        if (!KEK_STATUSES.includes(status)) throw invalid(n, 'unknown key status');
        s.keks.push({
          id: f.str('id'),
          sealed: f.bytesOrNull('sealed'),
          status: status as KekStatus,
          createdAt: f.str('createdAt'),
          retiredAt: f.strOrNull('retiredAt'),
          mac: f.bytesOrNull('mac'),
        });
        break;
      }
      case 'secret':
        s.secrets.push({
          path: f.str('path'),
          env: f.str('env'),
          description: f.str('description'),
          currentVersion: f.int('currentVersion'),
          tier: f.intOrNull('tier'),
          rotation: f.strOrNull('rotation'),
          envVar: f.strOrNull('envVar'),
          localOnly: f.bool('localOnly'),
          generator: f.strOrNull('generator'),
          createdAt: f.str('createdAt'),
          updatedAt: f.str('updatedAt'),
          deletedAt: f.strOrNull('deletedAt'),
          mac: f.bytesOrNull('mac'),
        });
        break;
      case 'version':
        s.versions.push({
          path: f.str('path'),
          env: f.str('env'),
          version: f.int('version'),
          kekId: f.str('kekId'),
          wrappedDek: f.bytes('wrappedDek'),
          ciphertext: f.bytes('ciphertext'),
          createdAt: f.str('createdAt'),
          actor: f.str('actor'),
        });
        break;
      case 'token': {
        const caps = f.list('caps');
        if (!caps.every((c) => CAPS.includes(c))) throw invalid(n, 'unknown token capability');
        s.tokens.push({
          id: f.str('id'),
          name: f.str('name'),
          hash: f.str('hash'),
          allow: f.list('allow'),
          envs: f.list('envs'),
          caps: caps as TokenCapability[],
          createdAt: f.str('createdAt'),
          expiresAt: f.strOrNull('expiresAt'),
          revokedAt: f.strOrNull('revokedAt'),
          ...(f.has('reveal') ? { noReveal: revealOf(f.str('reveal'), n) } : {}),
          mac: f.bytesOrNull('mac'),
        });
        break;
      }
      case 'audit':
        s.audit.push({
          seq: f.int('seq'),
          ts: f.str('ts'),
          actor: f.str('actor'),
          action: f.str('action'),
          path: f.strOrNull('path'),
          env: f.strOrNull('env'),
          version: f.intOrNull('version'),
          outcome: f.str('outcome'),
          detail: f.strOrNull('detail'),
          prevHash: f.str('prevHash'),
          hash: f.str('hash'),
        });
        break;
      default:
        throw invalid(n, 'unknown record type');
    }
  }
  const counts = countRows(s);
  for (const k of Object.keys(counts) as (keyof BackupCounts)[]) {
    if (counts[k] !== header.counts[k]) {
      throw new CofferError(
        'BACKUP_INVALID',
        `the backup is damaged: its header counts ${header.counts[k]} ${k} rows, it holds ${counts[k]}`,
      );
    }
  }
  if ((s.masterKey !== undefined) !== header.masterKeyIncluded) {
    throw new CofferError(
      'BACKUP_INVALID',
      'the backup is damaged: its header and its content disagree on the master key',
    );
  }
  const last = s.audit[s.audit.length - 1];
  const head = last === undefined ? null : { seq: last.seq, hash: last.hash };
  if (JSON.stringify(head) !== JSON.stringify(header.auditHead)) {
    throw new CofferError(
      'BACKUP_INVALID',
      'the backup is damaged: its last audit record is not the audit head its header names',
    );
  }
  return s;
}
