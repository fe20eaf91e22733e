/**
 * `coffer run -- CMD ARGS...`: starts a program with a project's secrets in its environment.
 * Nothing is written to disk and no value goes into the child's argv. Signals are forwarded
 * and the exit status passes through (128 + signal number when the child was killed).
 *
 * Precedence: a variable already set in coffer's own environment wins over the vault (as
 * dotenv does), so `FOO=local coffer run -- app` can override one value; `--override` makes
 * the vault win instead.
 *
 * What the child gets is decided in core (core/inject): coffer's own credentials are withheld
 * (`--pass-env` passes one on), names that change how programs load code are refused unless
 * allowed on this machine (`--allow-env-name`, the project file), and a stored value the OS
 * cannot carry (a NUL) is skipped with a warning that names it.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { isatty } from 'node:tty';
import type { Command, Option } from 'commander';
import { readDotenvFile } from '../../core/dotenv/write.js';
import { CofferError } from '../../core/errors.js';
import { parsePassEnv, runEnvironment } from '../../core/inject/index.js';
import type { RunSecret } from '../../core/inject/run-env.js';
import { dotenvReferenceSecrets } from '../../core/references/dotenv-refs.js';
import { resolveDerived } from '../../core/references/resolve.js';
import { runPurpose } from '../../core/rotation/places.js';
import { projectVariables } from '../../core/service/project-variables.js';
import { action, type CommonOptions } from '../action.js';
import { type OutputChannel, openOutputChannels, sameDestination } from '../child-output.js';
import { openService } from '../context.js';
import { envHelp, envOf } from '../env-option.js';
import { exitWhenDone } from '../exit.js';
import { onPath } from '../on-path.js';
import { rawStdout, stdoutMade, warn } from '../output.js';
import { allowedEnvNames, collect, resolveProject } from '../project-file.js';
import { withSuggestions } from '../suggestions.js';

interface RunOptions extends CommonOptions {
  project?: string;
  dotenv?: string;
  override?: boolean;
  mask?: boolean;
  allowEnvName?: string[];
  passEnv?: string[];
}

/**
 * Signals passed on to the program, SIGUSR1 included (coffer itself never opens Node's
 * debugger on it: bin.ts listens for it from the start). SIGINT and SIGQUIT from a terminal (Ctrl-C, Ctrl-\\) reach the
 * program directly, since it is in coffer's foreground process group: passing them on as
 * well would deliver each twice (a second Ctrl-C means "force quit" to many programs).
 */
const FORWARDED: NodeJS.Signals[] = [
  'SIGINT',
  'SIGTERM',
  'SIGHUP',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
];
const FROM_TERMINAL = new Set<NodeJS.Signals>(['SIGINT', 'SIGQUIT']);
/**
 * A program ended by one of these: coffer ends by the same signal, so that a shell sees what
 * it would see without coffer (a loop stops on Ctrl-C: bash treats exit 130 from a program
 * that handled SIGINT as "go on"). Others (SIGPIPE, which Node ignores; SIGUSR1; faults) end
 * coffer with 128+n.
 */
const RERAISED = new Set<string>([
  'SIGINT',
  'SIGTERM',
  'SIGHUP',
  'SIGQUIT',
  'SIGKILL',
  'SIGUSR2',
  'SIGALRM',
]);
/** Shortest value masked (core/redact's MIN_REDACTION_LENGTH; a cheap upper-bound check here). */
const MIN_MASK_LENGTH = 4;

/**
 * Whether coffer is in the foreground process group of its controlling terminal, where the
 * terminal itself sends Ctrl-C and Ctrl-\\ to coffer and the program alike (whatever its
 * stdin and stdout are: `coffer run -- prog </dev/null >log` too). Read from /proc/self/stat
 * (tty, pgrp and tpgid) when the signal comes; where there is no /proc, any of stdin, stdout
 * and stderr being a terminal is taken to mean the foreground. A `kill -INT` sent to a coffer
 * in the foreground of a terminal is then not passed on (there is no telling it from
 * Ctrl-C); in the background, without a terminal, and for SIGTERM, signals always are.
 */
function terminalForeground(): boolean {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const [pgrp, ttyNr, tpgid] = [Number(fields[2]), Number(fields[4]), Number(fields[5])];
    return ttyNr !== 0 && tpgid === pgrp;
  } catch {
    return isatty(0) || isatty(1) || isatty(2);
  }
}

