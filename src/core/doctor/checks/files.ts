/**
 * Files: the .env files are git-ignored (and docker-ignored beside a Dockerfile), the seed's
 * .gitignore entries are there, .env.example holds placeholders, no key or credential file
 * is tracked, .env, key and vault files are readable by their owner only, and no copy of the
 * master key or of a .env file was left behind by a killed coffer.
 */
import {
  chmodSync,
  existsSync,
  lstatSync,
  readdirSync,
  realpathSync,
  rmSync,
  type Stats,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import { exampleValueLooksReal } from '../../dotenv/example.js';
import { parseDotenvLines } from '../../dotenv/parse.js';
import {
  cofferTempFileWriter,
  fileMode,
  lockFileWriter,
  privateFileWriter,
  removeDeadLock,
  type Writer,
  writerFileOf,
  writerState,
} from '../../files.js';
import { keyFileCopyWriter } from '../../keys/master-key.js';
import { manifestEnvExample } from '../../manifest/example.js';
import { pathGlob } from '../../path-glob.js';
import { scanText } from '../../scan/scanner.js';
import type { DoctorContext } from '../context.js';
import { type Check, type Evidence, type Fix, type Unread, unread } from '../types.js';
import {
  appendLinesFix,
  base,
  isDotenvKeysFile,
  isEnvExample,
  isEnvFile,
  isSecretFile,
  needsContent,
  sh,
} from './util.js';

/** A directory listing's error code in words. */
function listError(code: string | undefined): string {
  return code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (code ?? 'error');
}

/** The `.gitignore` entries seed 004 requires, each with a file name it must cover. */
export const SEED_GITIGNORE: readonly { entry: string; probe: string }[] = [
  { entry: '.env', probe: '.env' },
  { entry: '.env.local', probe: '.env.local' },
  { entry: '.env.*.local', probe: '.env.production.local' },
  { entry: '*.pem', probe: 'coffer-doctor-probe.pem' },
  { entry: '*.key', probe: 'coffer-doctor-probe.key' },
  { entry: 'credentials.json', probe: 'credentials.json' },
  { entry: 'secrets.json', probe: 'secrets.json' },
];

const envIgnored: Check = {
  id: 'files/env-not-ignored',
  category: 'files',
  severity: 'error',
  title: '.env files are git-ignored',
  why: 'A .env file holds real secrets, and one that git does not ignore ends up in a commit, where it stays in history for good.',
  run(ctx) {
    if (!ctx.isGit()) return { evidence: [], skipped: 'not a git repository' };
    // A temp file a killed coffer write left (`.env.coffer-WRITER-HEX.tmp`) holds every secret
    // of its file: it is deleted, not ignored (the next write of its file deletes it too).
    const candidates = ctx
      .tree()
      .map((f) => ({ shown: f, path: join(ctx.root, f), writer: cofferTempFileWriter(base(f)) }));
    const strays = leftovers(candidates);
    const envFiles = candidates
      .filter((c) => c.writer === undefined && isEnvFile(c.shown))
      .map((c) => c.shown);
    const ignored = ctx.ignored(envFiles);
    const tracked = ctx.tracked();
    const evidence: Evidence[] = [];
    const toIgnore: string[] = [];
    const fixes: Fix[] = [];
    for (const f of envFiles) {
      if (tracked.has(f)) {
        evidence.push({
          file: f,
          message: isDotenvKeysFile(f)
            ? `${f} is tracked by git: its private decryption keys are in history, and with them every value of the encrypted .env files they open`
            : `${f} is tracked by git: its values are in history`,
        });
        fixes.push({
          description: `stop tracking ${f} (the file stays on disk), then treat its values as leaked`,
          command: `git rm --cached -- ${sh(f)} && coffer scan --history`,
        });
        toIgnore.push(`/${f}`);
      } else if (!ignored.has(f)) {
        evidence.push({
          file: f,
          message: isDotenvKeysFile(f)
            ? `${f} is not ignored by git: it holds the private keys of the encrypted .env files`
            : `${f} is not ignored by git`,
        });
        toIgnore.push(`/${f}`);
      }
    }
    if (toIgnore.length > 0) fixes.unshift(appendLinesFix(ctx.root, '.gitignore', toIgnore));
    for (const f of strays) {
      evidence.push({
        file: f.shown,
        message: f.otherHost
          ? `${f.shown} is a temp file of a coffer write on another host or in another container (the disk is shared): it holds secrets`
          : `${f.shown} is a temp file a coffer write left when it was killed: it holds secrets`,
      });
      fixes.push(deleteLeftover(f, 'coffer'));
    }
    // A directory the walk could not list may hold a .env file no check has seen.
    return { evidence, fixes, unread: ctx.treeOthers().unlisted };
  },
};

/** A file that may be one a coffer process left: `writer` says whose (undefined: not one). */
interface Candidate {
  readonly shown: string;
  readonly path: string;
  readonly writer: Writer | undefined;
}

/**
 * A file a coffer process left: its writer is gone, or of another host or PID namespace (a
 * container, a sandbox), whose pid cannot be told from here.
 */
interface Leftover {
  readonly shown: string;
  readonly path: string;
  readonly otherHost: boolean;
}

/**
 * The candidates whose writer is gone (core's rule, writerState: the one every sweep applies)
 * or of another host; a file of a writer of this host that still runs is being written.
 */
function leftovers(candidates: readonly Candidate[]): Leftover[] {
  const out: Leftover[] = [];
  for (const c of candidates) {
    if (c.writer === undefined) continue;
    const state = writerState(c.writer);
    if (state !== 'running')
      out.push({ shown: c.shown, path: c.path, otherHost: state === 'other-host' });
  }
  return out;
}

/**
 * Deleting a leftover: applied by --fix when its writer is gone; another host's (or another
 * PID namespace's) is only shown, as its writer may be running there (`who` is what writes
 * such files). A container that gets a new host name or PID namespace on each run never sees
 * an earlier run's files as its own: they are shown so, for the user to delete.
 */
function deleteLeftover(f: Leftover, who: string): Fix {
  if (f.otherHost) {
    return {
      description: `delete ${f.shown} once no ${who} runs on the host or in the container that wrote it`,
      command: `rm -- ${sh(f.shown)}`,
    };
  }
  return {
    description: `delete ${f.shown}`,
    command: `rm -- ${sh(f.shown)}`,
    apply: () => rmSync(f.path, { force: true }),
  };
}

const strayKeyCopy: Check = {
  id: 'files/stray-key-copy',
  category: 'files',
  severity: 'error',
  title: 'no copy of the master key is left beside the key file',
  why: 'A coffer init or restore killed while writing the key file leaves a copy of the master key under another name, which no backup, rotation or cleanup of the key file covers.',
  run(ctx) {
    if (ctx.vaultFiles.length === 0) return { evidence: [], skipped: 'no local key file' };
    const candidates: Candidate[] = [];
    const unreadDirs: Unread[] = [];
    for (const file of ctx.vaultFiles) {
      let names: string[];
      try {
        names = readdirSync(dirname(file));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // No directory, no copy; one that cannot be listed may hold one.
        if (code !== 'ENOENT' && code !== 'ENOTDIR') {
          unreadDirs.push(unread(`${dirname(file)}/`, `cannot list it (${listError(code)})`));
        }
        continue;
      }
      for (const name of names.sort()) {
        const path = join(dirname(file), name);
        candidates.push({ shown: path, path, writer: keyFileCopyWriter(name, basename(file)) });
      }
    }
    const evidence: Evidence[] = [];
    const fixes: Fix[] = [];
    for (const f of leftovers(candidates)) {
      evidence.push({
        file: f.shown,
        message: f.otherHost
          ? `${f.shown} is a copy of the master key made by a coffer init or restore on another host or in another container (the disk is shared)`
          : `${f.shown} is a copy of the master key a coffer init or restore left when it was killed`,
      });
      fixes.push(deleteLeftover(f, 'coffer init or restore'));
    }
    return { evidence, fixes, unread: unreadDirs };
  },
};

/** A vault being built beside its place: `vault.db.WRITER.HEX.tmp` and its SQLite journals. */
const VAULT_BUILD = String.raw`\.tmp(?:-wal|-shm|-journal)?`;

/**
 * The writer of `name` when it is the pid file of a lock (`NAME.lock.WRITER.HEX`, or of its
 * takeover, `NAME.lock.takeover.WRITER.HEX`), which a writer killed between making it and
 * linking it to the lock's name leaves behind.
 */
function lockPidFileWriter(name: string): Writer | undefined {
  const i = name.lastIndexOf('.lock.');
  if (i <= 0) return undefined;
  const lock = name.slice(0, i + 5);
  return privateFileWriter(name, lock, '') ?? privateFileWriter(name, `${lock}.takeover`, '');
}

/**
 * Is `name` the lock (`NAME.lock`) or the lock's takeover (`NAME.lock.takeover`) of a file
 * named `file` (or, with no `file`, of a .env file)? Only such names are read as locks: a
 * `yarn.lock` or `Cargo.lock` is no lock of coffer's.
 */
function isLockName(name: string, file?: string): boolean {
  const of = writerFileOf(name);
  if (of === undefined || (file !== undefined ? of !== file : !isEnvFile(of))) return false;
  return name === `${of}.lock` || name === `${of}.lock.takeover`;
}

const strayWriterFiles: Check = {
  id: 'files/stray-writer-files',
  category: 'files',
  severity: 'warning',
  title: 'no vault build, lock or lock pid file a killed coffer left',
  why: "A coffer init or restore killed while building the vault leaves a copy of it under another name, and a killed write leaves its lock (.env.lock) or the lock's pid file; one of this host goes with the next init or write, but one of another host or container stays until someone deletes it.",
  run(ctx) {
    const candidates: (Candidate & { kind: 'build' | 'pid' | 'lock' })[] = [];
    const unreadDirs: Unread[] = [];
    // Beside the vault and its key file: vault builds, and the pid files of their locks.
    for (const dir of [...new Set(ctx.vaultFiles.map((f) => dirname(f)))]) {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ENOTDIR') {
          unreadDirs.push(unread(`${dir}/`, `cannot list it (${listError(code)})`));
        }
        continue;
      }
      for (const name of names.sort()) {
        const path = join(dir, name);
        const build = ctx.vaultFiles
          .map((f) => privateFileWriter(name, basename(f), VAULT_BUILD))
          .find((w) => w !== undefined);
        if (build !== undefined)
          candidates.push({ shown: path, path, writer: build, kind: 'build' });
        const pid = lockPidFileWriter(name);
        if (pid !== undefined) candidates.push({ shown: path, path, writer: pid, kind: 'pid' });
        if (ctx.vaultFiles.some((f) => isLockName(name, basename(f)))) {
          const writer = lockFileWriter(path);
          if (writer !== undefined) candidates.push({ shown: path, path, writer, kind: 'lock' });
        }
      }
    }
    // In the project: the locks of .env writes (named by what they hold) and their pid files.
    for (const f of ctx.tree()) {
      const path = join(ctx.root, f);
      const pid = lockPidFileWriter(base(f));
      if (pid !== undefined) candidates.push({ shown: f, path, writer: pid, kind: 'pid' });
      if (isLockName(base(f))) {
        const writer = lockFileWriter(path);
        if (writer !== undefined) candidates.push({ shown: f, path, writer, kind: 'lock' });
      }
    }
    const kindOf = new Map(candidates.map((c) => [c.shown, c.kind]));
    const evidence: Evidence[] = [];
    const fixes: Fix[] = [];
    for (const f of leftovers(candidates)) {
      const kind = kindOf.get(f.shown);
      const build = kind === 'build';
      const what = build
        ? 'a vault a coffer init or restore was building'
        : kind === 'lock'
          ? 'the lock of a coffer write'
          : "a lock's pid file of a coffer write";
      evidence.push({
        file: f.shown,
        message: f.otherHost
          ? `${f.shown} is ${what} on another host or in another container (the disk is shared)`
          : `${f.shown} is ${what}, left when it was killed`,
      });
      const fix = deleteLeftover(f, build ? 'coffer init or restore' : 'coffer');
      // A lock's name is taken again by the next writer: removed as a writer takes it over,
      // after checking again that its writer is gone, never whatever holds the name by then.
      fixes.push(
        kind === 'lock' && fix.apply !== undefined
          ? { ...fix, apply: () => removeDeadLock(f.path) }
          : fix,
      );
    }
    return { evidence, fixes, unread: unreadDirs };
  },
};

