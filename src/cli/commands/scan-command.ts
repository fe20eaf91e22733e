/**
 * `coffer scan [PATHS...]`: secrets in files, in the staged changes (`--staged`, for the
 * pre-commit hook) or in git history (`--history [RANGE]`), with the rules of core/scan and,
 * unless `--no-vault`, every value stored in the vault (current and previous versions, read
 * once in one audited batch). Findings in the baseline (`.secrets.baseline`, detect-secrets'
 * format) are not reported; `--update-baseline` writes them into it.
 *
 * Output: one line per finding `file:line:column rule masked [key path]` (stdout), a summary
 * and what to do on stderr; `--json` or `--sarif` (SARIF 2.1.0) on stdout. Exit 1 when a
 * finding is not in the baseline, 0 otherwise, 2 on usage errors.
 */
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { type Command, Option } from 'commander';
import { CofferError } from '../../core/errors.js';
import { writeSecretFile } from '../../core/files.js';
import { type PathMatcher, pathGlob } from '../../core/path-glob.js';
import { READ_LIMITS, readFileLimited } from '../../core/read-limited.js';
import { agentFiles, notRegularKind } from '../../core/scan/agents.js';
import {
  type Baseline,
  baselineIndex,
  formatBaseline,
  isInBaseline,
  parseBaseline,
  updateBaseline,
} from '../../core/scan/baseline.js';
import { toSarif } from '../../core/scan/sarif.js';
import { type ScanOptions, scanFile } from '../../core/scan/scanner.js';
import { gitTopLevel, listFiles, scanHistory, scanStaged } from '../../core/scan/sources.js';
import type { StoredValueMatcher } from '../../core/scan/stored-values.js';
import type { Finding } from '../../core/scan/types.js';
import { storedValueMatcher } from '../../core/scan/vault-values.js';
import { action, type CommonOptions } from '../action.js';
import type { GlobalOptions } from '../context.js';
import { printJson, warn, writeOut } from '../output.js';

declare const COFFER_VERSION: string;

interface ScanCommandOptions extends CommonOptions {
  staged?: boolean;
  history?: boolean | string;
  agents?: boolean;
  allFiles?: boolean;
  sarif?: boolean;
  vault?: boolean;
  baseline?: string;
  updateBaseline?: boolean;
  exclude?: string[];
}

const DEFAULT_BASELINE = '.secrets.baseline';

/** An --exclude glob: without a `/` it matches at any depth, and a directory covers its contents. */
function excludeGlob(glob: string): PathMatcher {
  // `./x` and `/x` are anchored at the top (as in .gitignore), a glob without `/` is not.
  const anchored = /^\.?\//.test(glob);
  const g = glob.replace(/^\.?\//, '').replace(/\/$/, '');
  return pathGlob(g, { anyDepth: !anchored && !g.includes('/'), contents: true });
}

/** The stored-value matcher, or undefined when the vault cannot be read (with a warning). */
async function vaultMatcher(g: GlobalOptions): Promise<StoredValueMatcher | undefined> {
  try {
    // Loaded here: opening a vault loads SQLite, which a scan without one (a hook with
    // --no-vault) should not pay for at start-up.
    const { withService } = await import('../context.js');
    return await withService(g, (backend) => storedValueMatcher(backend));
  } catch (err) {
    if (err instanceof CofferError && err.code === 'VAULT_NOT_FOUND') return undefined;
    const why = err instanceof CofferError ? err.message : 'the vault could not be read';
    warn(`stored values not checked: ${why} (--no-vault skips the vault)`);
    return undefined;
  }
}

/** A file listed as not scanned, and why: a system error code, `LINE_TOO_LONG`, `BINARY`. */
interface Unscanned {
  readonly file: string;
  readonly reason: string;
}

/**
 * What scanning a file gave: its findings, or why it was not scanned (scanFile's NotScanned,
 * or what kind of file an agent file is, notRegularKind), or nothing (skipped, or gone).
 */
type Scanned = Finding[] | { readonly notScanned: string } | undefined;

/**
 * A file's findings, or why it was not scanned (binary content), or undefined when it was
 * deleted since it was listed, or cannot be read (then it goes into `unreadable` with the
 * reason: a file not scanned is never called clean).
 */
function readable(file: string, unreadable: Unscanned[], scan: () => Scanned): Scanned {
  try {
    return scan();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!code) throw err;
    // Deleted since it was listed, or not a file at all (a submodule, a link to a directory,
    // both listed by git ls-files): nothing to scan. Anything else was not read.
    if (code !== 'ENOENT' && code !== 'EISDIR') unreadable.push({ file, reason: code });
    return undefined;
  }
}

