/**
 * Checks of the server's answers, by hand and small ("trust, but check the key fields"):
 * each reader keeps the fields coffer documents, in a fixed order, after checking their
 * types, and drops anything else. A missing or mistyped field is SERVER_BAD_RESPONSE naming
 * the field, never its content (which could be a secret value).
 *
 * The field lists follow docs/http-api.md; the types are the core's own (SecretInfo,
 * VersionInfo, VerifyReport, ProjectSecret, AuditRecord), so local and remote results have
 * the same shape and print the same.
 */
import { CofferError } from '../core/errors.js';
import type { SecretRequestView } from '../core/requests/secret-requests.js';
import {
  ROTATION_STATES,
  type RotationState,
  type RotationStatusItem,
  type RotationStatusReport,
} from '../core/rotation/status.js';
import type { ShownAuditRecord } from '../core/store/storage.js';
import type {
  ProjectSecret,
  SecretInfo,
  SecretValue,
  SetResult,
  VerifyItem,
  VerifyReport,
  VersionInfo,
} from '../core/store/vault.js';
import { type Answer, isObject } from './transport.js';
import type {
  AcknowledgedBreak,
  AuditVerifyAnswer,
  CreatedToken,
  DeleteResult,
  History,
  LeakOpened,
  RestoreResult,
  SetChecked,
  TokenInfo,
} from './types.js';

/** `T` = string, `T?` = that type or null (a missing field reads as null). */
type Kind =
  | 'string'
  | 'int'
  | 'boolean'
  | 'string?'
  | 'int?'
  | 'strings'
  | 'true'
  | 'string|undefined';

export type Fields<T> = { [K in keyof T]-?: Kind };

function bad(what: string): CofferError {
  return new CofferError(
    'SERVER_BAD_RESPONSE',
    `the server's answer has no valid ${what}; is COFFER_URL a coffer server of this version?`,
  );
}

