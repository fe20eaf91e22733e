/**
 * Bad input against every route of the OpenAPI document (fast-check, in process): malformed
 * JSON, wrong types, huge bodies, path traversal (`..`, `%2e%2e`, encoded slashes), bad UTF-8
 * in bodies, paths and queries, odd headers and tokens. Whatever arrives, the answer is
 * never a 5xx, every error has the `{code, message, requestId}` shape without a value or a
 * token in it, and the server keeps serving valid requests with an intact audit chain.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectErrorShape,
  type Kit,
  makeKit,
  SENTINEL,
  seed,
  withWrongSecret,
} from '../../test/helpers/server-kit.js';

const PATH = 'project/app/db_url';
const LIMIT = 64 * 1024;

let kit: Kit;
let routes: [method: string, template: string][];
beforeAll(async () => {
  // A small body limit keeps "huge" bodies cheap; a huge failure budget keeps the rate limit
  // out of the way (it has its own tests), so every route really parses what it gets.
  kit = await makeKit({ bodyLimitBytes: LIMIT, rateLimit: { maxFailures: 1_000_000 } });
  await seed(kit, PATH, 'the-original-value');
  await seed(kit, 'project/app/fuzz_target', 'anything');
  const doc = (await kit.send('GET', '/v1/openapi.json')).json as {
    paths: Record<string, Record<string, unknown>>;
  };
  routes = Object.entries(doc.paths).flatMap(([template, item]) =>
    Object.keys(item).map((method) => [method.toUpperCase(), template] as [string, string]),
  );
});
afterAll(async () => {
  await kit.dispose();
});

/** Bytes as `%XX` escapes: any byte sequence, valid UTF-8 or not, fits in a URL. */
const percent = (bytes: Uint8Array) =>
  [...bytes].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join('');

const segment = fc.oneof(
  fc.constantFrom(
    ...['project', 'meta', 'app', 'db_url', '..', '.', '%2e%2e', '%2E%2E', '%2e', '..%2f..%2f'],
    ...['%2F', 'a%2Fb', '%2f..%2f', '%5C', '..%5c..', '%FF', '%C3%28', '%ED%A0%80', '%00'],
    ...['%', '%zz', '%E2%80%AE', '~', ';x=1', 'a%20b', 'DB_URL', 'x'.repeat(300), '%25'],
  ),
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
  fc.uint8Array({ maxLength: 8 }).map(percent),
);

const queryPart = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('env', 'version', 'prefix', 'includeDeleted', 'afterSeq', 'limit', 'path'),
      fc.oneof(
        fc.constantFrom('dev', 'prod', '', '..', '-1', '0', '1e3', 'true', 'project', '%FF'),
        fc.constantFrom('project/app', '../../etc', '%2e%2e%2fmeta', '99999999999999999999'),
        fc.string({ maxLength: 10 }).map(encodeURIComponent),
        fc.uint8Array({ maxLength: 6 }).map(percent),
      ),
    )
    .map(([k, v]) => `${k}=${v}`),
  fc.constantFrom('x=1', '=', '&&', '%', 'env', 'env=dev&env=dev', '__proto__=1', 'constructor'),
);

const url = fc
  .tuple(
    fc.integer({ min: 0, max: 1000 }),
    fc.array(segment, { minLength: 3, maxLength: 4 }),
    fc.array(queryPart, { maxLength: 3 }),
    fc.boolean(),
  )
  .map(([pick, segs, query, extra]) => {
    const [method, template] = routes[pick % routes.length]!;
    let i = 0;
    let path = template.replace(/\{\w+\}/g, () => segs[i++ % segs.length]!);
    if (extra) path += `/${segs.at(-1)}`;
    return { method, path: query.length > 0 ? `${path}?${query.join('&')}` : path };
  });