const envPresent: Check = {
  id: 'files/env-missing',
  category: 'files',
  severity: 'info',
  title: 'a .env file exists for local development',
  why: 'The seed sets up development from .env.example copied to .env; without it the app reads its secrets from somewhere less controlled.',
  run(ctx) {
    const hasExample = existsSync(join(ctx.root, '.env.example'));
    const manifestUnread = ctx.manifestUnread();
    if (ctx.manifest() === undefined && !hasExample) {
      if (manifestUnread !== undefined) return { evidence: [], unread: [manifestUnread] };
      return {
        evidence: [],
        skipped: 'no coffer.yaml or .env.example: nothing says a .env is needed',
      };
    }
    // dotenvx's .env.keys holds the keys of encrypted .env files, no environment of its own.
    const appEnv = (f: string) => !f.includes('/') && isEnvFile(f) && !isDotenvKeysFile(f);
    if (ctx.tree().some(appEnv)) return { evidence: [] };
    // A link named .env is one (read through); a FIFO or a dangling link is there, unread.
    const special = ctx.treeOthers().special.filter(appEnv);
    const notRead = ctx.unreadOf(special);
    if (special.length > notRead.length) return { evidence: [] };
    if (notRead.length > 0) return { evidence: [], unread: notRead };
    return {
      evidence: [{ file: '.env', message: 'no .env file in the project directory' }],
      fixes: [
        {
          description: 'write .env from the vault (0600, git-ignored)',
          command: ctx.manifest() ? 'coffer setup --env dev --write-env' : 'coffer env pull',
        },
      ],
    };
  },
};