/** Resolves once coffer's own stdout and stderr have written everything given to them. */
function drained(): Promise<void> {
  const flushed = (s: NodeJS.WriteStream) =>
    new Promise<void>((done) => {
      if (s.destroyed || s.writableLength === 0) done();
      else s.write('', () => done());
    });
  return Promise.all([
    ...(stdoutMade() ? [flushed(process.stdout)] : []),
    flushed(process.stderr),
  ]).then(() => undefined);
}

export function runCommand(program: Command): void {
  program
    .command('run')
    .description("run a program with a project's secrets in its environment")
    .argument('<command...>', 'the program and its arguments, after --')
    .option('-p, --project <name>', 'project (default: from .coffer or coffer.yaml)')
    .option('-e, --env <env>', envHelp())
    .option(
      '-f, --dotenv <file>',
      'inject the variables of this .env file, resolving coffer:// references (instead of a project)',
    )
    .option('--override', 'vault values replace variables already set in the environment')
    .option(
      '--mask',
      "replace secret values in the program's output with [REDACTED], also on a terminal",
    )
    .option('--no-mask', "leave the program's output untouched, also when it is captured")
    .option(
      '--allow-env-name <NAME>',
      'let a secret set NAME although it changes how programs load code (repeatable)',
      collect,
    )
    .option(
      '--pass-env <NAME>',
      "pass coffer's own credential variable NAME (e.g. COFFER_TOKEN) to the program (repeatable)",
      collect,
    )
    .addHelpText(
      'after',
      `
Variables already set in the environment win over the vault unless --override is given.
coffer's own credentials (COFFER_MASTER_KEY, COFFER_PASSPHRASE, COFFER_TOKEN,
COFFER_DATABASE_URL, COFFER_BACKUP_PASSPHRASE, COFFER_KEY_FILE) are not passed to the program unless --pass-env names
them. A secret whose variable would change how programs load code (NODE_OPTIONS, LD_PRELOAD,
PATH, ...: see docs/injection.md) stops the run unless --allow-env-name or allow_env_names in
the project file allows it.
When stdout or stderr is not a terminal (a pipe, a file, an agent's shell, a CI log), what
the program writes there is masked: every injected value of 4 characters or more, also
JSON-escaped, URL-encoded, base64 and hex, becomes [REDACTED]. On a terminal the program
keeps its terminal, untouched. Each stream is decided on its own; --mask / --no-mask force
either. Both into one place (2>&1) keep their order: the program gets one channel for both
(where coffer cannot make its socket it falls back to a pipe each, and that order is lost).
Masking is a seatbelt, not a sandbox: a program that transforms a value otherwise
before printing it is not caught (see SECURITY.md). When the reader of masked output goes
away (| head -1), the program is stopped as by a closed pipe: SIGPIPE, and EPIPE on its next
write if it ignores that signal; coffer exits with the program's status.
The project comes from --project or from a .coffer file (project=NAME) or coffer.yaml
(project: NAME) in this directory or a parent. That file's env= and allow_env_names apply
only to the project it names: with --project naming another, neither does (its environment
is then --env, else COFFER_ENV, else dev). --env and COFFER_ENV always win over env=.

Examples:
  coffer run --project consilio -- npm start
  coffer run --env prod -- node scripts/migrate.js > migrate.log   # values masked in the log
  coffer run --no-mask -- ./print-config.sh | less                # values shown
  coffer run --dotenv .env.refs -- npm start    # STRIPE_KEY=coffer://project/shop/stripe_key
  echo project=consilio > .coffer && coffer run -- npm test`,
    )
    .action(
      action<RunOptions>(async (argv, opts, g) => {
        const [cmd, ...args] = argv;
        if (cmd === undefined)
          throw new CofferError('USAGE', 'no command given: coffer run -- CMD ARGS...');
        const found =
          opts.dotenv !== undefined && opts.project === undefined
            ? { project: undefined }
            : await withSuggestions(g, { kind: 'project', input: opts.project ?? '' }, async () =>
                resolveProject(opts.project),
              );
        const env = envOf(opts, found.project);
        const passEnv = parsePassEnv(opts.passEnv ?? []);
        const allowNames =
          found.project === undefined
            ? allowedEnvNames('', opts.allowEnvName)
            : allowedEnvNames(found.project, opts.allowEnvName);
        if (opts.dotenv !== undefined && !existsSync(opts.dotenv)) {
          // Running without the references the user named would start the program without
          // its secrets, silently.
          throw new CofferError(
            'FILE_NOT_FOUND',
            `no file ${opts.dotenv} to read references from`,
            {
              hint: 'Check the --dotenv path (a file of KEY=coffer://... lines).',
            },
          );
        }
        const refsText = opts.dotenv === undefined ? undefined : readDotenvFile(opts.dotenv);
        // isatty, not process.stdout.isTTY: that would build both streams before the spawn,
        // where a masked run builds them after it (while the program starts) and an
        // unmasked one never.
        const masked = { stdout: opts.mask ?? !isatty(1), stderr: opts.mask ?? !isatty(2) };
        // `2>&1` (an agent's shell, a CI log): one channel for both, so that what the program
        // writes to each keeps its order, as it would without coffer in between.
        const merged = masked.stdout && masked.stderr && sameDestination(1, 2);
        // Made while the vault is read (the handshake needs only a few turns of the loop).
        const channels =
          masked.stdout || masked.stderr
            ? openOutputChannels(merged ? 1 : Number(masked.stdout) + Number(masked.stderr))
            : undefined;
        let backend: Awaited<ReturnType<typeof openService>>;
        try {
          backend = await openService(g);
        } catch (err) {
          closeChannels(await channels);
          throw err;
        }
        let secrets: RunSecret[];
        // The values derived values are made of, read while resolving them.
        const inputs: string[] = [];
        try {
          const fromProject: RunSecret[] =
            found.project === undefined
              ? []
              : await projectVariables(backend, found.project, env, runPurpose(cmd));
          const fromFile =
            refsText === undefined
              ? []
              : await dotenvReferenceSecrets(
                  { getMany: (r) => backend.getMany(r) },
                  refsText,
                  opts.dotenv!,
                  env,
                  { ...process.env, COFFER_ENV: env },
                  inputs,
                );
          // The file's variables win over the project's of the same name.
          const named = new Set(fromFile.map((s) => s.envVar));
          // A derived value (`{{ coffer://... }}` in a stored value) is resolved, as export does.
          secrets = await resolveDerived(
            { getMany: (r) => backend.getMany(r) },
            [...fromProject.filter((s) => !named.has(s.envVar)), ...fromFile],
            env,
            inputs,
          );
        } catch (err) {
          closeChannels(await channels);
          await backend.close();
          throw err;
        }
        let plan: Awaited<ReturnType<typeof runEnvironment>>;
        try {
          plan = await runEnvironment(secrets, process.env, {
            override: opts.override === true,
            allowNames,
            passEnv,
            audit: { action: 'run', env, deny: (a, t, r) => backend.denied(a, t, r) },
          });
        } catch (err) {
          closeChannels(await channels);
          await backend.close();
          throw err;
        } finally {
          secrets.length = 0;
        }
        for (const s of plan.skipped) warn(`not setting ${s.name} (${s.path}): ${s.reason}`);
        // Masked too: what derived values are made of (a program may print the part it
        // parses out of a URL).
        const values = [...plan.values, ...inputs];
        inputs.length = 0;
        const childEnv = plan.env;
        // The reads and their audit records are committed; closing the vault (a WAL
        // checkpoint) overlaps with the child's start-up instead of delaying it.
        return runChild(
          cmd,
          args,
          childEnv,
          plan.values.length,
          { values, ...masked, merged, channels },
          backend.close,
        );
      }),
    );
}