/**
 * A file not scanned, as its warning line. Binary content is no read error: it is said so, with
 * what made it binary, so a keystore or a UTF-16 file without its mark is not taken as clean.
 */
function notScannedLine(u: Unscanned): string {
  return u.reason === 'BINARY'
    ? `${u.file} (BINARY): not scanned, binary content (a NUL byte in its first 8000 bytes)`
    : `cannot read ${u.file} (${u.reason}): not scanned`;
}

function humanLine(f: Finding): string {
  const where = `${f.commit ? `${f.commit.slice(0, 12)} ` : ''}${f.file}:${f.line}:${f.column}`;
  const what =
    f.keyPath !== undefined
      ? `${f.ruleId} ${f.keyPath} (${f.env}, ${f.encoding})`
      : `${f.ruleId} ${f.masked}`;
  return `${where} ${what}`;
}

function jsonFinding(f: Finding): Record<string, unknown> {
  return {
    rule: f.ruleId,
    description: f.description,
    file: f.file,
    line: f.line,
    column: f.column,
    endColumn: f.endColumn,
    ...(f.commit !== undefined ? { commit: f.commit } : {}),
    masked: f.masked,
    validated: f.validated,
    ...(f.keyPath !== undefined
      ? {
          keyPath: f.keyPath,
          env: f.env,
          encoding: f.encoding,
          suggestion: `coffer incident ${f.keyPath}`,
        }
      : {}),
    hashedSecret: f.hashedSecret,
  };
}

const ADVICE = [
  'a false positive: add a comment with coffer:allow on its line, or accept every current',
  '  finding with `coffer scan --update-baseline`',
  'a real secret: store it and use it from the vault instead of the file:',
  '  coffer set project/APP/NAME --description "..." && coffer env pull',
  '  (or write coffer://project/APP/NAME where the value was)',
];

