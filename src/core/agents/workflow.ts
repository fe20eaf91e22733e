/**
 * The store-first workflow for agents (the seeds' secrets workflow, rewritten for coffer's
 * MCP tools so that no value passes through the model): the text `coffer agent setup` puts
 * between markers in the file the client reads for project instructions.
 */
import type { BlockMarkers } from './blocks.js';

export const INSTRUCTIONS_MARKERS: BlockMarkers = {
  begin:
    '<!-- coffer:begin secrets workflow (written by `coffer agent setup`; a rerun replaces it) -->',
  end: '<!-- coffer:end secrets workflow -->',
};

/** The workflow for `project` (key paths `project/{project}/...`), in Markdown. */
export function workflowText(project: string): string {
  const p = project;
  return `## Secrets: store first, never in the chat

Secrets of this project live in coffer, under \`project/${p}/{name}\` (lowercase). Use the
\`coffer\` MCP tools. You never see a secret value, and you never need to:

- **The user has a key to give you** (an API key, a password, a token): call
  \`request_secret({ keyPath: 'project/${p}/stripe_api_key', description: 'Stripe API key for payment processing', writeEnv: '.env' })\`.
  The user types the value into a one-time local page, not into the chat. If the result is
  \`{ status: 'pending', url, requestId }\`, show the link and call \`request_status({ requestId })\`
  until it says \`stored\`. Never ask the user to paste a value into the chat; if they do
  anyway, do not repeat it: store nothing from the chat, tell them to rotate that key, and
  use \`request_secret\`.
- **You need a new secret** (a JWT signing key, a webhook secret, an encryption key): call
  \`generate_secret({ keyPath: 'project/${p}/jwt_secret', kind: 'jwt', description: 'JWT signing secret for authentication' })\`.
  coffer makes the value; it never passes through you. Never run \`openssl rand\` or write a
  value yourself.
- **The program needs it in \`.env\`**: call \`write_env({ project: '${p}' })\` (or with
  \`keyPaths\`) after the secret is stored. Never write a value into \`.env\` by hand: store
  first, \`.env\` second.
- **Check it worked**: \`verify_secret({ keyPath: 'project/${p}/stripe_api_key' })\` decrypts
  and authenticates it without showing it. \`list_secrets({ scope: 'project', project: '${p}' })\`
  lists names and descriptions, never values.
- **Run something that needs the secrets**: \`coffer run -- npm test\` injects them; its
  output is masked.

Descriptions say what the secret is for ("Stripe API key for payment processing", not "API
key"). Key paths: \`project/${p}/{name}\` for this project, \`meta/{service}/{name}\` for
shared ones. Do not read \`.env\` files, \`*.pem\` or \`*.key\` files or coffer's home: nothing
there is needed, and a value read there enters the chat.`;
}