/**
 * Does a .dockerignore text exclude a path? Patterns are relative to the context's root, a
 * directory's pattern covers its contents, and the last matching pattern wins (`!` takes a
 * path back). A pattern that is no glob is skipped.
 */
function dockerIgnores(text: string, path: string): boolean {
  let out = false;
  for (const raw of text.split(/\r?\n/)) {
    let p = raw.trim();
    if (p === '' || p.startsWith('#')) continue;
    const negate = p.startsWith('!');
    if (negate) p = p.slice(1);
    p = p.replace(/^\/+/, '').replace(/\/+$/, '');
    let matches: boolean;
    try {
      matches = pathGlob(p, { contents: true }).test(path);
    } catch {
      continue;
    }
    if (matches) out = !negate;
  }
  return out;
}

const dockerignore: Check = {
  id: 'files/env-not-dockerignored',
  category: 'files',
  severity: 'warning',
  title: '.env files are docker-ignored where a Dockerfile builds the directory',
  why: 'A Dockerfile that copies its directory copies .env into the image, and everyone who pulls the image gets the secrets.',
  run(ctx) {
    const dockerfiles = ctx
      .tree()
      .filter((f) => /^(?:Dockerfile|Containerfile)(?:\..+)?$|\.Dockerfile$/.test(base(f)));
    if (dockerfiles.length === 0) return { evidence: [], skipped: 'no Dockerfile' };
    const dirs = [
      ...new Set(dockerfiles.map((f) => (f.includes('/') ? f.slice(0, f.lastIndexOf('/')) : ''))),
    ];
    const evidence: Evidence[] = [];
    const fixes: Fix[] = [];
    const unreadFiles: Unread[] = [];
    for (const dir of dirs) {
      const file = dir === '' ? '.dockerignore' : `${dir}/.dockerignore`;
      const reason = ctx.unreadable(file);
      if (reason !== undefined) {
        // There, but not read: whether it excludes .env is unknown (and it cannot be appended to).
        unreadFiles.push(unread(file, reason));
        continue;
      }
      const text = ctx.text(file) ?? '';
      const missing = ['.env', '.env.local', '.env.production'].filter(
        (p) => !dockerIgnores(text, p),
      );
      if (missing.length === 0) continue;
      evidence.push({
        file,
        message: `${file} ${text === '' ? 'is missing' : 'does not exclude'} ${missing.join(', ')} from the build context`,
      });
      fixes.push(appendLinesFix(ctx.root, file, ['.env', '.env.*', '*.pem', '*.key']));
    }
    return { evidence, fixes, unread: unreadFiles };
  },
};