const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
const body: fc.Arbitrary<string | Uint8Array | undefined> = fc.oneof(
  fc.constant(undefined),
  // malformed JSON
  fc.constantFrom('', '{', '{"value":', 'null', 'nul', '[]', '"x"', '{"value":"a"}}', '\u0000'),
  fc.constantFrom('{"value":"\\ud800"}', '{"value":"\\u00"}', '{"a":1,"a":2}', '01', 'NaN'),
  fc.string({ maxLength: 40 }),
  // wrong types, unknown keys, prototype keys, nesting
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc
    .record(
      {
        value: fc.oneof(
          fc.constant(SENTINEL),
          fc.integer(),
          fc.constant(null),
          fc.array(fc.string()),
        ),
        description: fc.oneof(fc.string({ maxLength: 30 }), fc.integer()),
        ifVersion: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(-1)),
        name: fc.oneof(fc.constantFrom('deploy', '', 'Bad Name', '../x'), fc.string()),
        allow: fc.oneof(fc.array(fc.string({ maxLength: 12 }), { maxLength: 3 }), fc.string()),
        caps: fc.array(fc.constantFrom('read', 'admin', 'root', ''), { maxLength: 3 }),
        ttl: fc.oneof(fc.constantFrom('30d', '0s', '-1d', '1y'), fc.integer()),
      },
      { requiredKeys: [] },
    )
    .map((o) => JSON.stringify(o)),
  fc.constantFrom('{"__proto__":{"x":1},"value":"v"}', '{"constructor":{"prototype":{}}}'),
  fc.constant(deep),
  // bad UTF-8 and binary
  fc.uint8Array({ maxLength: 64 }),
  fc.constantFrom(
    new Uint8Array([0x7b, 0x22, 0x76, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
    new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]),
    new Uint8Array([0xc0, 0xaf]),
  ),
  // over the body limit
  fc.constantFrom(
    JSON.stringify({ value: 'v'.repeat(LIMIT), description: 'A big one for the limit' }),
    'x'.repeat(LIMIT + 1),
  ),
);

const headers = fc
  .record(
    {
      authorization: fc.oneof(
        fc.constantFrom('admin', 'read', 'app', 'expired', 'revoked', 'wrong'),
        fc.constantFrom(
          '',
          'Bearer',
          'Bearer ',
          'Basic dXNlcjpwYXNz',
          `Bearer ${'a'.repeat(5000)}`,
        ),
        fc.constantFrom('Bearer coffer_0123456789abcdef_', 'bearer  coffer_x_y', 'Bearer \t'),
        fc.string({ maxLength: 30 }).map((s) => `Bearer ${s.replace(/[^\x20-\x7e]/g, '')}`),
      ),
      'content-type': fc.constantFrom(
        ...['application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON'],
        ...['application/json;charset=latin1', 'text/plain', 'application/jsonp', ''],
        ...['multipart/form-data; boundary=x', 'application/x-www-form-urlencoded'],
      ),
      'x-forwarded-for': fc.constantFrom('127.0.0.1', '::1, 10.0.0.1', 'garbage'),
      'x-request-id': fc.constantFrom('mine', '../../x', ''),
      'content-encoding': fc.constantFrom('gzip', 'identity', 'br'),
      accept: fc.constantFrom('text/html', '*/*', 'application/xml'),
      'x-odd': fc.string({ maxLength: 20 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
    },
    { requiredKeys: [] },
  )
  .map((h) => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(h)) {
      if (k !== 'authorization') out[k] = v;
      else if (v in kit.tokens) out[k] = `Bearer ${kit.tokens[v as keyof Kit['tokens']]}`;
      else if (v === 'wrong') out[k] = `Bearer ${withWrongSecret(kit.tokens.admin)}`;
      else out[k] = v;
    }
    return out;
  });

const address = fc.constantFrom('127.0.0.1', '::1', '::ffff:10.1.2.3', '', '203.0.113.5');

/** Sends one generated request; checks the answer is no 5xx and, if an error, in shape. */
async function probe(
  statuses: Map<number, number>,
  method: string,
  path: string,
  options: {
    body?: string | Uint8Array | undefined;
    headers: Record<string, string>;
    address: string;
  },
): Promise<void> {
  // (the fetch API cannot build a GET with a body)
  const body = method === 'GET' ? undefined : options.body;
  const a = await kit.send(method, path, { ...options, body });
  statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
  expect(a.status, `${method} ${path} -> ${a.text.slice(0, 300)}`).toBeLessThan(500);
  if (a.status >= 400) expectErrorShape(a, kit.allTokens());
}

