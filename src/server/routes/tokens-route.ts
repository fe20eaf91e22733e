/**
 * `/v1/tokens` (admin tokens only): list (never a hash), create (the answer is the only
 * time the token is shown), revoke by name. An admin token manages only tokens within its
 * own policy (core/access/tokens.ts): it creates no token wider than itself, and lists and
 * revokes only tokens whose globs, environments, capabilities and expiry lie within its own.
 * A revocation takes effect on this server at once and on other instances within their
 * token cache time (auth.ts).
 */
import { createToken, listTokens, revokeToken } from '../../core/access/tokens.js';
import type { TokenAuthenticator } from '../auth.js';
import { addRoute, type Routes } from '../route.js';
import { CreatedToken, NoQuery, Revoked, TokenBody, TokenList } from '../schemas.js';

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
      summary:
        "List tokens within the caller's policy, revoked ones included (never the token or its hash)",
      action: 'token_list',
      capability: 'admin',
      query: NoQuery,
      response: TokenList,
    },
    async ({ vault, policy }) => ({ items: await listTokens(vault, policy) }),
  );

  addRoute(
    routes,
    {
      method: 'post',
      path: '/v1/tokens',
      summary: "Create a token within the caller's policy; the answer is the only time it is shown",
      action: 'token_create',
      capability: 'admin',
      query: NoQuery,
      body: TokenBody,
      response: CreatedToken,
      status: 201,
    },
    ({ body, vault, policy, c }) =>
      createToken(vault, body, now(), { policy, deny: c.get('deny') }),
  );

  addRoute(
    routes,
    {
      method: 'delete',
      path: '/v1/tokens/{name}',
      summary: "Revoke a token within the caller's policy, by name",
      action: 'token_revoke',
      capability: 'admin',
      query: NoQuery,
      response: Revoked,
    },
    async ({ params, vault, policy, c }) => {
      const token = await revokeToken(vault, params.name ?? '', now(), {
        policy,
        deny: c.get('deny'),
      });
      authenticator.forget(token.name);
      return { name: token.name, revoked: true as const };
    },
  );
}