/**
 * `coffer run node -e '...'` or `coffer run ls -la` without `--`: commander would read `-e`
 * as coffer's --env (or refuse `-la` as unknown), so the program never gets its options.
 * Returns the usage error that says to put `--` before the program, or undefined when argv
 * (the arguments after `run`) is unambiguous. `options` are run's and the global ones.
 * Only the program's name is shown, never its arguments (they may hold a secret).
 */
export function missingSeparator(
  args: readonly string[],
  options: readonly Option[],
): CofferError | undefined {
  const find = (flag: string) => options.find((o) => o.long === flag || o.short === flag);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return undefined;
    if (a.startsWith('-') && a !== '-') {
      const flag = a.includes('=') ? a.slice(0, a.indexOf('=')) : a;
      const attached = !a.startsWith('--') && a.length > 2; // -pconsilio
      const option = find(flag) ?? (attached ? find(a.slice(0, 2)) : undefined);
      // An unknown option before the program: commander reports it.
      if (option === undefined) return undefined;
      if ((option.required || option.optional) && flag === a && !attached) i++;
      continue;
    }
    const rest = args.slice(i + 1);
    const end = rest.indexOf('--');
    const before = end < 0 ? rest : rest.slice(0, end);
    if (!before.some((r) => r.startsWith('-') && r !== '-')) return undefined;
    return new CofferError('USAGE', `put -- before the program: coffer run [options] -- ${a} ...`, {
      hint: `Without --, the options after ${a} are read as coffer's own (-e is coffer's --env). coffer's options go before --, the program and all its arguments after it.`,
    });
  }
  return undefined;
}

