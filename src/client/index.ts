/**
 * `coffer/client`: a typed client for the HTTP API of `coffer serve` (docs/http-api.md), for
 * applications, CI jobs and the CLI's remote mode. It uses the global fetch of Node >= 20
 * and has no dependencies; it never loads SQLite or the CLI.
 *
 * Every failure is a `CofferError` with the code the server sent (SECRET_NOT_FOUND,
 * VERSION_CONFLICT, FORBIDDEN, ...), SERVER_UNREACHABLE when the server cannot be reached,
 * or SERVER_BAD_RESPONSE when the answer is not a coffer answer. No error message contains
 * the token. The client does not retry, cache or log.
 *
 * @example
 * ```ts
 * import { createClient } from 'coffer/client';
 *
 * const coffer = createClient({ url: process.env.COFFER_URL!, token: process.env.COFFER_TOKEN! });
 * const { value } = await coffer.getSecret('project/consilio/stripe_api_key', { env: 'prod' });
 * await coffer.setSecret('project/consilio/webhook_secret', newValue, { env: 'prod', ifVersion: 3 });
 * ```
 */
export { CofferError, type ErrorCode, isCofferError } from '../core/errors.js';
export { type CofferClient, createClient } from './client.js';
export { type ClientServiceOptions, clientSecretsService, type SecretsService } from './service.js';
export type { FetchFunction, FetchInit, FetchResponse } from './transport.js';
export type * from './types.js';