const gitignoreEntries: Check = {
  id: 'files/gitignore-entries',
  category: 'files',
  severity: 'warning',
  title: "the seed's .gitignore entries are present",
  why: 'The seed lists .env, .env.local, .env.*.local, *.pem, *.key, credentials.json and secrets.json as required entries, so a new secret file is never committed by accident.',
  run(ctx) {
    if (!ctx.isGit()) return { evidence: [], skipped: 'not a git repository' };
    const covered = ctx.coveredByIgnoreRules(SEED_GITIGNORE.map((e) => e.probe));
    const missing = SEED_GITIGNORE.filter((e) => !covered.has(e.probe));
    if (missing.length === 0) return { evidence: [] };
    return {
      evidence: missing.map((m) => ({ file: '.gitignore', message: `no entry covers ${m.entry}` })),
      fixes: [
        appendLinesFix(
          ctx.root,
          '.gitignore',
          missing.map((m) => m.entry),
        ),
      ],
    };
  },
};

const exampleValues: Check = {
  id: 'files/env-example-values',
  category: 'files',
  severity: 'error',
  title: '.env.example holds placeholders, not real secrets',
  why: '.env.example is committed and shared, so it must hold placeholder values, not real secrets.',
  async run(ctx) {
    const matcher = await ctx.storedValues();
    const evidence: Evidence[] = [];
    // Links and FIFOs named so too: a link is read through, anything else is reported unread.
    const files = [...ctx.tree(), ...ctx.treeOthers().special].filter(isEnvExample).sort();
    for (const file of files) {
      const text = ctx.text(file);
      if (text === undefined) continue;
      const found = scanText(text, file, { storedValues: matcher });
      const proven = new Set(
        found
          .filter(
            (f) =>
              f.keyPath !== undefined ||
              (f.ruleId !== 'generic-secret' && f.ruleId !== 'url-password'),
          )
          .map((f) => f.line),
      );
      const generic = new Set(found.map((f) => f.line));
      for (const e of parseDotenvLines(text)) {
        if (e.kind !== 'pair') continue;
        const at = text.slice(0, e.start).split('\n').length;
        if (proven.has(at) || exampleValueLooksReal(e.key, e.value, generic.has(at))) {
          evidence.push({ file, line: at, message: `${e.key} holds what looks like a real value` });
        }
      }
    }
    const fixes: Fix[] =
      evidence.length === 0
        ? []
        : [
            {
              description:
                'replace the values with placeholders, then treat them as leaked (rotate them)',
              command: ctx.manifest()
                ? 'coffer env example --from-manifest -o .env.example'
                : 'coffer env example -f .env.example -o .env.example.new && mv .env.example.new .env.example',
            },
          ];
    return { evidence, fixes, unread: ctx.unreadOf(files) };
  },
};

