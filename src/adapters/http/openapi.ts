// The OpenAPI 3.1 document, generated from the route table: every declared route under every path it answers
// (both API prefixes), every operation with what it answers itself plus what its kind can answer — 400/401/403/
// 421 from who may call it, 405 from the methods its route has, 503 when it uses the store, 500 — and every
// header the service sends. test/http/openapi.spec.ts lints it with Redocly and holds real answers to it.
import { FIXED_STRING_SETTINGS } from '../../domain/integration-rules';
import {
  integrationSchema,
  patchBodySchema,
  problemSchema,
  putBodySchema,
  schemaName,
  settingsSchema,
  type JsonSchema,
} from './integration.schemas';
import { allowedMethods, type Method, type Operation, type ResponseDoc, type RouteSpec } from './route-table';

const HEADERS: Record<string, JsonSchema> = {
  'X-Request-Id': {
    description:
      "The id of this request in the service's log lines (a client's own X-Request-Id is logged as clientRequestId).",
    schema: { type: 'string' },
  },
  ETag: { description: 'The record\'s version, quoted: "3".', schema: { type: 'string' } },
  'Cache-Control': {
    description: 'no-store: records carry credentials, no cache may keep them.',
    schema: { type: 'string' },
  },
  Age: { description: 'On a stale copy: its age in seconds.', schema: { type: 'string' } },
  Warning: {
    description: 'On a stale copy: 110 (Response is Stale): the store did not answer.',
    schema: { type: 'string' },
  },
  'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'string' } },
  'WWW-Authenticate': { description: 'The bearer challenge.', schema: { type: 'string' } },
  Allow: { description: 'The methods this path has.', schema: { type: 'string' } },
  'Unreadable-Integrations': {
    description:
      'The ids of records this replica cannot open (a credential sealed with a key it lacks), left out of the list.',
    schema: { type: 'string' },
  },
};

const headerRef = (name: string) => ({ $ref: `#/components/headers/${name}` });
const schemaRef = (name: string) => ({ $ref: `#/components/schemas/${name}` });

function response(doc: ResponseDoc): JsonSchema {
  const headers = Object.fromEntries(['X-Request-Id', ...(doc.headers ?? [])].map((name) => [name, headerRef(name)]));
  const content = doc.problem
    ? { 'application/problem+json': { schema: schemaRef(schemaName.problem) } }
    : doc.content && Object.fromEntries(Object.entries(doc.content).map(([type, schema]) => [type, { schema }]));
  return { description: doc.description, headers, ...(content ? { content } : {}) };
}

/** What every operation of its kind can answer, besides what it answers itself. */
function kindResponses(operation: Operation, allow: string): Record<number, ResponseDoc> {
  const responses: Record<number, ResponseDoc> = {};
  if (operation.access !== 'open') {
    responses[400] = {
      description: 'Malformed request: a percent-encoding in the path, a conditional header, a JSON body',
      problem: true,
    };
    responses[401] = {
      description: 'No token, or not a valid one (only when the service has tokens)',
      problem: true,
      headers: ['WWW-Authenticate'],
    };
    responses[403] = {
      description:
        `${operation.access === 'write' ? 'A read token may not write; ' : ''}a gateway token without ` +
        `the signed-in person's name, or a name without a gateway token`,
      problem: true,
    };
    responses[421] = { description: 'The Host is not one this service answers to (ALLOWED_HOSTS)', problem: true };
  }
  responses[405] = {
    description: `A method this path does not have (it has ${allow})`,
    problem: true,
    headers: ['Allow'],
  };
  responses[500] = { description: 'An unexpected error; the request id says which log lines', problem: true };
  if (operation.doc.usesStore) {
    responses[503] = {
      description:
        'The store did not answer in time, is known to be down, or holds a record this replica cannot open; a write ' +
        'that timed out may still have been applied',
      problem: true,
      headers: ['Retry-After'],
    };
  }
  return responses;
}

const capitalized = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);

export function buildOpenApiDocument(routes: readonly RouteSpec[], version: string): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const spec of routes.filter((route) => !route.undocumented)) {
    const allow = allowedMethods(spec).join(', ');
    for (const path of spec.paths) {
      const admin = path.startsWith('/admin/');
      const params = [...path.matchAll(/:(\w+)/g)].map(([, name]) => ({
        name,
        in: 'path',
        required: true,
        schema: { type: 'string' },
        ...(name === 'id' ? { example: 'facebook' } : {}),
      }));
      const item: Record<string, JsonSchema> = {};
      for (const [method, operation] of Object.entries(spec.methods) as [Method, Operation][]) {
        const { operationId, summary, description, tags, parameters = [], requestBody, responses } = operation.doc;
        const all = { ...kindResponses(operation, allow), ...responses };
        item[method.toLowerCase()] = {
          operationId: admin ? `admin${capitalized(operationId)}` : operationId,
          summary,
          ...(description ? { description } : {}),
          tags: [...tags],
          ...(params.length + parameters.length > 0 ? { parameters: [...params, ...parameters] } : {}),
          ...(requestBody ? { requestBody } : {}),
          security: operation.access === 'open' ? [] : [{ bearer: [] }],
          responses: Object.fromEntries(Object.entries(all).map(([status, doc]) => [status, response(doc)])),
        };
      }
      paths[path.replace(/:(\w+)/g, '{$1}')] = item;
    }
  }

  const schemas: Record<string, JsonSchema> = {
    [schemaName.record]: integrationSchema,
    Settings: settingsSchema(),
    [schemaName.put]: putBodySchema(),
    [schemaName.patch]: patchBodySchema(),
    [schemaName.problem]: problemSchema,
    Readiness: {
      type: 'object',
      properties: {
        status: { enum: ['ready', 'not ready'] },
        checks: { type: 'object', additionalProperties: { type: 'string' } },
      },
      required: ['status', 'checks'],
    },
  };
  for (const id of Object.keys(FIXED_STRING_SETTINGS)) {
    schemas[schemaName.fixed(id, 'settings')] = settingsSchema(id);
    schemas[schemaName.fixed(id, 'put')] = putBodySchema(id);
    schemas[schemaName.fixed(id, 'patch')] = patchBodySchema(id);
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'integrations-service',
      version,
      description:
        'Channel integrations of ai-chatbot-framework. Every /integrations route is also served, unchanged, under ' +
        '/admin/integrations ' +
        "(the admin UI's paths); a trailing slash is accepted everywhere. Errors are application/problem+json (RFC " +
        '9457).',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: '/', description: 'This service, where this document was fetched from' }],
    tags: [
      { name: 'integrations', description: 'The integrations: read by the bot runtime, edited in the admin UI' },
      { name: 'operations', description: 'Probes, metrics and this document' },
    ],
    security: [{ bearer: [] }],
    paths,
    components: {
      schemas,
      headers: HEADERS,
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'Required when the service has tokens: ADMIN_TOKENS read and write, READ_TOKENS only read, ' +
            'GATEWAY_TOKENS read and write on behalf of the person named in X-Forwarded-User. Without any token ' +
            'configured the API is open.',
        },
      },
    },
  };
}
