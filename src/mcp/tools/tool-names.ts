/**
 * The names of `coffer mcp`'s tools in tools/list order, and those offered with `--read-only`
 * (readOnlyHint: they change no secret and no file), as plain data: `coffer mcp --help` lists
 * them without loading the tools themselves (zod, the MCP SDK). tool-names.test.ts keeps both
 * lists equal to what TOOLS (index.ts) offers, so the help cannot miscount them.
 */
export const TOOL_NAMES: readonly string[] = [
  'set_secret',
  'get_secret',
  'list_secrets',
  'verify_secret',
  'generate_secret',
  'write_env',
  'manifest_status',
  'setup_project',
  'rotation_status',
  'report_leak',
  'request_secret',
  'request_status',
];

/** The tools `coffer mcp --read-only` offers, in tools/list order. */
export const READ_ONLY_TOOL_NAMES: readonly string[] = [
  'get_secret',
  'list_secrets',
  'verify_secret',
  'manifest_status',
  'rotation_status',
  'request_status',
];

/** `a, b and c`. */
export function toolList(names: readonly string[]): string {
  return names.length < 2
    ? names.join('')
    : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}