/** Which of the child's output streams are masked, the values to mask, and where it writes. */
interface Masking {
  values: string[];
  stdout: boolean;
  stderr: boolean;
  /** Both are masked and go to the same place: one channel takes both, written to stdout. */
  merged: boolean;
  /**
   * One channel for each masked stream (stdout first; one in all when merged), or undefined
   * to use pipes.
   */
  channels: Promise<OutputChannel[] | undefined> | undefined;
}

function closeChannels(channels: OutputChannel[] | undefined): void {
  for (const c of channels ?? []) c.close();
}

/**
 * The refusal of a program whose environment and arguments the system will not take (E2BIG):
 * how many variables and KiB coffer put there, never a value.
 */
function tooBig(cmd: string, env: Record<string, string>, injected: number): CofferError {
  let bytes = 0;
  for (const [k, v] of Object.entries(env))
    bytes += Buffer.byteLength(k) + Buffer.byteLength(v) + 2;
  return new CofferError(
    'IO_ERROR',
    `cannot start ${cmd}: its environment (${Math.ceil(bytes / 1024)} KiB, ${injected} variables from the vault) and arguments are larger than this system allows (E2BIG)`,
    {
      hint: 'Keep large values (files, certificate bundles) out of the project the program runs with, or give them to it another way (coffer inject into a file).',
    },
  );
}

