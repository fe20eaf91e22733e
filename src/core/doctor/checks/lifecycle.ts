/**
 * Lifecycle: rotations on schedule (core/rotation's status), no open incident, the
 * pre-commit hook installed (core/scan/hook), the scanner baseline current, the audit chain
 * verifying, and a recent backup.
 */
import { verifyAudit } from '../../audit/log.js';
import { rotationStatus } from '../../rotation/status.js';
import { installHook, scannerHookState } from '../../scan/hook.js';
import { type Check, type Evidence, type Fix, unread } from '../types.js';
import { sh, shownPath, UNVERIFIED } from './util.js';

const DAY = 86_400_000;
export const BACKUP_MAX_AGE_DAYS = 30;

const rotation: Check = {
  id: 'lifecycle/rotation-overdue',
  category: 'lifecycle',
  severity: 'error',
  title: 'rotations are on schedule',
  why: 'The seed rotates secrets on a schedule and after any incident; an overdue or compromised secret is one still valid for whoever copied it.',
  async run(ctx) {
    const vault = await ctx.vault();
    if (vault === undefined) return { evidence: [], skipped: 'no vault' };
    const project = ctx.project();
    const report = await rotationStatus(vault, {
      now: ctx.now,
      ...(project !== undefined ? { prefix: { scope: 'project', group: project } } : {}),
    });
    const evidence: Evidence[] = [];
    const fixes: Fix[] = [];
    for (const i of report.items) {
      if (ctx.envs.length > 0 && !ctx.envs.includes(i.env)) continue;
      if (i.state !== 'overdue' && i.state !== 'compromised' && i.state !== 'grace-ended') continue;
      const what =
        i.state === 'overdue'
          ? `is ${-(i.daysLeft ?? 0)}d overdue (policy ${i.policy})`
          : i.state === 'compromised'
            ? 'is marked compromised and not rotated since'
            : 'has a grace window that ended';
      evidence.push({ keyPath: i.path, env: i.env, message: `${i.path} (${i.env}) ${what}` });
      if (i.action !== null)
        fixes.push({ description: `rotate ${i.path} (${i.env})`, command: i.action });
    }
    return { evidence, fixes };
  },
};

const incidents: Check = {
  id: 'lifecycle/open-incidents',
  category: 'lifecycle',
  severity: 'error',
  title: 'no incident left open',
  why: "The seed's leak response ends with a post-incident review: an open incident is a leak whose checklist is unfinished.",
  async run(ctx) {
    const doc = await ctx.rotationDoc();
    if (doc === undefined) return { evidence: [], skipped: 'no vault' };
    const open = doc.incidents.filter((i) => i.closedAt === null);
    return {
      evidence: open.map((i) => ({
        keyPath: i.path,
        env: i.env,
        message: `incident ${i.id} on ${i.path} (${i.env}) opened ${i.openedAt.slice(0, 10)} is open`,
      })),
      fixes: open.map((i) => ({
        description: `finish the checklist of ${i.id}, then close it`,
        command: `coffer incident ${i.path} --env ${i.env} && coffer incident close ${i.id}`,
      })),
    };
  },
};

const hook: Check = {
  id: 'lifecycle/pre-commit-hook',
  category: 'lifecycle',
  severity: 'error',
  title: 'a pre-commit hook blocks secrets',
  why: 'The seed has a pre-commit hook block secrets, so a key is stopped before it reaches history.',
  run(ctx) {
    if (!ctx.isGit()) return { evidence: [], skipped: 'not a git repository' };
    const state = scannerHookState(ctx.root);
    if (state === undefined) return { evidence: [], skipped: 'no hooks directory' };
    if (state.ok) return { evidence: [] };
    // A hook (or pre-commit config) not read may run a scanner: said, not taken as missing.
    if (state.unread.length > 0) {
      return {
        evidence: [],
        unread: state.unread.map((u) => unread(shownPath(ctx.root, u.file), u.reason)),
      };
    }
    const command = ctx.hookCommand;
    return {
      evidence: [{ message: 'no pre-commit hook runs a secret scanner (coffer scan --staged)' }],
      fixes: [
        {
          description:
            'install the pre-commit hook that runs coffer scan --staged (an existing hook runs first; coffer hook uninstall removes it)',
          command: 'coffer hook install',
          apply: command === undefined ? undefined : () => void installHook(ctx.root, command),
        },
      ],
    };
  },
};

