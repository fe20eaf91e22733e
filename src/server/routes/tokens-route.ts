/**
 * `/v1/tokens` (admin tokens only): list (never a hash), create (the answer is the only
 * time the token is shown), revoke by name. A revocation takes effect on this server at
 * once and on other instances within their token cache time (auth.ts).
 */
import type { TokenAuthenticator } from '../auth.js';
import { addRoute, type Routes } from '../route.js';
import { CreatedToken, NoQuery, Revoked, TokenBody, TokenList } from '../schemas.js';
import { createToken, listTokens, revokeToken } from '../token-service.js';

export function tokensRoutes(
  routes: Routes,
  authenticator: TokenAuthenticator,
  now: () => Date,
): void {
  addRoute(
    routes,
    {
      method: 'get',
      path: '/v1/tokens',
      summary: 'List tokens, revoked ones included (never the token or its hash)',
      action: 'token_list',
      capability: 'admin',
      query: NoQuery,
      response: TokenList,
    },
    async ({ vault }) => ({ items: await listTokens(vault) }),
  );

  addRoute(
    routes,
    {
      method: 'post',
      path: '/v1/tokens',
      summary: 'Create a token; the answer is the only time it is shown',
      action: 'token_create',
      capability: 'admin',
      query: NoQuery,
      body: TokenBody,
      response: CreatedToken,
      status: 201,
    },
    ({ body, vault }) => createToken(vault, body, now()),
  );

  addRoute(
    routes,
    {
      method: 'delete',
      path: '/v1/tokens/{name}',
      summary: 'Revoke a token by name',
      action: 'token_revoke',
      capability: 'admin',
      query: NoQuery,
      response: Revoked,
    },
    async ({ params, vault }) => {
      const token = await revokeToken(vault, params.name ?? '', now());
      authenticator.forget(token.name);
      return { name: token.name, revoked: true as const };
    },
  );
}
