/**
 * Variable names whose value programs run, among those coffer refuses: prompts an interactive
 * bash expands (with command substitution), Lua's init code, pagers, Vim's start-up commands,
 * and the flags and hooks of go, cargo, the Erlang runtime and .NET. The unit test of the
 * names rule (src/core/inject) and the end-to-end test (test/e2e/inject.test.ts) both check
 * that each one is refused.
 */
export const RUNS_CODE: readonly string[] = [
  'PS0',
  'PS1',
  'PS2',
  'LUA_INIT',
  'LUA_INIT_5_1',
  'LUA_INIT_5_2',
  'LUA_INIT_5_3',
  'LUA_INIT_5_4',
  'PAGER',
  'MANPAGER',
  'SYSTEMD_PAGER',
  'PSQL_PAGER',
  'GIT_PAGER',
  'GH_PAGER',
  'AWS_PAGER',
  'VIMINIT',
  'EXINIT',
  'GVIMINIT',
  'MYVIMRC',
  'GOFLAGS',
  'RUSTC_WRAPPER',
  'RUSTC_WORKSPACE_WRAPPER',
  'ERL_AFLAGS',
  'ERL_ZFLAGS',
  'ERL_FLAGS',
  'DOTNET_STARTUP_HOOKS',
];