const exampleMissing: Check = {
  id: 'files/env-example-missing',
  category: 'files',
  severity: 'info',
  title: 'a project with a manifest has a .env.example',
  why: 'The seed commits .env.example so each developer knows which variables to set, with placeholders instead of values.',
  run(ctx) {
    const manifest = ctx.manifest();
    const manifestUnread = ctx.manifestUnread();
    if (manifestUnread !== undefined) return { evidence: [], unread: [manifestUnread] };
    if (manifest === undefined) return { evidence: [], skipped: 'no coffer.yaml' };
    if (existsSync(join(ctx.root, '.env.example'))) return { evidence: [] };
    return {
      evidence: [{ file: '.env.example', message: 'no .env.example beside coffer.yaml' }],
      fixes: [
        {
          description: 'write .env.example from coffer.yaml (placeholders only)',
          command: 'coffer env example --from-manifest',
          apply: () => {
            const path = join(ctx.root, '.env.example');
            if (!existsSync(path))
              writeFileSync(path, manifestEnvExample(manifest), { flag: 'wx' });
          },
        },
      ],
    };
  },
};

const trackedSecretFiles: Check = {
  id: 'files/secret-files-tracked',
  category: 'files',
  severity: 'error',
  title: 'no key or credential file is tracked by git',
  why: 'The seed never commits *.pem, *.key, credentials.json or secrets.json: a committed key is a leaked key.',
  run(ctx) {
    if (!ctx.isGit()) return { evidence: [], skipped: 'not a git repository' };
    const evidence: Evidence[] = [];
    const fixes: Fix[] = [];
    const unreadFiles: Unread[] = [];
    for (const f of ctx.tracked()) {
      if (!isSecretFile(f, () => ctx.text(f))) {
        // A .pem is told by its content: one not read may be a private key.
        const reason = needsContent(f) ? ctx.unreadable(f) : undefined;
        if (reason !== undefined) unreadFiles.push(unread(f, reason));
        continue;
      }
      evidence.push({
        file: f,
        message: `${f} looks like a key or credential file and is tracked`,
      });
      fixes.push({
        description: `stop tracking ${f}, ignore it, and rotate what it holds`,
        command: `git rm --cached -- ${sh(f)} && echo ${sh(`/${f}`)} >> .gitignore`,
      });
    }
    return { evidence, fixes, unread: unreadFiles };
  },
};