function check(v: unknown, kind: Kind): boolean {
  switch (kind) {
    case 'string':
      return typeof v === 'string';
    case 'int':
      return Number.isSafeInteger(v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'true':
      return v === true;
    case 'string?':
      return v === null || typeof v === 'string';
    case 'int?':
      return v === null || Number.isSafeInteger(v);
    case 'strings':
      return Array.isArray(v) && v.every((s) => typeof s === 'string');
    case 'string|undefined':
      return v === undefined || typeof v === 'string';
  }
}

/** Checks `v` against `fields` and returns a copy with exactly those fields, in that order. */
export function shape<T>(v: unknown, fields: Fields<T>, what: string): T {
  if (!isObject(v)) throw bad(what);
  const out: Record<string, unknown> = {};
  for (const [key, kind] of Object.entries(fields) as [string, Kind][]) {
    const value = v[key] === undefined && kind.endsWith('?') ? null : v[key];
    if (!check(value, kind)) throw bad(`${what}.${key}`);
    if (value !== undefined) out[key] = Array.isArray(value) ? [...value] : value;
  }
  return out as T;
}

/** The array at `answer[key]`, each item read with `read`. */
export function items<T>(
  answer: Answer,
  key: string,
  read: (v: unknown, what: string) => T,
  what: string,
): T[] {
  const list = answer[key];
  if (!Array.isArray(list)) throw bad(`${what}.${key}`);
  return list.map((item, i) => read(item, `${what}.${key}[${i}]`));
}

/** A point of the audit chain ({seq, hash}) or null. */
function chainPoint(v: unknown, what: string): { seq: number; hash: string } | null {
  return v === null || v === undefined
    ? null
    : shape<{ seq: number; hash: string }>(v, { seq: 'int', hash: 'string' }, what);
}

function acknowledgedBreak(v: unknown, what: string): AcknowledgedBreak {
  const a = shape<Omit<AcknowledgedBreak, 'storedHead' | 'tableEnd' | 'headMac'>>(
    v,
    { seq: 'int', ts: 'string', actor: 'string', reason: 'string', problem: 'string' },
    what,
  );
  const o = v as Record<string, unknown>;
  const mac = o.headMac;
  return {
    ...a,
    storedHead: chainPoint(o.storedHead, `${what}.storedHead`),
    headMac:
      mac === 'valid' || mac === 'invalid' || mac === 'legacy' || mac === 'missing'
        ? mac
        : 'unknown',
    tableEnd: chainPoint(o.tableEnd, `${what}.tableEnd`),
  };
}

const VERSION_INFO: Fields<VersionInfo> = {
  version: 'int',
  createdAt: 'string',
  actor: 'string',
  kekId: 'string',
};

const VERIFY_ITEM: Fields<VerifyItem> = {
  path: 'string',
  env: 'string',
  version: 'int',
  ok: 'boolean',
  code: 'string|undefined',
};

/** The readers of each answer, by the type they return. */
export const read = {
  secretValue: (v: unknown, what = 'secret'): SecretValue =>
    shape<SecretValue>(
      v,
      {
        path: 'string',
        env: 'string',
        version: 'int',
        value: 'string',
        description: 'string',
        createdAt: 'string',
      },
      what,
    ),
  setResult: (v: unknown, what = 'result'): SetResult =>
    shape<SetResult>(
      v,
      { path: 'string', env: 'string', version: 'int', created: 'boolean' },
      what,
    ),
  setChecked: (v: unknown, what = 'result'): SetChecked =>
    shape<SetChecked>(v, { path: 'string', env: 'string', checked: 'true' }, what),
  secretInfo: (v: unknown, what = 'secret'): SecretInfo =>
    shape<SecretInfo>(
      v,
      {
        path: 'string',
        env: 'string',
        description: 'string',
        currentVersion: 'int',
        tier: 'int?',
        rotation: 'string?',
        envVar: 'string?',
        localOnly: 'boolean',
        generator: 'string?',
        createdAt: 'string',
        updatedAt: 'string',
        deletedAt: 'string?',
      },
      what,
    ),
  history: (v: Answer, what = 'history'): History => ({
    ...shape<Omit<History, 'versions'>>(v, { path: 'string', env: 'string' }, what),
    versions: items(v, 'versions', (x, w) => shape<VersionInfo>(x, VERSION_INFO, w), what),
  }),
  verifyReport: (v: Answer, what = 'report'): VerifyReport => ({
    ...shape<Omit<VerifyReport, 'failures' | 'rowFailures'>>(
      v,
      { ok: 'boolean', checked: 'int', keyFailures: 'strings' },
      what,
    ),
    failures: items(v, 'failures', (x, w) => shape<VerifyItem>(x, VERIFY_ITEM, w), what),
  }),
  projectSecret: (v: unknown, what = 'secret'): ProjectSecret =>
    shape<ProjectSecret>(
      v,
      {
        path: 'string',
        name: 'string',
        envVar: 'string',
        version: 'int',
        value: 'string',
        localOnly: 'boolean',
      },
      what,
    ),
  auditRecord: (v: unknown, what = 'record'): ShownAuditRecord => {
    // The chain's hashes come only to a token that may check the whole chain.
    const r = shape<ShownAuditRecord & { prevHash?: string | null; hash?: string | null }>(
      v,
      {
        seq: 'int',
        ts: 'string',
        actor: 'string',
        action: 'string',
        path: 'string?',
        env: 'string?',
        version: 'int?',
        outcome: 'string',
        detail: 'string?',
        prevHash: 'string?',
        hash: 'string?',
      },
      what,
    );
    if (r.prevHash === null || r.hash === null) {
      const { prevHash: _p, hash: _h, ...rest } = r;
      return rest;
    }
    return r as ShownAuditRecord;
  },
  /**
   * The `nextAfterSeq` of an audit page: a seq past `afterSeq`, null at the end of the log, or
   * undefined from a server older than the cursor (whose pages were short only at the end). A
   * cursor that does not move on is a bad answer: following it would never end.
   */
  auditCursor: (answer: Answer, afterSeq: number): number | null | undefined => {
    const v = answer.nextAfterSeq;
    if (v === undefined || v === null) return v;
    if (!Number.isSafeInteger(v) || (v as number) <= afterSeq) throw bad('audit.nextAfterSeq');
    return v as number;
  },
  tokenInfo: (v: unknown, what = 'token'): TokenInfo =>
    shape<TokenInfo>(
      v,
      {
        name: 'string',
        id: 'string',
        allow: 'strings',
        envs: 'strings',
        caps: 'strings',
        createdAt: 'string',
        expiresAt: 'string?',
        revokedAt: 'string?',
        noReveal: 'boolean',
      },
      what,
    ),
  secretRequest: (v: unknown, what = 'request'): SecretRequestView => {
    const out = shape<
      Omit<
        SecretRequestView,
        'status' | 'writeEnv' | 'version' | 'written' | 'error' | 'writeEnvError'
      >
    >(
      v,
      {
        id: 'string',
        path: 'string',
        env: 'string',
        description: 'string',
        actor: 'string',
        createdAt: 'string',
        expiresAt: 'string',
      },
      what,
    ) as SecretRequestView;
    const o = v as Record<string, unknown>;
    const statuses = ['pending', 'opened', 'stored', 'declined', 'expired', 'failed'];
    if (typeof o.status !== 'string' || !statuses.includes(o.status)) {
      throw new CofferError('SERVER_BAD_RESPONSE', `the server's ${what} has no valid status`);
    }
    out.status = o.status as SecretRequestView['status'];
    if (typeof o.writeEnv === 'string') out.writeEnv = o.writeEnv;
    if (Number.isSafeInteger(o.version)) out.version = o.version as number;
    if (typeof o.error === 'string') out.error = o.error;
    return out;
  },
  createdToken: (v: unknown, what = 'token'): CreatedToken =>
    shape<CreatedToken>(v, { name: 'string', token: 'string', expiresAt: 'string?' }, what),
  deleted: (v: unknown, what = 'result'): DeleteResult =>
    shape<DeleteResult>(v, { path: 'string', env: 'string', deleted: 'true' }, what),
  auditVerify: (v: Answer, what = 'audit verify'): AuditVerifyAnswer => {
    const out: AuditVerifyAnswer = shape<
      Omit<AuditVerifyAnswer, 'firstBroken' | 'head' | 'acknowledged'>
    >(v, { ok: 'boolean', checked: 'int' }, what);
    const broken = v.firstBroken;
    if (broken !== undefined && broken !== null) {
      // A record number alone, or {seq, reason}.
      out.firstBroken = Number.isSafeInteger(broken)
        ? { seq: broken as number, reason: 'the chain is broken here' }
        : shape<{ seq: number; reason: string }>(
            broken,
            { seq: 'int', reason: 'string' },
            `${what}.firstBroken`,
          );
    }
    if (v.head === 'authenticated' || v.head === 'legacy' || v.head === 'broken') out.head = v.head;
    if (v.acknowledged !== undefined) {
      out.acknowledged = items(v, 'acknowledged', acknowledgedBreak, what);
    }
    return out;
  },
  restored: (v: unknown, what = 'result'): RestoreResult =>
    shape<RestoreResult>(v, { path: 'string', env: 'string', restored: 'true' }, what),
  rotationStatus: (v: Answer, what = 'rotation status'): RotationStatusReport => {
    const head = shape<
      Pick<RotationStatusReport, 'now' | 'dueWithinDays' | 'overdue' | 'neverRotated'>
    >(v, { now: 'string', dueWithinDays: 'int', overdue: 'int', neverRotated: 'int' }, what);
    const list = items(v, 'items', rotationItem, what);
    // Counted here from the items, so the totals always match what is listed.
    const counts = Object.fromEntries(ROTATION_STATES.map((st) => [st, 0])) as Record<
      RotationState,
      number
    >;
    for (const i of list) counts[i.state]++;
    return { ...head, items: list, counts };
  },
  leakOpened: (v: unknown, what = 'incident'): LeakOpened =>
    shape<LeakOpened>(
      v,
      { incident: 'string', path: 'string', env: 'string', resumed: 'boolean' },
      what,
    ),
  recorded: (v: unknown, what = 'result'): number =>
    shape<{ recorded: number }>(v, { recorded: 'int' }, what).recorded,
};

function rotationItem(v: unknown, what: string): RotationStatusItem {
  const item = shape<RotationStatusItem>(
    v,
    {
      path: 'string',
      env: 'string',
      state: 'string',
      policy: 'string?',
      version: 'int',
      versionCreatedAt: 'string',
      ageDays: 'int',
      dueAt: 'string?',
      daysLeft: 'int?',
      neverRotated: 'boolean',
      rotatedBy: 'string?',
      graceUntil: 'string?',
      previousVersion: 'int?',
      compromisedAt: 'string?',
      action: 'string?',
    },
    what,
  );
  if (!ROTATION_STATES.includes(item.state)) throw bad(`${what}.state`);
  return item;
}
