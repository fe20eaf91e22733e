/**
 * Environment-variable names coffer refuses to inject: names that change how a program loads
 * or executes code. A secret is injected under its env-var name (the name uppercased, or the
 * `envVar` metadata), and whoever can write a secret chooses that name. Without this rule a
 * write-only token or an MCP agent could store `project/app/node_options` = `--require
 * ./evil.js` and have `coffer run -- node app.js` execute it, or put the same line into a
 * .env file that a later `node --env-file` reads.
 *
 * The list, with why each name is on it (docs/injection.md has the same table for users):
 *
 * - Dynamic loaders: `LD_*` (glibc/musl: LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT load shared
 *   objects into every program), `DYLD_*` (macOS: DYLD_INSERT_LIBRARIES ...), `LIBPATH` (AIX),
 *   `SHLIB_PATH` (HP-UX), `GCONV_PATH` (glibc loads charset converters from it),
 *   `GLIBC_TUNABLES` (parsed by the loader itself). glibc's list of variables it drops for
 *   setuid programs (sysdeps/generic/unsecvars.h) and sudo's default `env_delete` list hold
 *   the same names.
 * - Program lookup: `PATH` (which program `node`, `sh` or `git` means), `PATHEXT` and
 *   `COMSPEC` (Windows: executable extensions, the shell `child_process` starts), `SHELL`
 *   (the shell many tools start for commands).
 * - Shell start-up: `BASH_ENV` and `ENV` (a file a non-interactive bash or POSIX sh sources
 *   before anything else), `BASH_FUNC_*` (exported bash functions), `SHELLOPTS`, `BASHOPTS`
 *   (turn on xtrace and other options), `PS4` (expanded, with command substitution, on every
 *   traced line), `PS0`, `PS1`, `PS2` (expanded the same way by an interactive bash: before
 *   each command, at each prompt, at each continuation line; `. ./.env` in a terminal sets
 *   them), `PROMPT_COMMAND`, `IFS` (word splitting of every unquoted expansion), `CDPATH`,
 *   `GLOBIGNORE`, `ZDOTDIR` (where zsh reads its start-up files), `FPATH`.
 * - Node.js: `NODE_OPTIONS` (`--require`, `--import`, `--loader` run code before the program),
 *   `NODE_PATH` (module lookup), `NODE_REPL_EXTERNAL_MODULE`; `NPM_CONFIG_*` (npm reads its
 *   whole configuration from these, e.g. `script-shell`, `node-options`, `userconfig`);
 *   `ELECTRON_RUN_AS_NODE` (turns an Electron app into a plain Node.js runtime).
 * - Python: `PYTHONPATH`, `PYTHONHOME`, `PYTHONSTARTUP`, `PYTHONINSPECT`, `PYTHONUSERBASE`
 *   (module and `.pth` lookup, start-up files), `PYTHONBREAKPOINT` (imports a callable),
 *   `PYTHONWARNINGS` (warning categories are imported by name).
 * - Perl: `PERL5OPT` (command-line switches such as `-M`), `PERL5LIB`, `PERLLIB`, `PERL5DB`.
 * - Ruby: `RUBYOPT` (`-r` requires a library), `RUBYLIB`.
 * - JVM: `JAVA_TOOL_OPTIONS`, `_JAVA_OPTIONS`, `JDK_JAVA_OPTIONS` (`-javaagent:` runs code),
 *   `CLASSPATH`.
 * - Lua: `LUA_INIT`, `LUA_INIT_*` (`LUA_INIT_5_1` ... `LUA_INIT_5_4`: the interpreter runs the
 *   value, or the `@file` it names, before the script).
 * - Go: `GOFLAGS` (the go command takes `-toolexec=PROG`, which runs PROG for every tool).
 * - Rust: `RUSTC_WRAPPER`, `RUSTC_WORKSPACE_WRAPPER` (cargo runs them in place of rustc).
 * - Erlang/Elixir: `ERL_AFLAGS`, `ERL_ZFLAGS`, `ERL_FLAGS` (emulator flags such as `-eval`
 *   and `-s` run code at start-up).
 * - .NET: `DOTNET_STARTUP_HOOKS` (assemblies loaded, and their hook run, before `Main`).
 * - Git: `GIT_*` (GIT_SSH_COMMAND, GIT_EXEC_PATH, GIT_ASKPASS, GIT_CONFIG_* with
 *   `core.fsmonitor` or `core.sshCommand` all run programs).
 * - Programs other programs start: `EDITOR`, `VISUAL`, `BROWSER`, `LESSOPEN`, `LESSCLOSE`
 *   (less runs them as commands), `SSH_ASKPASS`, `SUDO_ASKPASS`, and every name ending in
 *   `PAGER` (`*PAGER`: `PAGER`, `MANPAGER`, `GIT_PAGER`, `SYSTEMD_PAGER`, `PSQL_PAGER`,
 *   `GH_PAGER`, `AWS_PAGER`, ...: tools run their pager through a shell, so the value is a
 *   command line). `VIMINIT`, `EXINIT`, `GVIMINIT` (vi and Vim run the Ex commands in them at
 *   start-up, and `:!cmd` runs a program), `MYVIMRC` (the vimrc that Vim set-ups `:source`).
 * - OpenSSL: `OPENSSL_CONF`, `OPENSSL_ENGINES`, `OPENSSL_MODULES` (configuration that loads
 *   engines and providers, i.e. shared objects; Node.js reads OPENSSL_CONF).
 *
 * Not on the list, on purpose: names that change where a program connects or what it trusts
 * (HTTPS_PROXY, NODE_TLS_REJECT_UNAUTHORIZED, SSL_CERT_FILE, NODE_EXTRA_CA_CERTS). Whoever can
 * write a project's secrets can already change any value the program uses (DATABASE_URL, an
 * API endpoint), so write access to a project means trust in what it talks to; the list is
 * about turning a value into code.
 *
 * Names are compared case-insensitively: Windows treats `node_options` as NODE_OPTIONS, npm
 * reads `npm_config_*` in either case, and no legitimate secret needs to differ from a
 * refused name only by case. A name that is not a valid env-var name at all (`=`, NUL,
 * spaces: only metadata written behind coffer's back can hold one) is refused as well, since
 * `A=B` as a name would set another variable.
 */