const modes: Check = {
  id: 'files/modes',
  category: 'files',
  severity: 'warning',
  title: '.env, key and vault files are readable by their owner only',
  why: 'A secrets file that other users of the machine can read is shared with them; coffer writes its own files 0600.',
  run(ctx) {
    if (process.platform === 'win32')
      return { evidence: [], skipped: 'file modes are not POSIX here' };
    // A .pem that cannot be read (so may be a private key) has its mode checked all the same:
    // that takes no reading.
    const candidates = ctx
      .tree()
      .filter(
        (f) =>
          isEnvFile(f) ||
          isSecretFile(f, () => ctx.text(f)) ||
          (needsContent(f) && ctx.unreadable(f) !== undefined),
      )
      .map((f) => ({ shown: f, path: join(ctx.root, f) }));
    for (const p of ctx.vaultFiles) candidates.push({ shown: p, path: p });
    const evidence: Evidence[] = [];
    const fixes: Fix[] = [];
    for (const c of candidates) {
      const mode = fileMode(c.path);
      if (mode === undefined || (mode & 0o077) === 0) continue;
      evidence.push({
        file: c.shown,
        message: `${c.shown} has mode ${mode.toString(8).padStart(4, '0')}: others can read it`,
      });
      fixes.push({
        description: `chmod 600 ${c.shown}`,
        command: `chmod 600 ${sh(c.shown)}`,
        apply: () => chmodSync(c.path, (mode & 0o700) | 0o600),
      });
    }
    return { evidence, fixes };
  },
};

/** A .env file of the tree that is a symbolic link, and the file it leads to (all links followed). */
interface EnvLink {
  readonly shown: string;
  readonly target: string;
}

/**
 * The .env files that are links to a file (the walk's other entries): a dangling one, or one
 * in a loop, leads nowhere (files/env-missing reports a .env that cannot be read).
 */