export function scanCommand(program: Command): void {
  program
    .command('scan')
    .description(
      'find secrets in files, staged changes or git history (provider keys, generic secrets, stored values)',
    )
    .argument('[paths...]', 'files or directories (default: the current directory)')
    .option('--staged', 'scan the changes staged for commit (pre-commit)')
    .option(
      '--history [range]',
      'scan git history (default: all of HEAD; or a range such as main..HEAD)',
    )
    .option(
      '--agents',
      "scan AI agents' transcripts and configuration (Claude Code, Codex, Cursor, VS Code, Claude Desktop)",
    )
    .option('--all-files', 'scan files git ignores too (and node_modules outside git)')
    .option('--exclude <glob...>', 'skip paths matching a glob (repeatable; e.g. "docs/**")')
    .option(
      '--baseline <file>',
      `findings to accept, detect-secrets format (default: ${DEFAULT_BASELINE} if present)`,
    )
    .option('--update-baseline', 'write the current findings into the baseline and exit 0')
    .option('--no-vault', 'do not look for the values stored in the vault')
    .addOption(new Option('--json', 'print {findings, baselined, files}').conflicts('sarif'))
    .option('--sarif', 'print SARIF 2.1.0 for code-scanning UIs')
    .addHelpText(
      'after',
      `
Without --no-vault, every value stored in the vault (current and previous versions, every
environment; read once, each read audited) is looked for raw, base64, URL-encoded,
JSON-escaped and hex; a finding names its key path, never the value. Rule ids: docs/scan.md.
--agents reads, under HOME: Claude Code's transcripts (~/.claude/projects/**/*.jsonl), settings
and ~/.claude.json; Codex's ~/.codex/config.toml, sessions and history; Cursor's and VS Code's
mcp.json; claude_desktop_config.json; and the project's .mcp.json, .cursor/mcp.json,
.vscode/mcp.json, .claude/settings*.json, .codex/config.toml. Transcripts are searched for
stored values and provider keys; a stored value found there calls for coffer incident PATH.
Files not scanned are listed: one that could not be read (exit 1), and a binary one (a NUL
byte in its first 8000 bytes; reason BINARY, exit unchanged). UTF-16 with a byte order mark
is read as text. Exit codes: 0 nothing new, 1 a finding not in the baseline or a file that
could not be read, 2 usage.

Examples:
  coffer scan
  coffer scan src config --exclude "**/*.snap"
  coffer scan --staged
  coffer scan --history main..HEAD --json
  coffer scan --agents
  coffer scan --sarif > coffer.sarif
  coffer scan --update-baseline`,
    )
    .action(
      action<ScanCommandOptions>(async (paths, opts, g) => {
        const history = opts.history;
        const sources =
          (opts.staged ? 1 : 0) +
          (history !== undefined ? 1 : 0) +
          (opts.agents ? 1 : 0) +
          (paths.length > 0 ? 1 : 0);
        if (sources > 1) {
          throw new CofferError(
            'USAGE',
            'give PATHS, --staged, --history or --agents, not several of them',
          );
        }
        const cwd = process.cwd();
        const baselineFile = opts.baseline ?? DEFAULT_BASELINE;
        const baselinePath = join(cwd, baselineFile);
        let baseline: Baseline | undefined;
        if (existsSync(baselinePath)) {
          if (!statSync(baselinePath).isFile()) {
            throw new CofferError('INVALID_ARGUMENT', `${baselineFile} is not a file`, {
              hint: 'Give --baseline the path of a detect-secrets baseline file.',
            });
          }
          baseline = parseBaseline(
            readFileLimited(baselinePath, READ_LIMITS.baseline, 'a scan baseline').toString('utf8'),
            baselineFile,
          );
        } else if (opts.baseline !== undefined && !opts.updateBaseline) {
          throw new CofferError('FILE_NOT_FOUND', `no baseline at ${baselineFile}`, {
            hint: 'Write one with `coffer scan --update-baseline --baseline FILE`.',
          });
        }
        const excludes = (opts.exclude ?? []).map(excludeGlob);
        const excluded = (file: string) => excludes.some((r) => r.test(file));
        // `--no-vault` sets this command's `vault` option, which shadows the global
        // `--vault PATH` in the merged options: take the vault file from the program.
        const vaultFile = program.opts<GlobalOptions>().vault;
        const { vault: _shadowed, ...rest } = g;
        const global: GlobalOptions =
          typeof vaultFile === 'string' ? { ...rest, vault: vaultFile } : rest;
        const matcher = opts.vault === false ? undefined : await vaultMatcher(global);
        const options: ScanOptions = {
          storedValues: matcher,
          // As files are shown: relative to here, `/`-separated.
          baselineFile: relative(cwd, baselinePath).split(sep).join('/'),
        };
        const scanned = new Set<string>();
        const unreadable: Unscanned[] = [];
        let findings: Finding[] = [];
        // A binary file of the diff, once however many commits changed it.
        const binaries = new Set<string>();
        const onBinary = (file: string) => {
          if (binaries.has(file) || excluded(file)) return;
          binaries.add(file);
          unreadable.push({ file, reason: 'BINARY' });
        };
        /** What scanning `file` gave: its findings, or a reason it goes into `unreadable`. */
        const take = (file: string, found: Scanned) => {
          if (found === undefined) return;
          if (!Array.isArray(found)) {
            unreadable.push({ file, reason: found.notScanned });
            return;
          }
          scanned.add(file);
          findings.push(...found);
        };
        try {
          if (opts.staged) {
            findings = await scanStaged(cwd, options, (f) => scanned.add(f), onBinary);
          } else if (opts.agents) {
            // Every file of an agent's that is there, readable or not: one that is no regular
            // file (a FIFO, a device, a dangling link) is listed as not scanned, never passed
            // over as if there were nothing to read.
            const files = agentFiles({
              home: process.env.HOME || homedir(),
              project: gitTopLevel(cwd) ?? cwd,
              env: process.env,
              anyKind: true,
            });
            for (const f of files) {
              if (excluded(f.shown)) continue;
              const kind = notRegularKind(f.path);
              if (kind !== undefined) {
                unreadable.push({ file: f.shown, reason: kind });
                continue;
              }
              take(
                f.shown,
                readable(f.shown, unreadable, () => {
                  const found = scanFile(f.path, f.shown, {
                    ...options,
                    noGeneric: f.kind === 'transcript',
                  });
                  // A file that was regular a moment ago and is not now: swapped (a FIFO).
                  return found ?? { notScanned: notRegularKind(f.path) ?? 'NOT_REGULAR' };
                }),
              );
            }
          } else if (history !== undefined) {
            const range = typeof history === 'string' ? history : undefined;
            findings = await scanHistory(cwd, range, options, (f) => scanned.add(f), onBinary);
          } else {
            for (const file of listFiles(cwd, paths, opts.allFiles === true)) {
              if (excluded(file)) continue;
              // Joined as a string: `file` is relative and normalised (from git or the walk).
              take(
                file,
                readable(file, unreadable, () => scanFile(`${cwd}${sep}${file}`, file, options)),
              );
            }
          }
        } finally {
          matcher?.wipe();
        }
        findings = findings.filter((f) => !excluded(f.file));
        if (opts.updateBaseline) {
          const next = updateBaseline(baseline, findings, scanned, new Date());
          writeSecretFile(baselinePath, formatBaseline(next), { overwrite: true, mode: 0o644 });
          if (opts.json) printJson({ baseline: baselineFile, findings: findings.length });
          else writeOut(`${baselineFile}: ${findings.length} findings accepted\n`);
          return 0;
        }
        const index = baseline ? baselineIndex(baseline) : new Set<string>();
        const fresh = findings.filter((f) => !isInBaseline(index, f));
        const baselined = findings.length - fresh.length;
        if (opts.sarif) {
          printJson(
            toSarif(
              fresh,
              typeof COFFER_VERSION === 'string' ? COFFER_VERSION : '0.0.0-dev',
              unreadable,
            ),
          );
        } else if (opts.json) {
          printJson({
            findings: fresh.map(jsonFinding),
            baselined,
            files: scanned.size,
            unreadable,
          });
        } else {
          if (fresh.length > 0) writeOut(`${fresh.map(humanLine).join('\n')}\n`);
          const summary = `${fresh.length} finding${fresh.length === 1 ? '' : 's'} in ${scanned.size} file${scanned.size === 1 ? '' : 's'}${baselined > 0 ? ` (${baselined} more in the baseline)` : ''}${unreadable.length > 0 ? `; ${unreadable.length} not scanned` : ''}`;
          process.stderr.write(`coffer: ${summary}\n`);
          const leaked = [...new Set(fresh.flatMap((f) => (f.keyPath ? [f.keyPath] : [])))];
          if (leaked.length > 0) {
            process.stderr.write(
              `coffer: a stored value was found: treat it as leaked; \`coffer incident PATH\` walks the response:\n${leaked.map((p) => `coffer:   coffer incident ${p}\n`).join('')}`,
            );
          }
          if (fresh.length > 0) {
            process.stderr.write(ADVICE.map((l) => `coffer: hint: ${l}\n`).join(''));
          }
        }
        for (const u of unreadable) warn(notScannedLine(u));
        // A file that could not be read may hold anything: the scan does not pass. A binary
        // one is listed, not failed: binary files are common (a compiled asset, a database),
        // and each would otherwise need an --exclude before the scan could pass at all.
        const failed = unreadable.some((u) => u.reason !== 'BINARY');
        return fresh.length > 0 || failed ? 1 : 0;
      }),
    );
}