async function runChild(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  /** How many variables the vault gave (for the E2BIG refusal). */
  injected: number,
  masking: Masking,
  afterSpawn: () => Promise<void>,
): Promise<number> {
  // No value long enough to be masked: nothing to pipe through coffer.
  const any = masking.values.some((v) => v.length >= MIN_MASK_LENGTH);
  const maskOut = any && masking.stdout;
  const maskErr = any && masking.stderr;
  const opened = await masking.channels;
  if (!any) closeChannels(opened);
  const outCh = maskOut ? opened?.[0] : undefined;
  const errCh = maskErr ? opened?.[masking.merged ? 0 : masking.stdout ? 1 : 0] : undefined;
  const stdio = (masked: boolean, ch: OutputChannel | undefined) =>
    masked ? (ch?.childEnd ?? 'pipe') : 'inherit';
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(cmd, args, {
      env,
      stdio: ['inherit', stdio(maskOut, outCh), stdio(maskErr, errCh)],
    });
  } catch (err) {
    closeChannels(opened);
    await afterSpawn();
    // Node throws E2BIG (the kernel's limit on a program's arguments and environment
    // together, 2 MiB on Linux by default) instead of reporting it as an 'error' event.
    if ((err as NodeJS.ErrnoException).code === 'E2BIG') throw tooBig(cmd, env, injected);
    throw err;
  } finally {
    // The child has its own copies of its ends: coffer's are closed, so that the child's
    // exit (and its children's) is the end of what coffer reads.
    outCh?.childEnd.destroy();
    errCh?.childEnd.destroy();
  }
  const forward = (sig: NodeJS.Signals) => () => {
    if (FROM_TERMINAL.has(sig) && terminalForeground()) return;
    child.kill(sig);
  };
  const handlers = FORWARDED.map((sig) => [sig, forward(sig)] as const);
  let endedBy: NodeJS.Signals | undefined;
  for (const [sig, h] of handlers) process.on(sig, h);
  // Listeners go on before the first await: spawn reports a missing program on the next tick.
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', (err: NodeJS.ErrnoException) => {
      closeChannels(opened);
      if (err.code === 'ENOENT' && !onPath(cmd, { path: env.PATH })) {
        // Exit 127, as shells do for a command that does not exist.
        process.stderr.write(`coffer: error: command not found: ${cmd}\n`);
        resolve(127);
      } else if (err.code === 'ENOENT' || err.code === 'EACCES') {
        // Exit 126, as shells do for a file that is there but cannot be run.
        const why =
          err.code === 'EACCES'
            ? 'permission denied (is it executable?)'
            : 'its interpreter (the #! line) was not found';
        process.stderr.write(`coffer: error: cannot run ${cmd}: ${why}\n`);
        resolve(126);
      } else
        reject(
          new CofferError('IO_ERROR', `cannot start ${cmd} (${err.code ?? 'error'})`, {
            cause: err,
          }),
        );
    });
    child.on('close', (code, signal) => {
      endedBy = signal ?? undefined;
      if (signal) resolve(128 + (constants.signals[signal] ?? 0));
      else resolve(code ?? 1);
    });
  });
  const written: Promise<void>[] = [];
  let outputFailed = false;
  try {
    if (maskOut || maskErr) {
      // Loaded and built after the spawn: the child starts meanwhile, its output waits.
      const stream = await import('../../core/redact/stream.js');
      const dests = [rawStdout(), process.stderr];
      const chans = [outCh, errCh];
      // A reader that goes away (`coffer run -- prog | head -1`): coffer learns it when its own
      // write fails (Node cannot watch a pipe for its reader's end), and then stops the program
      // at once, as the kernel stops a writer into a closed pipe: SIGPIPE, what it wrote since
      // is dropped, and its end of the output is closed, so that a program that ignores the
      // signal gets EPIPE on its next write. The end is closed right after a read has taken
      // what was waiting in it (or, when nothing comes, two turns of the loop later): a socket
      // closed with unread data fails the writer's next write with ECONNRESET instead. Without
      // this coffer itself died of the reader's EPIPE.
      const gone = [false, false];
      /** Another failure there (a full disk): the program is stopped when it next writes. */
      const atNextWrite = [false, false];
      const piped = [child.stdout, child.stderr];
      /** What feeds destination `i` (merged: the one channel feeds stdout only). */
      const feeding = (i: number): OutputChannel | undefined =>
        i === 1 && masking.merged ? undefined : chans[i];
      /** Closes what feeds destination `i`, once it is stopped (set by `stop`). */
      const closers: ((() => void) | undefined)[] = [undefined, undefined];
      const stop = (i: number): void => {
        if (closers[i] !== undefined) return;
        child.kill('SIGPIPE');
        const ch = opened !== undefined ? feeding(i) : undefined;
        const from = opened === undefined ? piped[i] : undefined;
        let closed = false;
        const close = (): void => {
          if (closed) return;
          closed = true;
          ch?.close();
          from?.destroy();
        };
        closers[i] = close;
        if (from != null) {
          from.unpipe();
          from.on('data', close);
          from.resume();
        }
        // A read that was waiting for coffer's write resumes now, in the next poll for input.
        setImmediate(() => setImmediate(close));
      };
      dests.forEach((dest, i) => {
        dest.on('error', (err: NodeJS.ErrnoException) => {
          // Any other failure (a full disk: ENOSPC) ends the output the same way, but is not
          // a reader's choice: it is said once, on stderr unless that is what failed.
          if (err.code !== 'EPIPE') {
            // Not a reader's choice: the run fails (exit 1 if the program did not), as it
            // would if the program had written there itself.
            outputFailed = true;
            if (i === 0 && !gone[0] && !gone[1]) {
              warn(
                `cannot write the program's stdout (${err.code ?? 'error'}): the rest of it is dropped`,
              );
            }
          }
          if (gone[i]) return;
          gone[i] = true;
          if (err.code === 'EPIPE') stop(i);
          else {
            atNextWrite[i] = true;
            const from = opened === undefined ? piped[i] : undefined;
            if (from == null) return;
            from.unpipe();
            from.once('data', () => {
              stop(i);
              closers[i]?.();
            });
            from.resume();
          }
        });
      });
      if (opened !== undefined) {
        const sinks = stream.createMaskingSinks(masking.values, dests);
        for (let i = 0; i < 2; i++) {
          const ch = chans[i];
          // Merged: the one channel is read once, into stdout.
          if (ch === undefined || (i === 1 && ch === chans[0])) continue;
          const sink = sinks[i]!;
          written.push(
            new Promise<void>((done) => {
              ch.read(
                (chunk, resume) => {
                  if (!gone[i]) return sink.write(chunk, resume);
                  // Dropped, and the end closed now that what waited in it is read (a program
                  // still writing after a full disk is stopped first).
                  if (atNextWrite[i]) stop(i);
                  closers[i]?.();
                  return true;
                },
                () => sink.end(done),
              );
            }),
          );
        }
      } else {
        const [out, err] = stream.createMaskingWriters(masking.values, dests);
        if (maskOut) child.stdout!.pipe(out!);
        if (maskErr) child.stderr!.pipe(err!);
      }
    }
    await afterSpawn();
    const code = await exited;
    await Promise.all(written);
    if (endedBy !== undefined && RERAISED.has(endedBy)) {
      // Out of the way first: the default action of the signal ends coffer.
      for (const [sig, h] of handlers) process.off(sig, h);
      await drained();
      process.kill(process.pid, endedBy);
    }
    // All of the output went out through coffer's own sockets or straight from the program:
    // nothing is left for the process to do (a pipe's writer may still hold some).
    if (opened !== undefined || !(maskOut || maskErr)) exitWhenDone();
    return code === 0 && outputFailed ? 1 : code;
  } finally {
    for (const [sig, h] of handlers) process.off(sig, h);
  }
}
