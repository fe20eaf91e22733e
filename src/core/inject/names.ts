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
 *   (the shell many tools start for commands: `script`, Vim's `:!`, less's `!`, tmux, ...).
 *   GNU make is not among them on POSIX systems: its manual (5.3.2, Choosing the Shell) says
 *   the SHELL variable is never set from the environment, so recipes run with /bin/sh or the
 *   makefile's SHELL; only on MS-DOS and MS-Windows does make use the environment's SHELL as
 *   its shell (and MS-DOS's MAKESHELL, not listed: no Node.js runs there).
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
 *   `CLASSPATH`; `JAVA_OPTS`, `MAVEN_OPTS`, `GRADLE_OPTS` (the launch scripts of Tomcat,
 *   Gradle, Maven and many others pass them to the JVM, `-javaagent:` included); `ANT_OPTS`
 *   (Ant's manual, Running Apache Ant: command-line arguments the ant script passes to the
 *   JVM) and `SBT_OPTS` (the sbt runner script puts its options on java's command line, and
 *   takes `--java-home DIR`, whose bin/java it then runs). `ANT_ARGS` (the same manual:
 *   command-line arguments of Ant, such as `-lib` (classes), `-logger`, `-listener` and `-main`
 *   (classes it loads and runs)); `JAVACMD` (the ant and mvn scripts run it instead of java);
 *   `SBTN_CMD` (the sbt runner script runs it as the sbtn thin client, with `--client`,
 *   `SBT_NATIVE_CLIENT=true` or an sbt 2 build).
 * - Lua: `LUA_INIT`, `LUA_INIT_*` (`LUA_INIT_5_1` ... `LUA_INIT_5_4`: the interpreter runs the
 *   value, or the `@file` it names, before the script).
 * - Go: `GOFLAGS` (the go command takes `-toolexec=PROG`, which runs PROG for every tool).
 * - Rust: `RUSTC_WRAPPER`, `RUSTC_WORKSPACE_WRAPPER` and their config forms
 *   `CARGO_BUILD_RUSTC_WRAPPER`, `CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER` (cargo runs them in place
 *   of rustc), `RUSTC`, `RUSTDOC`, `CARGO_BUILD_RUSTC`, `CARGO_BUILD_RUSTDOC` (the compiler and
 *   documentation tool cargo runs), `CARGO_TARGET_<triple>_RUNNER` (cargo runs, and tests, the
 *   built program through it) and `CARGO_TARGET_<triple>_LINKER` (the linker rustc runs).
 *   `RUSTFLAGS`, `CARGO_ENCODED_RUSTFLAGS` (the same, separated by 0x1F), `CARGO_BUILD_RUSTFLAGS`
 *   and `CARGO_TARGET_<triple>_RUSTFLAGS` (the config keys build.rustflags and
 *   target.<triple>.rustflags) are flags cargo passes to every rustc it runs, and rustc's
 *   `-C linker=PROG` (rustc book, Codegen Options) names the program it links with; cargo's
 *   environment-variables reference lists them. `RUSTDOCFLAGS`, `CARGO_ENCODED_RUSTDOCFLAGS`,
 *   `CARGO_BUILD_RUSTDOCFLAGS` and `CARGO_TARGET_<triple>_RUSTDOCFLAGS` are the same for rustdoc,
 *   which takes `-C` (`--codegen`) too and links every doctest that `cargo test` runs with that
 *   linker (each form checked with cargo 1.95: `cargo build` or `cargo test --doc` ran the
 *   program).
 * - make: `MAKEFLAGS`, `GNUMAKEFLAGS` (GNU make takes options from them: `--eval` evaluates
 *   makefile text, `$(shell ...)` included), `MFLAGS` (BSD make reads its options, `-f` a
 *   makefile among them, from it when MAKEFLAGS is empty); `CC`, `CXX`, `CPP`, `LD`, `AR` (make
 *   imports every variable of its environment, and its built-in rules, node-gyp's Makefiles and
 *   most hand-written ones run these through the shell as the compiler, preprocessor, linker
 *   and archiver: the value is a command line); `AS` (the assembler make's built-in rule for
 *   `.s` files runs: `$(AS) $(ASFLAGS)`, GNU make manual 10.3 Variables Used by Implicit Rules),
 *   `LINK` (node-gyp's Makefiles link with it: gyp's make generator takes `LINK` from the
 *   environment as the linker command). `CFLAGS`, `CXXFLAGS`, `CPPFLAGS` and `LDFLAGS` are the
 *   flags those rules (`$(CC) $(CFLAGS) $(CPPFLAGS) -c`, `$(CC) $(LDFLAGS)` when linking) and
 *   node-gyp's Makefiles (`CFLAGS.target ?= $(CPPFLAGS) $(CFLAGS)`) put on the compiler's
 *   command line, again through the shell; and in the compiler itself gcc's `-wrapper
 *   PROG,ARGS` runs every subcommand through PROG (gcc manual, Developer Options) and
 *   `-fplugin=PATH` (gcc and clang) loads a shared object into the compiler. The other programs
 *   of GNU make's built-in rules (manual 10.3, Variables Used by Implicit Rules: `YACC`, `LEX`,
 *   `FC`, `OBJC`, `PC`, `M2C`, `LINT`, `CO`, `GET`, `TEX`, `TEXI2DVI`, `MAKEINFO`, `WEAVE`,
 *   `CWEAVE`, `TANGLE`, `CTANGLE`, and `RM`, which most clean targets run too) and the flags
 *   those rules put on their command lines (`ARFLAGS`, `ASFLAGS`, `FFLAGS`, `LDLIBS` and the
 *   older `LOADLIBES`, `LFLAGS`, `YFLAGS`, `PFLAGS`, `RFLAGS`, `LINTFLAGS`, `COFLAGS`, `GFLAGS`):
 *   make hands the recipe to the shell, so `; CMD` in a flag runs CMD. `MAKE` (what `$(MAKE)`
 *   runs for a sub-make: make takes it from the environment; node-gyp runs it as make). Each
 *   was checked with GNU make 4.3: a value ran a command. `RANLIB` (configure's AC_PROG_RANLIB
 *   keeps a value from the environment, and the Makefiles it writes run it on each static
 *   library); `PKG_CONFIG` (cgo's `#cgo pkg-config:` runs it, as the go command documents, and
 *   so do pkg.m4's PKG_PROG_PKG_CONFIG and CMake's FindPkgConfig); `CONFIG_SHELL` (a configure
 *   script autoconf generates re-executes itself with it, and config.status runs with it); `M4` and `AUTOCONF`,
 *   `AUTOHEADER`, `AUTOMAKE`, `ACLOCAL`, `AUTOM4TE`, `AUTOPOINT`, `LIBTOOLIZE` (the autoconf
 *   manual, Invoking autoreconf: these override the tools it runs; autom4te and bison run `M4`
 *   as m4). gcc's `COMPILER_PATH` and `GCC_EXEC_PREFIX` (gcc manual, Environment Variables
 *   Affecting GCC: where it looks for cc1, as and collect2; checked with gcc 12: a script named
 *   as, or cc1, there ran).
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
 * - less, the pager git, man, systemctl and psql start: `LESS` holds its options, and `+CMD`
 *   there runs CMD in every file it shows, `+!CMD` a shell command (`LESS='+!touch x'` plus a
 *   line break made `git log` in a terminal run the touch); `SYSTEMD_LESS` (systemd's tools
 *   pass it to less as LESS); `LESSEDIT` (the command line of its `v` command); `LESSKEY*`
 *   (`LESSKEY`, `LESSKEYIN`, `LESSKEY_CONTENT` and their `_SYSTEM` forms: a lesskey source,
 *   whose `#env` section sets LESSOPEN, a command less runs for every file).
 * - Archivers and copiers that take options from the environment: `TAR_OPTIONS` (GNU tar:
 *   `--checkpoint-action=exec=CMD`, `--to-command=CMD`, `--use-compress-program=CMD` run
 *   programs), `ZIPOPT` and `ZIP` (Info-ZIP zip: `-TT CMD` runs CMD to test the archive),
 *   `RSYNC_RSH` (rsync runs it as the remote shell), `RSYNC_CONNECT_PROG` (runs it to reach a
 *   daemon) and `RSYNC_SHELL` (the shell that runs that command). Each was checked with GNU
 *   tar 1.34, zip 3.0, rsync 3 and less 590: the value ran a command.
 * - Version control over a remote shell: `CVS_RSH` (the CVS manual, All environment variables
 *   which affect CVS: the program the `:ext:` method starts) and `SVN_SSH` (the Subversion book:
 *   the tunnel command of `svn+ssh://` URLs).
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
  /**
   * The exact name, a prefix ending in `*` (`LD_*`), a suffix starting with `*` (`*PAGER`), or
   * a prefix and a suffix around one `*` inside (`CARGO_TARGET_*_RUNNER`: at least one
   * character between them).
   */
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
const JVM_LAUNCHER = 'JVM launch scripts pass it to java, whose -javaagent: option runs code';
const CARGO_RUSTC = 'cargo runs it in place of rustc';
const MAKE_TOOL = 'make and node-gyp run it through the shell as a build tool';
const COMPILER_FLAGS =
  "make and node-gyp put it on the compiler's command line (through the shell), where gcc's -wrapper runs a program and -fplugin= loads one";