describe('fuzzing every route', () => {
  it('odd paths, queries, headers, tokens and bodies: 2xx or 4xx only, errors in shape', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(url, body, headers, address, async (u, b, h, addr) => {
        await probe(statuses, u.method, u.path, { body: b, headers: h, address: addr });
      }),
      { numRuns: 400 },
    );
    const seen = [...statuses.keys()];
    for (const status of [400, 401, 404]) expect(seen).toContain(status);
    const errors = seen.filter((s) => s >= 400).reduce((n, s) => n + statuses.get(s)!, 0);
    expect(errors).toBeGreaterThan(300);
  });

  it('bodies sent to the routes that take one, with a valid token and path', async () => {
    const statuses = new Map<number, number>();
    const target = fc.constantFrom(
      ['PUT', '/v1/secrets/project/app/fuzz_target'],
      ['PUT', '/v1/secrets/project/app/new_key?env=prod'],
      ['POST', '/v1/tokens'],
    );
    const json = fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'Application/JSON',
    );
    const mediaType = fc.oneof(
      { weight: 4, arbitrary: json },
      { weight: 1, arbitrary: fc.constantFrom('text/plain', 'application/jsonx', '') },
    );
    await fc.assert(
      fc.asyncProperty(target, body, mediaType, async ([method, path], b, type) => {
        const h = { authorization: `Bearer ${kit.tokens.admin}`, 'content-type': type };
        await probe(statuses, method, path, { body: b, headers: h, address: '127.0.0.1' });
      }),
      { numRuns: 300 },
    );
    // the generator reaches every failure of a body, not only one of them
    const seen = [...statuses.keys()];
    for (const status of [400, 413, 415]) expect(seen).toContain(status);
  });

  it('the server keeps serving afterwards, and the audit chain is intact', async () => {
    const read = await kit.send('GET', `/v1/secrets/${PATH}`, { token: kit.tokens.read });
    expect(read.status).toBe(200);
    // (a generated request may have written it; what the API answers is what is stored)
    expect(read.json.value).toBe((await kit.vault.get(PATH, 'dev')).value);
    const write = await kit.send('PUT', `/v1/secrets/${PATH}`, {
      token: kit.tokens.write,
      body: { value: 'after-the-fuzz', ifVersion: read.json.version },
    });
    expect(write.status).toBe(200);
    const verify = await kit.send('GET', '/v1/audit/verify', { token: kit.tokens.admin });
    expect(verify.json.ok).toBe(true);
    expect((await kit.send('GET', '/healthz')).status).toBe(200);
  });

  it('fixed attacks on every route get a 4xx', async () => {
    // (`/v1/projects/%2e%2e/secrets` is not here: URL parsing, in node-server as in fetch,
    // turns `%2e%2e` into `..` and the request becomes GET /v1/secrets, checked as such)
    const attacks = [
      '/v1/secrets/project/app/%2e%2e',
      '/v1/secrets/project/%2e%2e/%2e%2e',
      '/v1/secrets/project/app/..%2f..%2fmeta%2fx',
      '/v1/secrets/project%2Fapp%2Fdb_url',
      '/v1/secrets/project/app/db_url%00',
      '/v1/secrets/project/app/%FF%FE',
      '/v1/secrets/project/app/%C3%28/history',
      '/v1/projects/app%2F..%2Fother/secrets',
      '/v1/tokens/..%2Fadmin',
      '/v1/tokens/%FF',
      '/v1/secrets?prefix=..%2F..%2F',
      '/v1/secrets?prefix=%FF',
      '/v1/audit?path=%ED%A0%80&limit=%FF',
    ];
    for (const path of attacks) {
      for (const method of ['GET', 'PUT', 'POST', 'DELETE']) {
        const a = await kit.send(method, path, {
          token: kit.tokens.admin,
          body: method === 'GET' ? undefined : { value: SENTINEL, description: 'An attack here' },
        });
        expect([path, method, a.status >= 400 && a.status < 500]).toEqual([path, method, true]);
        expectErrorShape(a, kit.allTokens());
      }
    }
    expect((await kit.vault.list({})).map((i) => i.path)).not.toContainEqual(
      expect.stringMatching(/\.\.|%/),
    );
  });
});
