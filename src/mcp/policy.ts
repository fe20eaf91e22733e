/**
 * The policy of one `coffer mcp` server, set when it starts: `--allow` globs, `--env`
 * environments, the capabilities its tools need (`--read-only`: read and list; otherwise
 * write too; never delete or admin) and `--reveal`. The tools ask core/access for every
 * decision, as the HTTP API does for a token.
 */
import { parseGlobs } from '../core/access/globs.js';
import { AccessPolicy, type RevealPolicy } from '../core/access/policy.js';
import { parseEnvironment } from '../core/paths.js';

export interface McpPolicyOptions {
  allow: readonly string[];
  envs: readonly string[];
  readOnly: boolean;
  reveal: RevealPolicy;
}

/**
 * Throws USAGE for a malformed glob, INVALID_ARGUMENT for globs past the caps (too many, too
 * long, more segments than a key path) and INVALID_ENV for a malformed environment.
 */
export function mcpPolicy(options: McpPolicyOptions): AccessPolicy {
  const allow = parseGlobs(options.allow);
  const envs = [...new Set(options.envs.map((e) => parseEnvironment(e)))];
  const paths = allow.length === 0 ? 'every key path' : allow.join(', ');
  const where = envs.length === 0 ? 'every environment' : `environments ${envs.join(', ')}`;
  return new AccessPolicy(
    {
      allow,
      envs,
      caps: options.readOnly ? ['read', 'list'] : ['read', 'list', 'write'],
      reveal: options.reveal,
    },
    'this MCP server',
    `This server allows ${paths} in ${where} (coffer mcp --allow, --env${options.readOnly ? ', --read-only' : ''}). Ask the user to widen it if this secret is needed.`,
  );
}
