/**
 * Code and history: what `coffer scan` finds in the files git would commit (secrets in code,
 * in comments, values stored in the vault) and, with `--history`, in every commit; and
 * secrets passed to log calls and error messages. The findings are the scanner's
 * (core/scan); doctor only sorts them into checks and says what to do.
 */
import type { Finding } from '../../scan/types.js';
import type { DoctorContext } from '../context.js';
import type { Check, Evidence, Fix, Unread } from '../types.js';
import { isDeploymentFile } from './deploy.js';
import { inComment, lineOf } from './util.js';

function evidenceOf(f: Finding): Evidence {
  return f.keyPath !== undefined
    ? {
        file: f.file,
        line: f.line,
        keyPath: f.keyPath,
        env: f.env,
        commit: f.commit,
        message: `the value of ${f.keyPath} (${f.env}) is here (${f.encoding})`,
      }
    : { file: f.file, line: f.line, commit: f.commit, message: `${f.ruleId}: ${f.description}` };
}

function isCommentFinding(ctx: DoctorContext, f: Finding): boolean {
  const text = ctx.text(f.file);
  return text !== undefined && inComment(lineOf(text, f.line), f.column - 1);
}

/**
 * The scanner's rule findings (not stored values) outside deployment files (the deploy
 * checks report those), in code or in comments.
 */
async function foundInCode(
  ctx: DoctorContext,
  where: 'code' | 'comments',
): Promise<{ evidence: Evidence[]; unread: readonly Unread[] }> {
  const { findings, unread } = await ctx.scan();
  const evidence = findings
    .filter(
      (f) =>
        f.keyPath === undefined &&
        !isDeploymentFile(f.file) &&
        isCommentFinding(ctx, f) === (where === 'comments'),
    )
    .map(evidenceOf);
  // A file the scan could not read may hold a secret: said, never taken as clean.
  return { evidence, unread };
}

const STORE_FIX: Fix = {
  description:
    'move the value into the vault and read it from the environment (a false positive: add coffer:allow on its line, or accept it in the baseline)',
  command: 'coffer set project/APP/NAME --description "..." && coffer env pull',
};

const inFiles: Check = {
  id: 'code/secrets-in-files',
  category: 'code',
  severity: 'error',
  title: 'no secret in the files git would commit',
  why: 'A secret hardcoded in a file is in every clone and every commit; the seed reads it from the environment instead.',
  async run(ctx) {
    return { ...(await foundInCode(ctx, 'code')), fixes: [STORE_FIX] };
  },
};

const inComments: Check = {
  id: 'code/secrets-in-comments',
  category: 'code',
  severity: 'error',
  title: 'no secret in code comments',
  why: 'The seed lists "no secrets in code comments": a key left in a comment is as committed as one in code.',
  async run(ctx) {
    return {
      ...(await foundInCode(ctx, 'comments')),
      fixes: [
        {
          description: 'delete the comment and rotate the secret it held',
          command: 'coffer rotate PATH',
        },
      ],
    };
  },
};

const storedValues: Check = {
  id: 'code/stored-values',
  category: 'code',
  severity: 'error',
  title: 'no value stored in the vault appears in the tree',
  why: 'A value that is both in the vault and in a committed file has leaked: rotate it.',
  async run(ctx) {
    if ((await ctx.vault()) === undefined) return { evidence: [], skipped: 'no vault' };
    const { findings, unread } = await ctx.scan();
    const stored = findings.filter((f) => f.keyPath !== undefined);
    const paths = new Map<string, string>();
    for (const f of stored)
      paths.set(`${f.keyPath} ${f.env}`, `coffer incident ${f.keyPath} --env ${f.env}`);
    return {
      evidence: stored.map(evidenceOf),
      unread,
      fixes: [...paths.values()].map((command) => ({
        description:
          'treat the value as leaked: walk the incident checklist (rotate, find readers)',
        command,
      })),
    };
  },
};

const history: Check = {
  id: 'code/history',
  category: 'code',
  severity: 'error',
  title: 'no secret in git history',
  why: 'A secret removed from the files stays in every earlier commit: the seed says rotate it immediately, as it is already compromised.',
  async run(ctx) {
    if (!ctx.history) return { evidence: [], skipped: 'history not scanned (run with --history)' };
    if (!ctx.isGit()) return { evidence: [], skipped: 'not a git repository' };
    const found = (await ctx.historyScan()) ?? [];
    const evidence = found.map(evidenceOf);
    return {
      evidence,
      fixes: [
        {
          description:
            'rotate each secret found (removing it from history is optional: it is compromised already)',
          command: 'coffer scan --history --json',
        },
      ],
    };
  },
};

/** A log call, print or error construction on a line. */
const LOG_CALL =
  /\b(?:console\.(?:log|info|warn|error|debug)|log(?:ger)?\.(?:info|warn|warning|error|debug|trace|fatal|critical|exception)|logging\.(?:info|warning|error|debug|exception)|print(?:ln|f)?|puts|fmt\.(?:Print|Sprint|Errorf)\w*|raise\s+\w*(?:Error|Exception)|throw\s+new\s+\w*Error|new\s+\w*Error|panic)\s*\(?/;
/** An interpolated or concatenated identifier whose name says secret. */
const SECRET_IDENT = String.raw`[\w.]*(?:api_?key|apikey|secret|token|passw(?:or)?d|passwd|private_?key|credential|auth_?key|access_?key)[\w.]*`;
const INTERPOLATED = new RegExp(
  String.raw`\$\{\s*${SECRET_IDENT}\s*\}|\{\s*${SECRET_IDENT}\s*(?:!r)?\}|%s[^\n]*%\s*\(?\s*${SECRET_IDENT}|["'\`]\s*\+\s*${SECRET_IDENT}\b|,\s*${SECRET_IDENT}\s*\)`,
  'i',
);
const CODE_FILE = /\.(?:[cm]?[jt]sx?|py|rb|go|java|kt|php|cs|rs|swift|scala|ex|exs)$/;

const inLogs: Check = {
  id: 'code/secrets-in-logs',
  category: 'code',
  severity: 'warning',
  title: 'no secret passed to a log line or an error message',
  why: 'The seed lists "no secrets in error messages or logs": log lines and errors are copied to places no one protects as secrets.',
  run(ctx) {
    const evidence: Evidence[] = [];
    const files: string[] = [];
    for (const file of ctx.committable()) {
      if (
        !CODE_FILE.test(file) ||
        /(?:^|\/)(?:test|tests|__tests__|spec)\/|\.(?:test|spec)\./.test(file)
      )
        continue;
      files.push(file);
      const text = ctx.text(file);
      if (text === undefined || !/log|print|Error|raise|throw|puts|panic/i.test(text)) continue;
      const lines = text.split('\n');
      for (let i = 0; i < lines.length; i++) {
        const l = lines[i]!;
        if (l.length > 500 || !LOG_CALL.test(l) || !INTERPOLATED.test(l)) continue;
        if (/redact|mask|\[REDACTED\]|coffer:allow/i.test(l)) continue;
        evidence.push({
          file,
          line: i + 1,
          message: 'a secret-named variable goes into a log line or an error message',
        });
      }
    }
    return {
      evidence,
      unread: ctx.unreadOf(files),
      fixes: [
        {
          description:
            'log "[REDACTED]" or a redacted copy instead (coffer/redact: createRedactor, pinoRedactHooks); a false positive: add coffer:allow on the line',
        },
      ],
    };
  },
};

export const CODE_CHECKS: readonly Check[] = [inFiles, inComments, storedValues, history, inLogs];
