/**
 * The OpenAPI 3.1 document of the HTTP API (`GET /v1/openapi.json`), generated from the
 * route specs and the zod schemas the server validates with (zod 4's `z.toJSONSchema`,
 * JSON Schema 2020-12, which is OpenAPI 3.1's schema dialect). Named schemas become
 * `components.schemas`; query parameters are listed one by one from each route's strict
 * query schema; every route that needs a token says which capability (`x-coffer-capability`)
 * and lists the error answers it can give.
 */
import { z } from 'zod';
import type { AnyRouteSpec } from './route.js';
import { API_SCHEMAS, ErrorAnswer } from './schemas.js';

type Json = Record<string, unknown>;

const ERROR_STATUSES: Record<string, string> = {
  '400': 'Invalid request (query, path, environment, body)',
  '401': 'Missing, unknown, expired or revoked token',
  '403': "The token's capabilities, paths or environments do not cover the request",
  '404': 'No such secret, version or token',
  '409': 'Check-and-set conflict, or the name exists already',
  '413': 'Value or body too large',
  '415': 'The body is not application/json',
  '429': 'Too many failed authentications from this address (see Retry-After)',
  '500': 'Integrity failure or internal error',
};

function ref(schema: z.ZodType): Json {
  const id = API_SCHEMAS.get(schema)?.id;
  if (id === undefined) throw new Error('an API schema has no id in API_SCHEMAS');
  return { $ref: `#/components/schemas/${id}` };
}

function components(): Record<string, Json> {
  const out = z.toJSONSchema(API_SCHEMAS, { uri: (id) => `#/components/schemas/${id}` }) as {
    schemas: Record<string, Json>;
  };
  for (const schema of Object.values(out.schemas)) {
    delete schema.$schema;
    delete schema.$id;
  }
  return out.schemas;
}

function parameters(spec: AnyRouteSpec): Json[] {
  const out: Json[] = [];
  for (const m of spec.path.matchAll(/\{(\w+)\}/g)) {
    out.push({ name: m[1], in: 'path', required: true, schema: { type: 'string' } });
  }
  const query = z.toJSONSchema(spec.query, { io: 'input' }) as {
    properties?: Record<string, Json>;
    required?: string[];
  };
  for (const [name, schema] of Object.entries(query.properties ?? {})) {
    const { description, ...rest } = schema;
    out.push({
      name,
      in: 'query',
      required: query.required?.includes(name) ?? false,
      schema: rest,
      ...(description !== undefined ? { description } : {}),
    });
  }
  return out;
}

function operation(spec: AnyRouteSpec): Json {
  const errors: Json = {};
  const codes =
    spec.capability === null
      ? ['500']
      : Object.keys(ERROR_STATUSES).filter((s) => spec.body !== undefined || !/41[35]/.test(s));
  for (const status of codes) {
    errors[status] = {
      description: ERROR_STATUSES[status],
      content: { 'application/json': { schema: ref(ErrorAnswer) } },
    };
  }
  return {
    summary: spec.summary,
    operationId: `${spec.method}${spec.path.replace(/\{(\w+)\}/g, 'By_$1').replace(/[^A-Za-z0-9_]+/g, '_')}`,
    ...(spec.capability !== null
      ? { security: [{ bearer: [] }], 'x-coffer-capability': spec.capability }
      : { security: [] }),
    parameters: parameters(spec),
    ...(spec.body !== undefined
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: ref(spec.body) } },
          },
        }
      : {}),
    responses: {
      [String(spec.status ?? 200)]: {
        description: 'OK',
        content: { 'application/json': { schema: ref(spec.response) } },
      },
      ...errors,
    },
  };
}

/** The document for these routes; `version` is coffer's package version. */
export function openApiDocument(specs: readonly AnyRouteSpec[], version: string): Json {
  const paths: Record<string, Json> = {};
  for (const spec of specs) {
    paths[spec.path] = { ...paths[spec.path], [spec.method]: operation(spec) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'coffer',
      version,
      description: 'The HTTP API of `coffer serve`; see docs/http-api.md.',
    },
    paths,
    components: {
      schemas: components(),
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'coffer_<id>_<secret>' },
      },
    },
  };
}
