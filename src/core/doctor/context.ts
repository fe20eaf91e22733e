/**
 * What the checks of `coffer doctor` read, each input prepared once and only when a check
 * asks for it: the git file lists, the files themselves, the manifest, the vault (opened by
 * the front end through `openVault`), one scan of the work tree (stored values included),
 * the history scan (`--history`), and one walk of the audit log. A check that needs nothing
 * heavy stays fast, and the time of each shared input is kept apart (`costs`), so a report
 * can say what each check cost without charging the first one for everyone's inputs.
 */
import { spawnSync } from 'node:child_process';
import { type Dirent, readdirSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { cpuUsage } from 'node:process';
import { walkVouchedAudit } from '../audit/vouched.js';
import { gitArgs } from '../git.js';
import { childEnvironment } from '../inject/child-env.js';
import { findManifestFile, loadManifest } from '../manifest/load.js';
import type { Manifest } from '../manifest/model.js';
import { MAX_MANIFEST_BYTES } from '../manifest/parse.js';
import {
  notRegularReason,
  READ_LIMITS,
  readFoundFile,
  readRegularFileLimited,
  TooLargeError,
  unreadableReason,
} from '../read-limited.js';
import { type RotationDoc, readRotationDoc } from '../rotation/state.js';
import { type Baseline, baselineIndex, isInBaseline, parseBaseline } from '../scan/baseline.js';
import { pathFilter } from '../scan/filters.js';
import { scanFile, scanText } from '../scan/scanner.js';
import { scanHistory } from '../scan/sources.js';
import type { StoredValueMatcher } from '../scan/stored-values.js';
import type { Finding } from '../scan/types.js';
import { storedValueMatcher } from '../scan/vault-values.js';
import type { Vault } from '../store/vault.js';
import type { SecretInfo } from '../store/vault-types.js';
import { type Unread, unread } from './types.js';

export interface DoctorOptions {
  /** The project directory (the git work tree's top, or where doctor runs). */
  readonly root: string;
  /** The home directory (agent configuration under it). */
  readonly home: string;
  /** The process environment (agent locations honour CLAUDE_CONFIG_DIR and the like). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The project in the vault (`--project`, `.coffer` or the manifest). */
  readonly project?: string | undefined;
  /** Only these environments (`--env`); empty: every environment. */
  readonly envs?: readonly string[] | undefined;
  /** Scan git history too (`--history`). */
  readonly history?: boolean | undefined;
  readonly now?: Date | undefined;
  /** Opens the vault; undefined (or resolving to undefined): there is none here. */
  readonly openVault?: (() => Promise<Vault | undefined>) | undefined;
  /** The vault's own files (the vault file, the master key file) for the mode check. */
  readonly vaultFiles?: readonly string[] | undefined;
  /** How the pre-commit hook runs coffer (argv). */
  readonly hookCommand?: readonly string[] | undefined;
  /** The largest file the checks hold as text (default READ_LIMITS.doctorFile). */
  readonly readLimit?: number | undefined;
}

/** Wall and CPU time of one shared input (ms). */
export interface Cost {
  ms: number;
  cpuMs: number;
}

const GIT_OPTIONS = ['-c', 'core.quotePath=off'];
const BASELINE_FILE = '.secrets.baseline';

/**
 * Could this text, read as UTF-8, be UTF-16 with its byte order mark (FF FE or FE FF, each
 * byte invalid UTF-8)? The scanner itself tells (scanFile): this only spares it re-reading
 * every binary file.
 */
const isUtf16 = (text: string): boolean => text.startsWith('\uFFFD\uFFFD');

function cpuMs(): number {
  const u = cpuUsage();
  return (u.user + u.system) / 1000;
}

export class DoctorContext {
  readonly root: string;
  readonly home: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly envs: readonly string[];
  readonly history: boolean;
  readonly now: Date;
  readonly vaultFiles: readonly string[];
  readonly hookCommand: readonly string[] | undefined;
  /** Time spent on each shared input, by name. */
  readonly costs: Map<string, Cost> = new Map();
  readonly #options: DoctorOptions;
  readonly #memo = new Map<string, unknown>();
  readonly #texts = new Map<string, string | undefined>();
  /** Files passed over by `text` for their size (`readLimit`): scanned in chunks. */
  readonly #tooLarge = new Set<string>();
  /** Why `text` could not read a file that is there, by file. */
  readonly #unreadable = new Map<string, string>();

  constructor(options: DoctorOptions) {
    this.#options = options;
    this.root = options.root;
    this.home = options.home;
    this.env = options.env;
    this.envs = options.envs ?? [];
    this.history = options.history === true;
    this.now = options.now ?? new Date();
    this.vaultFiles = options.vaultFiles ?? [];
    this.hookCommand = options.hookCommand;
  }

  /** Runs `fn` once (timed into `costs`); later calls return its result. */
  #once<T>(name: string, fn: () => T): T {
    if (this.#memo.has(name)) return this.#memo.get(name) as T;
    const t0 = performance.now();
    const c0 = cpuMs();
    const done = () => {
      const prev = this.costs.get(name) ?? { ms: 0, cpuMs: 0 };
      this.costs.set(name, {
        ms: prev.ms + performance.now() - t0,
        cpuMs: prev.cpuMs + cpuMs() - c0,
      });
    };
    const value = fn();
    if (value instanceof Promise) {
      const p = value.finally(done);
      this.#memo.set(name, p);
      return p as T;
    }
    done();
    this.#memo.set(name, value);
    return value;
  }

  #git(args: string[], input?: string): { status: number | null; out: string } {
    const r = spawnSync('git', gitArgs([...GIT_OPTIONS, ...args]), {
      cwd: this.root,
      env: childEnvironment(process.env),
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
      ...(input !== undefined ? { input } : {}),
    });
    return { status: r.error ? null : r.status, out: r.stdout ?? '' };
  }

  /** Is the root inside a git work tree? */
  isGit(): boolean {
    return this.#once('git', () => this.#git(['rev-parse', '--is-inside-work-tree']).status === 0);
  }

  /** The files git tracks (relative, forward slashes); empty outside git. */
  tracked(): ReadonlySet<string> {
    return this.#once('git ls-files', () => {
      if (!this.isGit()) return new Set<string>();
      const r = this.#git(['ls-files', '-z', '--cached']);
      return new Set(r.out.split('\0').filter((p) => p !== ''));
    });
  }

  /** Files git would commit (tracked, and untracked ones it does not ignore); all outside git. */
  committable(): readonly string[] {
    return this.#once('git ls-files --others', () => {
      if (!this.isGit()) return this.tree();
      const r = this.#git(['ls-files', '-z', '--others', '--exclude-standard']);
      const out = new Set(this.tracked());
      for (const p of r.out.split('\0')) if (p !== '') out.add(p);
      return [...out];
    });
  }

  /** Every file under the root, git-ignored ones too (not .git, not node_modules). */
  tree(): readonly string[] {
    return this.#walk().files;
  }

  /**
   * What else the walk of `tree` met: entries that are neither regular files nor directories
   * (links, FIFOs, devices, sockets; `text` follows a link to a regular file), and the
   * directories it could not list, with why. A check looking for files by name looks at these
   * too, so a file it cannot read is reported, never taken as absent.
   */
  treeOthers(): { readonly special: readonly string[]; readonly unlisted: readonly Unread[] } {
    return this.#walk();
  }

  #walk(): { files: string[]; special: string[]; unlisted: Unread[] } {
    return this.#once('walk', () => {
      const files: string[] = [];
      const special: string[] = [];
      const unlisted: Unread[] = [];
      const walk = (dir: string, rel: string) => {
        let entries: Dirent[];
        try {
          entries = readdirSync(dir, { withFileTypes: true });
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== 'ENOENT' && code !== 'ENOTDIR') {
            const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code;
            unlisted.push(unread(`${rel === '' ? '.' : rel}/`, `cannot list it (${why})`));
          }
          return;
        }
        for (const e of entries) {
          if (e.name === '.git' || e.name === 'node_modules') continue;
          const r = rel === '' ? e.name : `${rel}/${e.name}`;
          if (e.isDirectory()) walk(join(dir, e.name), r);
          else if (e.isFile()) files.push(r);
          else special.push(r);
        }
      };
      walk(this.root, '');
      return { files: files.sort(), special: special.sort(), unlisted };
    });
  }

  /** Which of `files` git ignores (a tracked file is never ignored: git commits it). */
  ignored(files: readonly string[]): ReadonlySet<string> {
    if (files.length === 0 || !this.isGit()) return new Set();
    const r = this.#git(['check-ignore', '-z', '--stdin'], `${files.join('\0')}\0`);
    return new Set(r.out.split('\0').filter((p) => p !== ''));
  }

  /** Which of `files` git's ignore rules cover, whether tracked or not (`--no-index`). */
  coveredByIgnoreRules(files: readonly string[]): ReadonlySet<string> {
    if (files.length === 0 || !this.isGit()) return new Set();
    const r = this.#git(['check-ignore', '-z', '--no-index', '--stdin'], `${files.join('\0')}\0`);
    return new Set(r.out.split('\0').filter((p) => p !== ''));
  }

  #path(file: string): string {
    return isAbsolute(file) ? file : join(this.root, file);
  }

  /**
   * A file's text (relative to the root, or absolute), undefined when it is not there or cannot
   * be read: when it is not a regular file (a FIFO or a device, never read: a clone can commit
   * a link to one), is larger than `readLimit` (READ_LIMITS.doctorFile), may not be read or is
   * a dangling link. `unreadable` tells those from a file that is not there.
   */
  text(file: string): string | undefined {
    if (this.#texts.has(file)) return this.#texts.get(file);
    let t: string | undefined;
    const path = this.#path(file);
    try {
      const bytes = readRegularFileLimited(
        path,
        this.#options.readLimit ?? READ_LIMITS.doctorFile,
        'a file coffer doctor reads',
      );
      if (bytes === undefined) this.#unreadable.set(file, notRegularReason(path));
      t = bytes?.toString('utf8');
    } catch (err) {
      if (err instanceof TooLargeError) this.#tooLarge.add(file);
      const reason = unreadableReason(path, err);
      if (reason !== undefined) this.#unreadable.set(file, reason);
      t = undefined;
    }
    this.#texts.set(file, t);
    return t;
  }

  /**
   * Why `text` could not read `file` (`permission denied`, `larger than 64 MiB`, `not a
   * regular file (a FIFO)`, `a dangling link`); undefined when it was read or is not there.
   * Reads it first when no check has.
   */
  unreadable(file: string): string | undefined {
    this.text(file);
    return this.#unreadable.get(file);
  }

  /** The Unread of each of `files` that `text` could not read (as `shown`, when given). */
  unreadOf(files: Iterable<string>, shown: (file: string) => string = (f) => f): Unread[] {
    const out: Unread[] = [];
    for (const f of files) {
      const reason = this.unreadable(f);
      if (reason !== undefined) out.push(unread(shown(f), reason));
    }
    return out;
  }

  /**
   * The manifest (coffer.yaml) of the project, or undefined: when there is none, and when it
   * cannot be read or does not parse (`manifestUnread` says so, for the checks that use it).
   */
  manifest(): Manifest | undefined {
    return this.#manifest().manifest;
  }

  /** The manifest found but not read (too large, not a regular file, invalid...), with why. */
  manifestUnread(): Unread | undefined {
    return this.#manifest().unread;
  }

  #manifest(): { manifest?: Manifest; unread?: Unread } {
    return this.#once('manifest', () => {
      const file = findManifestFile(this.root);
      if (file === undefined) return {};
      const shown = relative(this.root, file).split(sep).join('/');
      const name = shown.startsWith('..') || isAbsolute(shown) ? file : shown;
      const found = readFoundFile(file, MAX_MANIFEST_BYTES, 'a manifest');
      if (found !== undefined && 'unreadable' in found) {
        return { unread: unread(name, found.unreadable) };
      }
      try {
        return { manifest: loadManifest(file) };
      } catch {
        // Its own errors name the line; they are coffer manifest check's to show.
        return { unread: unread(name, 'not a valid manifest (coffer manifest check says why)') };
      }
    });
  }

  /** The project: `--project`, else the manifest's. */
  project(): string | undefined {
    return this.#options.project ?? this.manifest()?.project;
  }

  /** The vault, opened once; undefined when there is none. */
  vault(): Promise<Vault | undefined> {
    return this.#once('vault open', async () => {
      const open = this.#options.openVault;
      return open === undefined ? undefined : open();
    });
  }

  /** The vault's live secrets (metadata only), in the chosen environments. */
  secrets(): Promise<readonly SecretInfo[] | undefined> {
    return this.#once('vault list', async () => {
      const vault = await this.vault();
      if (vault === undefined) return undefined;
      const all = await vault.list({});
      return all.filter(
        (s) => s.deletedAt === null && (this.envs.length === 0 || this.envs.includes(s.env)),
      );
    });
  }

  /** The stored values to look for (read once, audited), or undefined without a vault. */
  storedValues(): Promise<StoredValueMatcher | undefined> {
    return this.#once('vault values', async () => {
      const vault = await this.vault();
      return vault === undefined ? undefined : storedValueMatcher(vault.as(vault.actor));
    });
  }

  /**
   * The scanner baseline (`.secrets.baseline`), or undefined: when there is none, and when it
   * cannot be read or does not parse (`baselineUnread` says so).
   */
  baseline(): Baseline | undefined {
    return this.#baseline().baseline;
  }

  /** The baseline found but not read (too large, not a regular file, invalid...), with why. */
  baselineUnread(): Unread | undefined {
    return this.#baseline().unread;
  }

  #baseline(): { baseline?: Baseline; unread?: Unread } {
    return this.#once('baseline', () => {
      const text = this.text(BASELINE_FILE);
      if (text === undefined) {
        const reason = this.#unreadable.get(BASELINE_FILE);
        return reason === undefined ? {} : { unread: unread(BASELINE_FILE, reason) };
      }
      try {
        return { baseline: parseBaseline(text, BASELINE_FILE) };
      } catch {
        return { unread: unread(BASELINE_FILE, 'not a valid baseline') };
      }
    });
  }

  /**
   * Findings in the files git would commit, the baseline's taken out; stored values too.
   * `unread`: the files it could not scan (not a regular file, permission denied, a dangling
   * link; one too large to hold is scanned in chunks), never taken as clean.
   */
  scan(): Promise<{
    findings: readonly Finding[];
    all: readonly Finding[];
    unread: readonly Unread[];
  }> {
    return this.#once('scan work tree', async () => {
      const files = this.committable();
      const matcher = await this.storedValues();
      const options = { storedValues: matcher };
      const all: Finding[] = [];
      const notScanned: Unread[] = [];
      for (const file of files) {
        if (pathFilter(file) !== undefined) continue;
        const text = this.text(file);
        if (text === undefined && this.#tooLarge.has(file)) {
          // Too large to hold: scanned in chunks as `coffer scan` scans it, never skipped.
          try {
            const found = scanFile(this.#path(file), file, options);
            if (found === undefined) notScanned.push(unread(file, 'not a regular file'));
            else if (Array.isArray(found)) for (const f of found) all.push(f);
          } catch (err) {
            // Gone or changed since it was looked at: as for a file that cannot be read.
            if (typeof (err as NodeJS.ErrnoException).code !== 'string') throw err;
            const reason = unreadableReason(this.#path(file), err);
            if (reason !== undefined) notScanned.push(unread(file, reason));
          }
          continue;
        }
        if (text === undefined) {
          const reason = this.#unreadable.get(file);
          if (reason !== undefined) notScanned.push(unread(file, reason));
          continue;
        }
        if (text.slice(0, 8000).includes('\0')) {
          // Binary, unless UTF-16 with its byte order mark: the scanner reads that as text.
          const found = isUtf16(text) ? scanFile(this.#path(file), file, options) : undefined;
          if (Array.isArray(found)) for (const f of found) all.push(f);
          continue;
        }
        for (const f of scanText(text, file, options)) all.push(f);
      }
      const b = this.baseline();
      const index = b === undefined ? new Set<string>() : baselineIndex(b);
      return { findings: all.filter((f) => !isInBaseline(index, f)), all, unread: notScanned };
    });
  }

  /** Findings in git history (all of HEAD), the baseline's taken out; undefined without --history. */
  historyScan(): Promise<readonly Finding[] | undefined> {
    return this.#once('scan history', async () => {
      if (!this.history || !this.isGit()) return undefined;
      if (this.#git(['rev-parse', '--verify', '-q', 'HEAD']).status !== 0) return [];
      const matcher = await this.storedValues();
      const found = await scanHistory(this.root, undefined, { storedValues: matcher });
      const b = this.baseline();
      const index = b === undefined ? new Set<string>() : baselineIndex(b);
      return found.filter((f) => !isInBaseline(index, f));
    });
  }

  /**
   * One walk of the audit log: the last backup, and when each token was last used, from the
   * records the vault vouches for (audit/vouched.ts): a record edited in place never makes a
   * backup or a token's use up. `verified` false: the log does not verify, and nothing is
   * known (lifecycle/audit-verify reports why).
   */
  auditFacts(): Promise<
    { verified: boolean; lastBackup: string | undefined; tokenUse: Map<string, string> } | undefined
  > {
    return this.#once('audit walk', async () => {
      const vault = await this.vault();
      if (vault === undefined) return undefined;
      let lastBackup: string | undefined;
      const tokenUse = new Map<string, string>();
      const walk = await walkVouchedAudit(vault, {
        visit(r) {
          if (r.action === 'vault.backup' && r.outcome === 'ok') lastBackup = r.ts;
          if (r.actor.startsWith('token:') && r.outcome === 'ok') {
            const name = r.actor.slice(6).split('@')[0]!;
            tokenUse.set(name, r.ts);
          }
        },
        forget() {
          lastBackup = undefined;
          tokenUse.clear();
        },
      });
      return { verified: walk.verified, lastBackup, tokenUse };
    });
  }

  /** The rotation state (grace windows, key lists, incidents), or undefined without a vault. */
  rotationDoc(): Promise<RotationDoc | undefined> {
    return this.#once('rotation state', async () => {
      const vault = await this.vault();
      if (vault === undefined) return undefined;
      return vault.readTransaction((tx, keyring) => readRotationDoc(tx, keyring));
    });
  }

  /** Releases what the context holds (the stored values' matcher). */
  async close(): Promise<void> {
    if (this.#memo.has('vault values')) (await this.storedValues())?.wipe();
  }
}
