/**
 * Where a value went: the files coffer wrote it into and the programs `coffer run` gave it
 * to, from the audit log. `rotate` lists the places still holding an old version, and
 * `incident` lists everything to update and everyone who read the secret.
 *
 * A file write (env pull, setup, set/generate --dotenv, MCP write_env) is recorded with
 * `recordFileWrite`: one `file_write` record per secret written (its path, environment and
 * version; detail `{"file": ABSOLUTE PATH, "name": VARIABLE, "via": COMMAND}`) and one for
 * the whole write (detail: the file and how many names). A template rendered by `coffer
 * inject` has no variables: what it holds is the value of a reference, so its records carry
 * `"reference": "coffer://PATH?env=ENV"` instead of a name. `coffer run` reads with the purpose
 * `run: ARGV0`, so its `get` records name the program (argv[0] only, never its arguments).
 * No value is ever part of these records.
 *
 * Only the records the vault vouches for are used (audit/vouched.ts): anyone who can write
 * the database can edit a record in place, and `rotate --sync` writes the new value into the
 * files these records name. When the audit log does not verify, no record is used, and the
 * result says so (`trust`).
 */
import { resolve } from 'node:path';
import { type AuditTrust, readVouchedAudit } from '../audit/vouched.js';
import { CofferError } from '../errors.js';
import { parseEnvironment, parseEnvVarName, parseKeyPath } from '../paths.js';
import { formatReference, parseReference } from '../references/reference.js';
import type { AuditRecord } from '../store/storage.js';
import type { Vault } from '../store/vault.js';

export interface WrittenSecret {
  path: string;
  env: string;
  version: number | null;
  /** The variable name it was written under (a .env file)... */
  name?: string | undefined;
  /** ...or the reference whose value it was written as (a template), `coffer://PATH?env=ENV`. */
  reference?: string | undefined;
}

/** The purpose of `coffer run`'s reads: the program's name, without its arguments. */
export function runPurpose(argv0: string): string {
  const name = argv0.replace(/[\p{Cc}]/gu, '').slice(0, 200);
  return `run: ${name}`;
}

const MAX_FILE = 4096;
const VIA = /^[a-z][a-z0-9 _-]{0,63}$/;

/**
 * Audits that `secrets` were written into `file` (after the write); returns how many were
 * recorded. `file` must be absolute when it comes from elsewhere (a client in remote mode);
 * a relative one is taken from this process's directory. Every field is checked, as it may
 * come over the network: a key path, an environment, a variable name, a plain file path.
 */
export async function recordFileWrite(
  vault: Vault,
  file: string,
  secrets: readonly WrittenSecret[],
  via: string,
): Promise<number> {
  if (typeof file !== 'string' || file === '' || file.length > MAX_FILE || /[\p{Cc}]/u.test(file))
    throw new CofferError('INVALID_ARGUMENT', 'file: a file path without control characters');
  if (typeof via !== 'string' || !VIA.test(via))
    throw new CofferError('INVALID_ARGUMENT', 'via: the name of the command that wrote the file');
  const checked = secrets.map((s) => {
    const path = parseKeyPath(s.path).path;
    const env = parseEnvironment(s.env);
    return {
      path,
      env,
      version:
        s.version === null
          ? null
          : Number.isSafeInteger(s.version) && s.version > 0
            ? s.version
            : invalidVersion(),
      ...writtenAs(s, path, env),
    };
  });
  if (checked.length === 0) return 0;
  const abs = resolve(file);
  await vault.auditedTransaction('file_write', async () => ({
    result: undefined,
    detail: JSON.stringify({ file: abs, names: checked.length, via }),
    audit: checked.map((s) => ({
      action: 'file_write',
      path: s.path,
      env: s.env,
      version: s.version,
      outcome: 'ok',
      detail: JSON.stringify(
        s.name !== undefined
          ? { file: abs, name: s.name, via }
          : { file: abs, reference: s.reference, via },
      ),
    })),
  }));
  return checked.length;
}

/** A variable name, or a reference that names this very secret: exactly one of them. */
function writtenAs(
  s: WrittenSecret,
  path: string,
  env: string,
): { name: string; reference?: undefined } | { name?: undefined; reference: string } {
  if ((s.name === undefined) === (s.reference === undefined))
    throw new CofferError('INVALID_ARGUMENT', 'name or reference: exactly one of them');
  if (s.name !== undefined) return { name: parseEnvVarName(s.name) };
  const ref = typeof s.reference === 'string' ? parseReference(s.reference) : undefined;
  if (ref?.path !== path || ref.env !== env)
    throw new CofferError(
      'INVALID_ARGUMENT',
      `reference: ${formatReference(path, env)}, the secret written`,
    );
  return { reference: formatReference(path, env) };
}

