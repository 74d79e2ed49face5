import { z } from 'zod';
import type { RegisteredRoute } from './route.js';

type Json = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const s = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'openapi-3.0' }) as Json;
  delete s.$schema;
  return s;
}

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query'): Json[] {
  if (!schema) return [];
  const s = jsonSchema(schema, 'input') as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(s.properties ?? {}).map(([name, prop]) => {
    const { description, ...rest } = prop as Json & { description?: string };
    const isArray = rest.type === 'array';
    return {
      name,
      in: where,
      required: where === 'path' || (s.required ?? []).includes(name),
      ...(description ? { description } : {}),
      schema: rest,
      ...(isArray ? { style: 'form', explode: true } : {}),
    };
  });
}

const ErrorBody = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'requestId'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        requestId: { type: 'string' },
        fields: {
          type: 'array',
          items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } },
        },
      },
    },
  },
};

const IDEMPOTENCY_PARAMETER = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description:
    'Makes a retry safe: a repeat of the request with the same key (same path and body, the same caller, ' +
    'within 24 hours) answers with the message the first one created instead of sending another. ' +
    '1–255 visible ASCII characters, e.g. a UUID. The same key with another path or body: 409.',
  schema: { type: 'string', minLength: 1, maxLength: 255 },
};

const IDEMPOTENT_REPLAYED_HEADER = {
  description: '"true" when the answer is that of an earlier request with the same Idempotency-Key',
  schema: { type: 'string', enum: ['true'] },
};

/** OpenAPI 3.0 document built from the very schemas the routes validate with. */
export function buildOpenApi(routes: RegisteredRoute[], version: string): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const r of routes) {
    const path = r.url.replace(/:(\w+)/g, '{$1}');
    const op: Json = {
      summary: r.summary,
      tags: r.tags,
      operationId: `${r.method.toLowerCase()}${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)/g, (_m, c: string) => c.toUpperCase())}`,
      parameters: [
        ...parameters(r.params, 'path'),
        ...parameters(r.query, 'query'),
        ...(r.idempotent ? [IDEMPOTENCY_PARAMETER] : []),
      ],
      responses: {
        [String(r.status ?? 200)]: {
          description: 'Success',
          ...(r.idempotent ? { headers: { 'Idempotent-Replayed': IDEMPOTENT_REPLAYED_HEADER } } : {}),
          content: r.produces
            ? { [r.produces]: { schema: { type: 'string' } } }
            : { 'application/json': { schema: r.response ? jsonSchema(r.response, 'output') : { type: 'object' } } },
        },
        default: {
          description: 'Error',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
    };
    if (r.body)
      op.requestBody = { required: true, content: { 'application/json': { schema: jsonSchema(r.body, 'input') } } };
    if (r.auth === 'none') op.security = [];
    if (r.roles) op['x-roles'] = r.roles;
    paths[path] ??= {};
    paths[path][r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'Dziennik API',
      version,
      description:
        'Messaging desk: dialogs from SMS, Telegram, Viber and Messenger, the Message log and its CSV export. ' +
        'Authenticate with a session cookie (plus X-CSRF-Token on writes) or Authorization: Bearer <API token>.',
    },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        cookie: { type: 'apiKey', in: 'cookie', name: 'dz_session' },
      },
      schemas: { Error: ErrorBody },
    },
    security: [{ bearer: [] }, { cookie: [] }],
    paths,
  };
}
