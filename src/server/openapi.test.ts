/**
 * The OpenAPI document served at `/v1/openapi.json`: OpenAPI 3.1 in form, every route of
 * docs/http-api.md present (and nothing else), schemas generated from the zod schemas the
 * server validates with, every `$ref` resolvable.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type Kit, makeKit } from '../../test/helpers/server-kit.js';
import { API_SCHEMAS, SetBody, TokenBody } from './schemas.js';

type Json = Record<string, unknown>;
type Operation = {
  operationId: string;
  summary: string;
  security: unknown[];
  'x-coffer-capability'?: string;
  parameters: { name: string; in: string; required: boolean; schema: Json }[];
  requestBody?: { content: { 'application/json': { schema: { $ref: string } } } };
  responses: Record<string, { description: string; content?: Json }>;
};

const METHODS = ['get', 'put', 'post', 'delete'] as const;

/** `GET /v1/secrets/{path}` etc. from the route table of docs/http-api.md, with capabilities. */
function documentedRoutes(): Map<string, string> {
  const doc = readFileSync(join(import.meta.dirname, '../../docs/http-api.md'), 'utf8');
  const out = new Map<string, string>();
  for (const m of doc.matchAll(/^\| `(GET|PUT|POST|DELETE) ([^`?]+)[^`]*` \| ([a-z]+) \|/gm)) {
    const path = m[2]!.replace('{path}', '{scope}/{group}/{name}');
    out.set(`${m[1]!.toLowerCase()} ${path}`, m[3]!);
  }
  return out;
}

let kit: Kit;
let doc: Json;
beforeAll(async () => {
  kit = await makeKit({ version: '1.2.3' });
  doc = (await kit.send('GET', '/v1/openapi.json')).json;
});
afterAll(async () => {
  await kit.dispose();
});

function operations(): [string, Operation][] {
  const out: [string, Operation][] = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
    for (const method of METHODS) {
      if (item[method] !== undefined) out.push([`${method} ${path}`, item[method] as Operation]);
    }
  }
  return out;
}

describe('GET /v1/openapi.json', () => {
  it('is an OpenAPI 3.1 document with info, paths, components and bearer security', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: 'coffer', version: '1.2.3' });
    const components = doc.components as Json;
    expect(components.securitySchemes).toEqual({
      bearer: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    });
    for (const [path] of Object.entries(doc.paths as Json)) expect(path).toMatch(/^\//);
  });

  it('lists exactly the routes of docs/http-api.md, with their capabilities', () => {
    const documented = documentedRoutes();
    expect(documented.size).toBe(22);
    const served = new Map(
      operations().map(([key, op]) => [key, op['x-coffer-capability'] ?? 'none']),
    );
    expect(served).toEqual(documented);
  });

  it('each operation is well formed: unique id, path parameters, security, error answers', () => {
    const ids = new Set<string>();
    for (const [key, op] of operations()) {
      const [, path] = key.split(' ') as [string, string];
      expect(op.operationId).toMatch(/^[A-Za-z0-9_]+$/);
      expect(ids.has(op.operationId)).toBe(false);
      ids.add(op.operationId);
      expect(op.summary.length).toBeGreaterThan(5);
      const pathParams = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      expect(op.parameters.filter((p) => p.in === 'path').map((p) => p.name)).toEqual(pathParams);
      for (const p of op.parameters) {
        expect(['path', 'query']).toContain(p.in);
        expect(p.schema).toBeTypeOf('object');
        if (p.in === 'path') expect(p.required).toBe(true);
      }
      const statuses = Object.keys(op.responses);
      expect(statuses.some((s) => s === '200' || s === '201')).toBe(true);
      if (op['x-coffer-capability'] !== undefined) {
        expect(op.security).toEqual([{ bearer: [] }]);
        expect(statuses).toEqual(expect.arrayContaining(['400', '401', '403', '429', '500']));
      } else {
        expect(op.security).toEqual([]);
      }
      expect(statuses.includes('413')).toBe(op.requestBody !== undefined);
    }
  });

  it('query parameters come from the strict query schemas', () => {
    const ops = new Map(operations());
    const names = (key: string) => ops.get(key)!.parameters.filter((p) => p.in === 'query');
    expect(names('get /v1/secrets/{scope}/{group}/{name}').map((p) => p.name)).toEqual([
      'env',
      'version',
    ]);
    expect(names('get /v1/secrets').map((p) => p.name)).toEqual([
      'prefix',
      'env',
      'includeDeleted',
    ]);
    expect(names('get /v1/audit').map((p) => p.name)).toEqual(['afterSeq', 'limit', 'path']);
    const env = names('get /v1/secrets').find((p) => p.name === 'env') as unknown as Json;
    expect(env.description).toBe('environment (default dev)');
    expect(env.required).toBe(false);
  });

  it('component schemas are the zod schemas, and every $ref resolves', () => {
    const schemas = (doc.components as { schemas: Record<string, Json> }).schemas;
    const ids = [...Object.keys(schemas)].sort();
    const registered: string[] = [];
    for (const schema of [SetBody, TokenBody]) registered.push(API_SCHEMAS.get(schema)!.id);
    expect(ids).toEqual(expect.arrayContaining(registered));
    expect(ids).toEqual(
      expect.arrayContaining(['Error', 'SecretValue', 'SecretInfo', 'AuditRecord', 'TokenInfo']),
    );
    expect(schemas.SetBody).toMatchObject({
      type: 'object',
      additionalProperties: false,
      required: ['value'],
      properties: { value: { type: 'string' }, ifVersion: { type: 'integer', minimum: 0 } },
    });
    expect(schemas.Error).toMatchObject({
      required: ['code', 'message', 'requestId'],
      properties: { hint: { type: 'string' } },
    });
    // the same JSON Schema zod makes of the schema the server checks bodies with
    const direct = z.toJSONSchema(TokenBody) as Json;
    expect(schemas.TokenRequest!.properties).toEqual(direct.properties);
    const text = JSON.stringify(doc);
    const refs = [...text.matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(20);
    for (const ref of refs) {
      expect(ref).toMatch(/^#\/components\/schemas\/\w+$/);
      expect(schemas[ref.split('/').at(-1)!]).toBeDefined();
    }
    expect(text).not.toContain('"$schema"');
  });

  it('the request bodies of PUT /v1/secrets/{path}, its check-set and POST /v1/tokens refer to their schemas', () => {
    const ops = new Map(operations());
    const body = (key: string) =>
      ops.get(key)!.requestBody!.content['application/json'].schema.$ref;
    expect(body('put /v1/secrets/{scope}/{group}/{name}')).toBe('#/components/schemas/SetBody');
    const check = 'post /v1/secrets/{scope}/{group}/{name}/check-set';
    expect(body(check)).toBe('#/components/schemas/CheckSetBody');
    expect(ops.get(check)!['x-coffer-capability']).toBe('write');
    expect(ops.get(check)!.responses['200']!.content).toEqual({
      'application/json': { schema: { $ref: '#/components/schemas/SetChecked' } },
    });
    // A check never takes a value: the body has no such field, and no other one either.
    const schemas = (doc.components as { schemas: Record<string, Json> }).schemas;
    expect(schemas.CheckSetBody).toMatchObject({ type: 'object', additionalProperties: false });
    expect(Object.keys(schemas.CheckSetBody!.properties as Json).sort()).toEqual([
      'description',
      'ifVersion',
    ]);
    expect(body('post /v1/tokens')).toBe('#/components/schemas/TokenRequest');
    expect(ops.get('post /v1/tokens')!.responses['201']).toBeDefined();
  });
});