function invalidVersion(): never {
  throw new CofferError('INVALID_ARGUMENT', 'version: a whole number >= 1, or null');
}

export interface FilePlace {
  file: string;
  /** The variable it was written under; null in a template (see `reference`). */
  name: string | null;
  /** The reference whose value a template's output holds (`coffer inject`); else null. */
  reference: string | null;
  /** The version last written there. */
  version: number | null;
  at: string;
  actor: string;
  via: string;
}

/** What a file holds, for a listing: the variable, or the reference in a template's output. */
export function writtenUnder(f: { name: string | null; reference: string | null }): string {
  return f.name ?? f.reference ?? '?';
}

export interface ProgramPlace {
  command: string;
  version: number | null;
  at: string;
  actor: string;
}

export interface ReadRecord {
  at: string;
  actor: string;
  action: string;
  version: number | null;
  detail: string | null;
}

export interface ValuePlaces {
  /** Each file, with its latest write of this secret. */
  files: FilePlace[];
  /** Each program, with its latest run. */
  programs: ProgramPlace[];
  /** Every successful read (get) in the window, oldest first. */
  reads: ReadRecord[];
}

/** The JSON object an audit record's detail holds (file writes, syncs), or undefined. */
export function parseDetail(detail: string | null): Record<string, unknown> | undefined {
  if (detail === null || !detail.startsWith('{')) return undefined;
  try {
    return JSON.parse(detail) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * Classifies the audit records of one secret (any order). Pure. Records of the same
 * millisecond are ordered by their sequence number when they have one, so the later of two
 * writes of one file wins however the records were listed.
 */
export function placesFromRecords(
  records: readonly (Pick<
    AuditRecord,
    'ts' | 'actor' | 'action' | 'env' | 'version' | 'outcome' | 'detail'
  > & { seq?: number })[],
  env: string,
  since?: Date,
): ValuePlaces {
  const files = new Map<string, FilePlace>();
  const programs = new Map<string, ProgramPlace>();
  const reads: ReadRecord[] = [];
  const sorted = [...records].sort((a, b) =>
    a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : (a.seq ?? 0) - (b.seq ?? 0),
  );
  for (const r of sorted) {
    if (r.env !== env || r.outcome !== 'ok') continue;
    if (since !== undefined && Date.parse(r.ts) < since.getTime()) continue;
    if (r.action === 'file_write') {
      const d = parseDetail(r.detail);
      if (typeof d?.file !== 'string') continue;
      const name = typeof d.name === 'string' ? d.name : null;
      const reference = typeof d.reference === 'string' ? d.reference : null;
      files.set(`${d.file}\n${name ?? reference}`, {
        file: d.file,
        name,
        reference,
        version: r.version,
        at: r.ts,
        actor: r.actor,
        via: typeof d.via === 'string' ? d.via : '',
      });
    } else if (r.action === 'get') {
      reads.push({
        at: r.ts,
        actor: r.actor,
        action: r.action,
        version: r.version,
        detail: r.detail,
      });
      if (r.detail?.startsWith('run: ')) {
        const command = r.detail.slice('run: '.length);
        programs.set(command, { command, version: r.version, at: r.ts, actor: r.actor });
      }
    }
  }
  return { files: [...files.values()], programs: [...programs.values()], reads };
}

/** Where the values went, and what of the audit log that rests on. */
export interface VouchedPlaces extends ValuePlaces {
  /** Whether the audit log verified, and which records were not used. */
  trust: AuditTrust;
}

/**
 * Where the values of `path` in `env` went, from its audit records the vault vouches for
 * (the newest `limit` of them). One walk of the whole log (audit/vouched.ts for its cost).
 */
export async function valuePlaces(
  vault: Vault,
  path: string,
  env: string,
  options: { since?: Date | undefined; limit?: number | undefined } = {},
): Promise<VouchedPlaces> {
  const { picked, trust } = await readVouchedAudit(
    vault,
    (r) => (r.path === path && r.env === env ? r : undefined),
    { keep: options.limit ?? 10_000, about: ` of ${path} (${env})` },
  );
  return { ...placesFromRecords(picked, env, options.since), trust };
}