const MAKE_RULE = "make's built-in rules run it through the shell as a program";
const MAKE_RULE_FLAGS =
  "make's built-in rules put it on a command line run through the shell, where ; starts another command";
const AUTORECONF = 'autoreconf runs it in place of the tool of that name';
const GCC_PROGRAMS = 'gcc runs its subprograms (cc1, as, collect2) from it';
const RUSTC_FLAGS = 'cargo passes it to rustc, whose -C linker= names a program it runs';
const RUSTDOC_FLAGS =
  'cargo passes it to rustdoc, whose -C linker= names the program doctests are linked with';

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
  // For the tools that start $SHELL, and GNU make on MS-Windows; make on POSIX systems never
  // takes SHELL from the environment (see above), so it is not why SHELL is here.
  { pattern: 'SHELL', reason: 'many tools start it as the shell that runs commands' },
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
  { pattern: 'JAVA_OPTS', reason: JVM_LAUNCHER },
  { pattern: 'MAVEN_OPTS', reason: JVM_LAUNCHER },
  { pattern: 'GRADLE_OPTS', reason: JVM_LAUNCHER },
  { pattern: 'ANT_OPTS', reason: 'the ant script passes it to java, whose -javaagent: runs code' },
  {
    pattern: 'ANT_ARGS',
    reason: 'Ant takes options from it: -lib adds classes, -logger, -listener and -main load them',
  },
  { pattern: 'JAVACMD', reason: 'the ant and mvn scripts run it as java' },
  {
    pattern: 'SBT_OPTS',
    reason:
      'the sbt script passes it to java (-javaagent: runs code) and takes --java-home from it',
  },
  { pattern: 'SBTN_CMD', reason: 'the sbt script runs it as the sbtn client (--client, sbt 2)' },
  { pattern: 'LUA_INIT', reason: 'Lua runs it (or the file it names) before the script' },
  { pattern: 'LUA_INIT_*', reason: 'Lua runs it (or the file it names) before the script' },
  { pattern: 'LUA_PATH', reason: 'Lua looks modules up in it' },
  { pattern: 'LUA_PATH_*', reason: 'Lua looks modules up in it' },
  { pattern: 'LUA_CPATH', reason: 'Lua loads C modules (shared objects) from it' },
  { pattern: 'LUA_CPATH_*', reason: 'Lua loads C modules (shared objects) from it' },
  { pattern: 'GOFLAGS', reason: 'the go command takes -toolexec (a program it runs) from it' },
  { pattern: 'RUSTC_WRAPPER', reason: CARGO_RUSTC },
  { pattern: 'RUSTC_WORKSPACE_WRAPPER', reason: CARGO_RUSTC },
  { pattern: 'CARGO_BUILD_RUSTC_WRAPPER', reason: CARGO_RUSTC },
  { pattern: 'CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER', reason: CARGO_RUSTC },
  { pattern: 'RUSTC', reason: 'cargo runs it as the Rust compiler' },
  { pattern: 'CARGO_BUILD_RUSTC', reason: 'cargo runs it as the Rust compiler' },
  { pattern: 'RUSTDOC', reason: 'cargo runs it to build and test documentation' },
  { pattern: 'CARGO_BUILD_RUSTDOC', reason: 'cargo runs it to build and test documentation' },
  {
    pattern: 'CARGO_TARGET_*_RUNNER',
    reason: 'cargo run and cargo test start the program through it',
  },
  { pattern: 'CARGO_TARGET_*_LINKER', reason: 'rustc runs it as the linker' },
  { pattern: 'RUSTFLAGS', reason: RUSTC_FLAGS },
  { pattern: 'CARGO_ENCODED_RUSTFLAGS', reason: RUSTC_FLAGS },
  { pattern: 'CARGO_BUILD_RUSTFLAGS', reason: RUSTC_FLAGS },
  { pattern: 'CARGO_TARGET_*_RUSTFLAGS', reason: RUSTC_FLAGS },
  { pattern: 'RUSTDOCFLAGS', reason: RUSTDOC_FLAGS },
  { pattern: 'CARGO_ENCODED_RUSTDOCFLAGS', reason: RUSTDOC_FLAGS },
  { pattern: 'CARGO_BUILD_RUSTDOCFLAGS', reason: RUSTDOC_FLAGS },
  { pattern: 'CARGO_TARGET_*_RUSTDOCFLAGS', reason: RUSTDOC_FLAGS },
  { pattern: 'MAKEFLAGS', reason: 'make takes options such as --eval (makefile text) from it' },
  { pattern: 'GNUMAKEFLAGS', reason: 'GNU make takes options such as --eval from it' },
  { pattern: 'MFLAGS', reason: 'BSD make takes options such as -f (a makefile) from it' },
  { pattern: 'CC', reason: MAKE_TOOL },
  { pattern: 'CXX', reason: MAKE_TOOL },
  { pattern: 'CPP', reason: MAKE_TOOL },
  { pattern: 'LD', reason: MAKE_TOOL },
  { pattern: 'AR', reason: MAKE_TOOL },
  { pattern: 'AS', reason: "make's built-in rule for .s files runs it through the shell" },
  { pattern: 'LINK', reason: "node-gyp's Makefiles run it through the shell as the linker" },
  { pattern: 'CFLAGS', reason: COMPILER_FLAGS },
  { pattern: 'CXXFLAGS', reason: COMPILER_FLAGS },
  { pattern: 'CPPFLAGS', reason: COMPILER_FLAGS },
  { pattern: 'LDFLAGS', reason: COMPILER_FLAGS },
  {
    pattern: 'MAKE',
    reason: 'make runs it for $(MAKE) in sub-makes, and node-gyp runs it as make',
  },
  { pattern: 'YACC', reason: MAKE_RULE },
  { pattern: 'LEX', reason: MAKE_RULE },
  { pattern: 'FC', reason: MAKE_RULE },
  { pattern: 'OBJC', reason: MAKE_RULE },
  { pattern: 'PC', reason: MAKE_RULE },
  { pattern: 'M2C', reason: MAKE_RULE },
  { pattern: 'LINT', reason: MAKE_RULE },
  { pattern: 'CO', reason: MAKE_RULE },
  { pattern: 'GET', reason: MAKE_RULE },
  { pattern: 'TEX', reason: MAKE_RULE },
  { pattern: 'TEXI2DVI', reason: MAKE_RULE },
  { pattern: 'MAKEINFO', reason: MAKE_RULE },
  { pattern: 'WEAVE', reason: MAKE_RULE },
  { pattern: 'CWEAVE', reason: MAKE_RULE },
  { pattern: 'TANGLE', reason: MAKE_RULE },
  { pattern: 'CTANGLE', reason: MAKE_RULE },
  {
    pattern: 'RM',
    reason: "make's built-in rules and most clean targets run it through the shell",
  },
  { pattern: 'ARFLAGS', reason: MAKE_RULE_FLAGS },
  { pattern: 'ASFLAGS', reason: MAKE_RULE_FLAGS },
  { pattern: 'FFLAGS', reason: MAKE_RULE_FLAGS },
  { pattern: 'LDLIBS', reason: MAKE_RULE_FLAGS },
  { pattern: 'LOADLIBES', reason: MAKE_RULE_FLAGS },
  { pattern: 'LFLAGS', reason: MAKE_RULE_FLAGS },
  { pattern: 'YFLAGS', reason: MAKE_RULE_FLAGS },
  { pattern: 'PFLAGS', reason: MAKE_RULE_FLAGS },
  { pattern: 'RFLAGS', reason: MAKE_RULE_FLAGS },
  { pattern: 'LINTFLAGS', reason: MAKE_RULE_FLAGS },
  { pattern: 'COFLAGS', reason: MAKE_RULE_FLAGS },
  { pattern: 'GFLAGS', reason: MAKE_RULE_FLAGS },
  {
    pattern: 'RANLIB',
    reason:
      'configure scripts take it as ranlib, which their Makefiles run on every static library',
  },
  {
    pattern: 'PKG_CONFIG',
    reason:
      "the go command (cgo's #cgo pkg-config), configure (pkg.m4) and CMake run it as pkg-config",
  },
  { pattern: 'CONFIG_SHELL', reason: 'configure scripts re-execute themselves with it' },
  { pattern: 'M4', reason: 'autoconf (autom4te), autoreconf and bison run it as m4' },
  { pattern: 'AUTOCONF', reason: AUTORECONF },
  { pattern: 'AUTOHEADER', reason: AUTORECONF },
  { pattern: 'AUTOMAKE', reason: AUTORECONF },
  { pattern: 'ACLOCAL', reason: AUTORECONF },
  { pattern: 'AUTOM4TE', reason: AUTORECONF },
  { pattern: 'AUTOPOINT', reason: AUTORECONF },
  { pattern: 'LIBTOOLIZE', reason: AUTORECONF },
  { pattern: 'COMPILER_PATH', reason: GCC_PROGRAMS },
  { pattern: 'GCC_EXEC_PREFIX', reason: GCC_PROGRAMS },
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
  {
    pattern: 'LESS',
    reason:
      'less (the pager git and man start) takes options from it, and +!CMD runs a shell command',
  },
  {
    pattern: 'SYSTEMD_LESS',
    reason: "systemd's tools pass it to less, where +!CMD runs a command",
  },
  { pattern: 'LESSEDIT', reason: "less runs it as its v command's editor" },
  {
    pattern: 'LESSKEY*',
    reason: 'less reads key bindings and variables (LESSOPEN, a command it runs) from it',
  },
  {
    pattern: 'TAR_OPTIONS',
    reason: 'GNU tar takes options from it, and --checkpoint-action=exec= runs a command',
  },
  { pattern: 'ZIPOPT', reason: 'zip takes options from it, and -TT runs a command' },
  { pattern: 'ZIP', reason: 'zip takes options from it, and -TT runs a command' },
  { pattern: 'RSYNC_RSH', reason: 'rsync runs it as the remote shell' },
  { pattern: 'RSYNC_CONNECT_PROG', reason: 'rsync runs it to connect to a daemon' },
  { pattern: 'RSYNC_SHELL', reason: 'rsync runs commands with it' },
  { pattern: 'CVS_RSH', reason: 'cvs runs it as the remote shell of the :ext: method' },
  { pattern: 'SVN_SSH', reason: 'svn runs it as the tunnel of svn+ssh:// URLs' },
];

const EXACT = new Map<string, RefusedName>();
const PREFIXES: { prefix: string; entry: RefusedName }[] = [];
const SUFFIXES: { suffix: string; entry: RefusedName }[] = [];
const AROUND: { prefix: string; suffix: string; entry: RefusedName }[] = [];
for (const entry of REFUSED_ENV_NAMES) {
  const star = entry.pattern.indexOf('*');
  if (star === -1) EXACT.set(entry.pattern, entry);
  else if (star === entry.pattern.length - 1)
    PREFIXES.push({ prefix: entry.pattern.slice(0, -1), entry });
  else if (star === 0) SUFFIXES.push({ suffix: entry.pattern.slice(1), entry });
  else {
    const suffix = entry.pattern.slice(star + 1);
    AROUND.push({ prefix: entry.pattern.slice(0, star), suffix, entry });
  }
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
  for (const p of AROUND) {
    const between = upper.length - p.prefix.length - p.suffix.length;
    if (between > 0 && upper.startsWith(p.prefix) && upper.endsWith(p.suffix)) return p.entry;
  }
  return undefined;
}

/** The canonical (uppercase) form of a name in an allow list. */
export function allowKey(name: string): string {
  return name.toUpperCase();
}