import { isEnvVarName } from '../paths.js';

/** Why a name is refused, shown in the refusal message. */
export interface RefusedName {
  /** The exact name, a prefix ending in `*` (`LD_*`), or a suffix starting with `*` (`*PAGER`). */
  readonly pattern: string;
  readonly reason: string;
  /** Not a valid env-var name at all: never allowed, whatever the operator says. */
  readonly invalid?: boolean;
}

const LOADER = 'the dynamic loader reads it to load code into every program';
const LOOKUP = 'it decides which program a command name starts';
const SHELL = 'shells read it at start-up and can run commands from it';
const RUNS = 'programs run it as a command';
const VIM = 'vi and Vim run the commands in it at start-up';
const ERLANG = 'the Erlang runtime takes flags such as -eval from it';

/** Every refused name or prefix, with its reason. Exported for documentation and tests. */
export const REFUSED_ENV_NAMES: readonly RefusedName[] = [
  { pattern: 'LD_*', reason: LOADER },
  { pattern: 'DYLD_*', reason: LOADER },
  { pattern: 'LIBPATH', reason: LOADER },
  { pattern: 'SHLIB_PATH', reason: LOADER },
  { pattern: 'GCONV_PATH', reason: LOADER },
  { pattern: 'GLIBC_TUNABLES', reason: LOADER },
  { pattern: 'PATH', reason: LOOKUP },
  { pattern: 'PATHEXT', reason: LOOKUP },
  { pattern: 'COMSPEC', reason: LOOKUP },
  { pattern: 'SHELL', reason: LOOKUP },
  { pattern: 'BASH_ENV', reason: SHELL },
  { pattern: 'ENV', reason: SHELL },
  { pattern: 'BASH_FUNC_*', reason: SHELL },
  { pattern: 'SHELLOPTS', reason: SHELL },
  { pattern: 'BASHOPTS', reason: SHELL },
  { pattern: 'PS4', reason: SHELL },
  { pattern: 'PS0', reason: SHELL },
  { pattern: 'PS1', reason: SHELL },
  { pattern: 'PS2', reason: SHELL },
  { pattern: 'PROMPT_COMMAND', reason: SHELL },
  { pattern: 'IFS', reason: 'shells split every unquoted expansion with it' },
  { pattern: 'CDPATH', reason: SHELL },
  { pattern: 'GLOBIGNORE', reason: SHELL },
  { pattern: 'ZDOTDIR', reason: SHELL },
  { pattern: 'FPATH', reason: SHELL },
  { pattern: 'NODE_OPTIONS', reason: 'Node.js runs --require/--import modules from it' },
  { pattern: 'NODE_PATH', reason: 'Node.js looks modules up in it' },
  { pattern: 'NODE_REPL_EXTERNAL_MODULE', reason: 'Node.js loads it instead of the REPL' },
  { pattern: 'NPM_CONFIG_*', reason: 'npm takes its configuration (script-shell, ...) from it' },
  { pattern: 'ELECTRON_RUN_AS_NODE', reason: 'it turns an Electron app into Node.js' },
  { pattern: 'PYTHONPATH', reason: 'Python looks modules up in it' },
  { pattern: 'PYTHONHOME', reason: 'Python looks its standard library up in it' },
  { pattern: 'PYTHONSTARTUP', reason: 'Python runs the file it names' },
  { pattern: 'PYTHONINSPECT', reason: 'Python enters interactive mode' },
  { pattern: 'PYTHONUSERBASE', reason: 'Python reads .pth files (which run code) from it' },
  { pattern: 'PYTHONBREAKPOINT', reason: 'Python imports the callable it names' },
  { pattern: 'PYTHONWARNINGS', reason: 'Python imports the warning categories it names' },
  { pattern: 'PERL5OPT', reason: 'Perl takes switches such as -M from it' },
  { pattern: 'PERL5LIB', reason: 'Perl looks modules up in it' },
  { pattern: 'PERLLIB', reason: 'Perl looks modules up in it' },
  { pattern: 'PERL5DB', reason: 'Perl runs it as debugger code' },
  { pattern: 'RUBYOPT', reason: 'Ruby takes switches such as -r from it' },
  { pattern: 'RUBYLIB', reason: 'Ruby looks libraries up in it' },
  { pattern: 'JAVA_TOOL_OPTIONS', reason: 'the JVM takes options such as -javaagent from it' },
  { pattern: '_JAVA_OPTIONS', reason: 'the JVM takes options such as -javaagent from it' },
  { pattern: 'JDK_JAVA_OPTIONS', reason: 'the JVM takes options such as -javaagent from it' },
  { pattern: 'CLASSPATH', reason: 'the JVM loads classes from it' },
  { pattern: 'LUA_INIT', reason: 'Lua runs it (or the file it names) before the script' },
  { pattern: 'LUA_INIT_*', reason: 'Lua runs it (or the file it names) before the script' },
  { pattern: 'LUA_PATH', reason: 'Lua looks modules up in it' },
  { pattern: 'LUA_PATH_*', reason: 'Lua looks modules up in it' },
  { pattern: 'LUA_CPATH', reason: 'Lua loads C modules (shared objects) from it' },
  { pattern: 'LUA_CPATH_*', reason: 'Lua loads C modules (shared objects) from it' },
  { pattern: 'GOFLAGS', reason: 'the go command takes -toolexec (a program it runs) from it' },
  { pattern: 'RUSTC_WRAPPER', reason: 'cargo runs it in place of rustc' },
  { pattern: 'RUSTC_WORKSPACE_WRAPPER', reason: 'cargo runs it in place of rustc' },
  { pattern: 'ERL_AFLAGS', reason: ERLANG },
  { pattern: 'ERL_ZFLAGS', reason: ERLANG },
  { pattern: 'ERL_FLAGS', reason: ERLANG },
  { pattern: 'ELIXIR_ERL_OPTIONS', reason: ERLANG },
  { pattern: 'ERL_LIBS', reason: 'the Erlang runtime loads applications from it' },
  { pattern: 'DOTNET_STARTUP_HOOKS', reason: '.NET loads the assemblies it names before Main' },
  { pattern: 'DOTNET_ADDITIONAL_DEPS', reason: '.NET loads the assemblies its files name' },
  { pattern: 'CORECLR_PROFILER_PATH*', reason: '.NET loads the profiler library it names' },
  { pattern: 'GIT_*', reason: 'git runs programs and reads configuration from these' },
  { pattern: '*EDITOR', reason: RUNS },
  { pattern: 'VISUAL', reason: RUNS },
  { pattern: '*PAGER', reason: RUNS },
  { pattern: 'BROWSER', reason: RUNS },
  { pattern: 'LESSOPEN', reason: RUNS },
  { pattern: 'LESSCLOSE', reason: RUNS },
  { pattern: 'SSH_ASKPASS', reason: RUNS },
  { pattern: 'SUDO_ASKPASS', reason: RUNS },
  { pattern: 'VIMINIT', reason: VIM },
  { pattern: 'EXINIT', reason: VIM },
  { pattern: 'GVIMINIT', reason: VIM },
  { pattern: 'MYVIMRC', reason: 'Vim set-ups source the file it names' },
  { pattern: 'OPENSSL_CONF', reason: 'OpenSSL loads engines and providers it configures' },
  { pattern: 'OPENSSL_ENGINES', reason: 'OpenSSL loads engines from it' },
  { pattern: 'OPENSSL_MODULES', reason: 'OpenSSL loads providers from it' },
];