function envLinks(ctx: DoctorContext): EnvLink[] {
  const out: EnvLink[] = [];
  for (const f of ctx.treeOthers().special) {
    if (!isEnvFile(f)) continue;
    const path = join(ctx.root, f);
    try {
      if (!lstatSync(path).isSymbolicLink()) continue;
      out.push({ shown: f, target: realpathSync(path) });
    } catch {
      // Dangling, a loop, or gone meanwhile: nothing it leads to.
    }
  }
  return out;
}

const REPLACE_LINK = (f: string): Fix => ({
  description: `replace the link ${f} with a file of the project's own (0600, git-ignored), e.g. written from the vault`,
  command: `rm -- ${sh(f)} && coffer env pull`,
});

const envLinkOutside: Check = {
  id: 'files/env-link-outside',
  category: 'files',
  severity: 'warning',
  title: '.env files are not links out of the project',
  why: "A .env that links out of the project keeps its secrets where none of the project's checks (ignore rules, modes, scans) look, coffer does not write through it, and a cloned repository can ship such a link to have programs load another of your files as their environment.",
  run(ctx) {
    let root: string;
    try {
      root = realpathSync(ctx.root);
    } catch {
      root = ctx.root;
    }
    const evidence: Evidence[] = [];
    const fixes: Fix[] = [];
    for (const l of envLinks(ctx)) {
      const rel = relative(root, l.target);
      if (rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)) continue;
      // Where it leads is not said (a report is shared; the link is the place to look).
      evidence.push({
        file: l.shown,
        message: `${l.shown} is a symbolic link to a file outside the project`,
      });
      fixes.push(REPLACE_LINK(l.shown));
    }
    return { evidence, fixes };
  },
};

/**
 * Why another user can write `file` (its stat `s`) or put another file in its place, or
 * undefined: it is owned by another user (root excepted), its group or everyone may write
 * it, or its directory may be written by another user (without the sticky bit, which keeps
 * others from removing or renaming what is not theirs).
 */
function writableByOthers(file: string, s: Stats, uid: number): string | undefined {
  if (s.uid !== uid && s.uid !== 0) return 'it belongs to another user';
  if ((s.mode & 0o002) !== 0) return 'anyone can write it';
  if ((s.mode & 0o020) !== 0) return 'its group can write it';
  let dir: Stats;
  try {
    dir = statSync(dirname(file));
  } catch {
    return undefined;
  }
  if ((dir.mode & 0o1000) !== 0) return undefined;
  if (dir.uid !== uid && dir.uid !== 0) return 'its directory belongs to another user';
  if ((dir.mode & 0o022) !== 0) return 'others can write its directory';
  return undefined;
}

const envLinkWritable: Check = {
  id: 'files/env-link-writable',
  category: 'files',
  severity: 'error',
  title: '.env files do not link to a file another user can write',
  why: 'Whoever can write the file a .env links to decides what your programs load as their environment: NODE_OPTIONS or LD_PRELOAD run their code as you, a changed DATABASE_URL sends your data to them.',
  run(ctx) {
    const uid = process.getuid?.();
    if (uid === undefined) return { evidence: [], skipped: 'file owners are not POSIX here' };
    const evidence: Evidence[] = [];
    const fixes: Fix[] = [];
    for (const l of envLinks(ctx)) {
      let s: Stats;
      try {
        s = statSync(l.target);
      } catch {
        continue;
      }
      const why = writableByOthers(l.target, s, uid);
      if (why === undefined) continue;
      evidence.push({
        file: l.shown,
        message: `${l.shown} is a symbolic link to a file another user can write (${why})`,
      });
      fixes.push(REPLACE_LINK(l.shown));
    }
    return { evidence, fixes };
  },
};

export const FILE_CHECKS: readonly Check[] = [
  envIgnored,
  envPresent,
  dockerignore,
  gitignoreEntries,
  exampleValues,
  exampleMissing,
  trackedSecretFiles,
  modes,
  strayKeyCopy,
  strayWriterFiles,
  envLinkOutside,
  envLinkWritable,
];

export type { DoctorContext };