const baseline: Check = {
  id: 'lifecycle/baseline-stale',
  category: 'lifecycle',
  severity: 'warning',
  title: 'the scanner baseline lists only findings that still exist',
  why: 'A baseline entry for a finding that is gone can hide a new secret with the same value; review and rewrite it.',
  async run(ctx) {
    const b = ctx.baseline();
    const baselineUnread = ctx.baselineUnread();
    if (baselineUnread !== undefined) return { evidence: [], unread: [baselineUnread] };
    if (b === undefined) return { evidence: [], skipped: 'no .secrets.baseline' };
    const { all } = await ctx.scan();
    // A finding matches its entry by either key an entry may hold (isInBaseline's rule).
    const current = new Set(
      all.flatMap((f) => [
        `${f.file}\0${f.hashedSecret}`,
        ...(f.wholeHashedSecret === undefined ? [] : [`${f.file}\0${f.wholeHashedSecret}`]),
      ]),
    );
    const files = new Set(ctx.committable());
    const evidence: Evidence[] = [];
    for (const results of [b.results, b.cofferResults]) {
      for (const [name, list] of Object.entries(results)) {
        for (const e of list) {
          const file = e.filename ?? name;
          if (!files.has(file)) {
            evidence.push({
              file: '.secrets.baseline',
              message: `an entry for ${file}, which no longer exists`,
            });
          } else if (!current.has(`${file}\0${e.hashed_secret}`)) {
            evidence.push({
              file: '.secrets.baseline',
              message: `an entry for ${file}${e.line_number ? `:${e.line_number}` : ''} that is no longer found`,
            });
          }
        }
      }
    }
    return {
      evidence,
      fixes: [
        {
          description: 'review the findings, then rewrite the baseline',
          command: 'coffer scan && coffer scan --update-baseline',
        },
      ],
    };
  },
};

const audit: Check = {
  id: 'lifecycle/audit-verify',
  category: 'lifecycle',
  severity: 'error',
  title: 'the audit log verifies',
  why: "The seed says to know when secrets are used; an audit chain that does not verify was changed behind coffer's back.",
  async run(ctx) {
    const vault = await ctx.vault();
    if (vault === undefined) return { evidence: [], skipped: 'no vault' };
    const r = await verifyAudit(vault);
    if (r.ok) return { evidence: [] };
    return {
      evidence: [
        {
          message: `audit record ${r.problem?.seq ?? '?'}: ${r.problem?.reason ?? 'the chain does not verify'}`,
        },
      ],
      fixes: [
        {
          description:
            'find out what changed (restore from a backup if you can), then acknowledge the break',
          command: 'coffer audit verify && coffer audit acknowledge --reason TEXT',
        },
      ],
    };
  },
};

const backups: Check = {
  id: 'lifecycle/backup',
  category: 'lifecycle',
  severity: 'warning',
  title: `a backup of the vault from the last ${BACKUP_MAX_AGE_DAYS} days`,
  why: 'A vault with no recent backup is one disk failure away from losing every secret and key it holds.',
  async run(ctx) {
    const secrets = await ctx.secrets();
    const facts = await ctx.auditFacts();
    if (secrets === undefined || facts === undefined) return { evidence: [], skipped: 'no vault' };
    if (!facts.verified) return { evidence: [], skipped: UNVERIFIED };
    if (secrets.length === 0) return { evidence: [] };
    const last = facts.lastBackup;
    if (last !== undefined && ctx.now.getTime() - Date.parse(last) < BACKUP_MAX_AGE_DAYS * DAY) {
      return { evidence: [] };
    }
    return {
      evidence: [
        {
          message:
            last === undefined
              ? 'the vault has never been backed up'
              : `the last backup is from ${last.slice(0, 10)}`,
        },
      ],
      fixes: [
        {
          description:
            'write an encrypted backup (or schedule them: coffer serve --backup-every 24h --backup-dir DIR)',
          command: `coffer backup --passphrase --out ${sh('coffer-backup.age')}`,
        },
      ],
    };
  },
};

export const LIFECYCLE_CHECKS: readonly Check[] = [
  rotation,
  incidents,
  hook,
  baseline,
  audit,
  backups,
];
