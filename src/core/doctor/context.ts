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
import { isAbsolute, join } from 'node:path';
import { cpuUsage } from 'node:process';
import { walkAudit } from '../audit/head-state.js';
import { childEnvironment } from '../inject/child-env.js';
import { findManifestFile, loadManifest } from '../manifest/load.js';
import type { Manifest } from '../manifest/model.js';
import { READ_LIMITS, readRegularFileLimited, TooLargeError } from '../read-limited.js';
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
    const r = spawnSync('git', [...GIT_OPTIONS, ...args], {
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
    return this.#once('walk', () => {
      const out: string[] = [];
      const walk = (dir: string, rel: string) => {
        let entries: Dirent[];
        try {
          entries = readdirSync(dir, { withFileTypes: true });
        } catch {
          return;
        }
        for (const e of entries) {
          if (e.name === '.git' || e.name === 'node_modules') continue;
          const r = rel === '' ? e.name : `${rel}/${e.name}`;
          if (e.isDirectory()) walk(join(dir, e.name), r);
          else if (e.isFile()) out.push(r);
        }
      };
      walk(this.root, '');
      return out.sort();
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
   * A file's text (relative to the root, or absolute), undefined when it cannot be read: when
   * it is not a regular file (a FIFO or a device, never read: a clone can commit a link to
   * one), or is larger than `readLimit` (READ_LIMITS.doctorFile), as for a missing file.
   */
  text(file: string): string | undefined {
    if (this.#texts.has(file)) return this.#texts.get(file);
    let t: string | undefined;
    try {
      t = readRegularFileLimited(
        this.#path(file),
        this.#options.readLimit ?? READ_LIMITS.doctorFile,
        'a file coffer doctor reads',
      )?.toString('utf8');
    } catch (err) {
      if (err instanceof TooLargeError) this.#tooLarge.add(file);
      t = undefined;
    }
    this.#texts.set(file, t);
    return t;
  }

  /** The manifest (coffer.yaml) of the project, or undefined (also when it does not parse). */
  manifest(): Manifest | undefined {
    return this.#once('manifest', () => {
      const file = findManifestFile(this.root);
      if (file === undefined) return undefined;
      try {
        return loadManifest(file);
      } catch {
        return undefined;
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

  /** The scanner baseline (`.secrets.baseline`), or undefined. */
  baseline(): Baseline | undefined {
    return this.#once('baseline', () => {
      const text = this.text(BASELINE_FILE);
      if (text === undefined) return undefined;
      try {
        return parseBaseline(text, BASELINE_FILE);
      } catch {
        return undefined;
      }
    });
  }

  /** Findings in the files git would commit, the baseline's taken out; stored values too. */
  scan(): Promise<{ findings: readonly Finding[]; all: readonly Finding[] }> {
    return this.#once('scan work tree', async () => {
      const files = this.committable();
      const matcher = await this.storedValues();
      const options = { storedValues: matcher };
      const all: Finding[] = [];
      for (const file of files) {
        if (pathFilter(file) !== undefined) continue;
        const text = this.text(file);
        if (text === undefined && this.#tooLarge.has(file)) {
          // Too large to hold: scanned in chunks as `coffer scan` scans it, never skipped.
          try {
            for (const f of scanFile(this.#path(file), file, options) ?? []) all.push(f);
          } catch (err) {
            // Gone or changed since it was looked at: as for a file that cannot be read.
            if (typeof (err as NodeJS.ErrnoException).code !== 'string') throw err;
          }
          continue;
        }
        if (text === undefined || text.slice(0, 8000).includes('\0')) continue;
        for (const f of scanText(text, file, options)) all.push(f);
      }
      const b = this.baseline();
      const index = b === undefined ? new Set<string>() : baselineIndex(b);
      return { findings: all.filter((f) => !isInBaseline(index, f)), all };
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

  /** One walk of the audit log: the last backup, and when each token was last used. */
  auditFacts(): Promise<
    { lastBackup: string | undefined; tokenUse: Map<string, string> } | undefined
  > {
    return this.#once('audit walk', async () => {
      const vault = await this.vault();
      if (vault === undefined) return undefined;
      return vault.readTransaction(async (tx) => {
        let lastBackup: string | undefined;
        const tokenUse = new Map<string, string>();
        await walkAudit(tx, 0, (r) => {
          if (r.action === 'vault.backup' && r.outcome === 'ok') lastBackup = r.ts;
          if (r.actor.startsWith('token:') && r.outcome === 'ok') {
            const name = r.actor.slice(6).split('@')[0]!;
            tokenUse.set(name, r.ts);
          }
          return true;
        });
        return { lastBackup, tokenUse };
      });
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