const EXACT = new Map<string, RefusedName>();
const PREFIXES: { prefix: string; entry: RefusedName }[] = [];
const SUFFIXES: { suffix: string; entry: RefusedName }[] = [];
for (const entry of REFUSED_ENV_NAMES) {
  if (entry.pattern.endsWith('*')) PREFIXES.push({ prefix: entry.pattern.slice(0, -1), entry });
  else if (entry.pattern.startsWith('*')) SUFFIXES.push({ suffix: entry.pattern.slice(1), entry });
  else EXACT.set(entry.pattern, entry);
}

/**
 * Why `name` may not be injected, or undefined when it may. Case-insensitive; a name that is
 * not a valid env-var name is refused too.
 */
export function refusedEnvName(name: string): RefusedName | undefined {
  if (!isEnvVarName(name)) {
    return { pattern: name, reason: 'it is not a valid environment-variable name', invalid: true };
  }
  const upper = name.toUpperCase();
  const exact = EXACT.get(upper);
  if (exact !== undefined) return exact;
  for (const p of PREFIXES) if (upper.startsWith(p.prefix)) return p.entry;
  for (const p of SUFFIXES) if (upper.endsWith(p.suffix)) return p.entry;
  return undefined;
}

/** The canonical (uppercase) form of a name in an allow list. */
export function allowKey(name: string): string {
  return name.toUpperCase();
}
