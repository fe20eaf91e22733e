/**
 * Seed 002's `receptor` project as a manifest, shared by the tests of the planner
 * (src/core/manifest/setup-plan.test.ts), `coffer setup` (test/e2e/setup.test.ts) and
 * `coffer manifest check` (test/e2e/manifest.test.ts): three tier 1 secrets generated in
 * development and injected in production, three tier 2 secrets asked for, and one plain
 * setting carried by the manifest.
 */

/** The tier 1 variables: generated in dev, `env:` in prod. */
export const RECEPTOR_TIER1 = ['JWT_SECRET', 'POSTGRES_PASSWORD', 'SERVICE_ROLE_KEY'] as const;

/** The tier 2 variables: asked for (or taken from the environment when exported). */
export const RECEPTOR_TIER2 = ['OPENAI_API_KEY', 'SMTP_PASS', 'CLOUDFLARED_TOKEN'] as const;

/** The plain setting (sensitive: false, value in the manifest). */
export const RECEPTOR_PLAIN = 'PUBLIC_URL';
export const RECEPTOR_PUBLIC_URL = 'http://localhost:3000';

export const RECEPTOR_MANIFEST = `project: receptor
environments: [dev, prod]
variables:
  JWT_SECRET:
    description: Signs the API's session tokens; rotating it logs every user out
    tier: 1
    sources: { dev: { generate: "hex:32" }, prod: { env: JWT_SECRET } }
  POSTGRES_PASSWORD:
    description: Password of the postgres superuser of the receptor database
    tier: 1
    sources: { dev: { generate: "password:32" }, prod: { env: POSTGRES_PASSWORD } }
  SERVICE_ROLE_KEY:
    description: Service-role key the backend uses to bypass row-level security
    tier: 1
    sources: { dev: { generate: "urlsafe:32" }, prod: { env: SERVICE_ROLE_KEY } }
  OPENAI_API_KEY:
    description: OpenAI API key the assistant uses for chat completions
    tier: 2
    source: ask
  SMTP_PASS:
    description: Password of the SMTP account that sends sign-up mails
    tier: 2
    source: ask
  CLOUDFLARED_TOKEN:
    description: Cloudflare tunnel token that exposes the receptor web app
    tier: 2
    source: ask
  ${RECEPTOR_PLAIN}:
    description: Public base URL of the receptor web app
    sensitive: false
    source: { value: "${RECEPTOR_PUBLIC_URL}" }
`;

/**
 * The receptor manifest with more variables appended (YAML lines indented by two spaces,
 * under `variables:`), for a test that needs a case the seed does not have.
 */
export function receptorManifestWith(extraVariables: string): string {
  return `${RECEPTOR_MANIFEST}${extraVariables.endsWith('\n') ? extraVariables : `${extraVariables}\n`}`;
}

/** An optional variable (asked when missing), for the cases of optional variables. */
export const OPTIONAL_SENTRY_DSN = `  SENTRY_DSN:
    description: Sentry DSN the API reports its exceptions to
    tier: 2
    required: false
    source: ask
`;
