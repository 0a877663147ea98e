// The OpenAPI 3.1 document of this API, assembled from the schemas the validator enforces.
import { DEFAULT_INTEGRATIONS } from '../../domain/default-integrations';
import { FIXED_STRING_SETTINGS } from '../../domain/integration-rules';
import {
  ensureDefaultsResultSchema,
  fixedSettingsSchema,
  genericSettingsSchema,
  integrationSchema,
  patchBodySchema,
  problemSchema,
  putBodySchema,
  type JsonSchema,
} from './integration.schemas';

const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const problemResponse = (description: string): JsonSchema => ({ description, content: { 'application/problem+json': { schema: ref('Problem') } } });

const idParameter = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string' },
  example: DEFAULT_INTEGRATIONS[0].id,
};

const recordResponse = {
  description: 'The record; ETag carries its version.',
  headers: { ETag: { schema: { type: 'string' }, description: 'The record version, quoted: "3".' } },
  content: { 'application/json': { schema: ref('Integration') } },
};

function writeOperation(kind: 'put' | 'patch'): JsonSchema {
  const name = kind === 'put' ? 'IntegrationPut' : 'IntegrationPatch';
  const fixed = Object.keys(FIXED_STRING_SETTINGS).map((id) => ref(`${pascal(id)}${name}`));
  return {
    operationId: kind === 'put' ? 'updateIntegration' : 'patchIntegration',
    summary: kind === 'put' ? 'Update an integration (the admin UI sends the whole record it read)' : 'Change some fields of an integration',
    description:
      'Never creates: an unknown id is 404. Unknown fields are refused (422). `version`, `createdAt` and `updatedAt` ' +
      'in the body are ignored. Send `If-Match` with the ETag you read to refuse a lost update (412); `If-None-Match: *` ' +
      'on a write is 412 (the record exists). A conditional header that is not `*` or a list of quoted tags is 400. ' +
      `Integrations with fixed settings (${Object.keys(FIXED_STRING_SETTINGS).join(', ')}) use their own schema.`,
    tags: ['integrations'],
    parameters: [
      idParameter,
      { name: 'If-Match', in: 'header', required: false, schema: { type: 'string' } },
      { name: 'If-None-Match', in: 'header', required: false, schema: { type: 'string' } },
    ],
    requestBody: { required: true, content: { 'application/json': { schema: { anyOf: [...fixed, ref(name)] } } } },
    responses: {
      200: recordResponse,
      400: problemResponse('Malformed JSON, path, compressed body, or conditional header'),
      401: problemResponse('No token, or not a valid one'),
      403: problemResponse('A read token may not write'),
      404: problemResponse('No integration with this id'),
      412: problemResponse('If-Match no longer matches (or If-None-Match does); nothing was changed'),
      413: problemResponse('Body too large'),
      415: problemResponse('Body is not application/json'),
      422: problemResponse('The body breaks the schema; `errors` names each field'),
      503: problemResponse('The store did not answer in time (or is known to be down); a write that timed out may still have been applied. Retry-After says when to retry'),
    },
  };
}

export function buildOpenApiDocument(version: string): JsonSchema {
  const schemas: Record<string, JsonSchema> = {
    Integration: integrationSchema,
    Settings: genericSettingsSchema,
    IntegrationPut: putBodySchema(genericSettingsSchema),
    IntegrationPatch: patchBodySchema(genericSettingsSchema),
    EnsureDefaultsResult: ensureDefaultsResultSchema,
    Problem: problemSchema,
  };
  for (const [id, fields] of Object.entries(FIXED_STRING_SETTINGS)) {
    schemas[`${pascal(id)}Settings`] = fixedSettingsSchema(id, fields);
    schemas[`${pascal(id)}IntegrationPut`] = putBodySchema(fixedSettingsSchema(id, fields));
    schemas[`${pascal(id)}IntegrationPatch`] = patchBodySchema(fixedSettingsSchema(id, fields));
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'integrations-service',
      version,
      description:
        'Channel integrations of ai-chatbot-framework. Every /integrations route is also served, unchanged, under ' +
        '/admin/integrations (the admin UI\'s paths); a trailing slash is accepted everywhere. Errors are ' +
        'application/problem+json (RFC 9457).',
    },
    tags: [{ name: 'integrations' }, { name: 'operations' }],
    components: {
      schemas,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'Required only when ADMIN_TOKENS or READ_TOKENS is set.' } },
    },
    security: [{}, { bearer: [] }],
    paths: {
      '/integrations': {
        get: {
          operationId: 'listIntegrations',
          summary: 'List all integrations, sorted by id',
          tags: ['integrations'],
          responses: {
            200: { description: 'All records', content: { 'application/json': { schema: { type: 'array', items: ref('Integration') } } } },
            503: problemResponse('The store did not answer'),
          },
        },
      },
      '/integrations/ensure-defaults': {
        post: {
          operationId: 'ensureDefaultIntegrations',
          summary: 'Insert the default integrations that are missing; never overwrites',
          tags: ['integrations'],
          responses: {
            200: { description: 'Which defaults were created and which existed', content: { 'application/json': { schema: ref('EnsureDefaultsResult') } } },
            503: problemResponse('The store did not answer'),
          },
        },
      },
      '/integrations/{id}': {
        get: {
          operationId: 'getIntegration',
          summary: 'Read one integration',
          tags: ['integrations'],
          parameters: [idParameter, { name: 'If-None-Match', in: 'header', required: false, schema: { type: 'string' } }],
          responses: {
            200: {
              ...recordResponse,
              description: `${recordResponse.description} While the store is down, a copy this replica served within STALE_IF_ERROR_MS, with Age and Warning: 110.`,
            },
            304: { description: 'If-None-Match matches the current version' },
            400: problemResponse('A conditional header that is not * or a list of quoted tags'),
            404: problemResponse('No integration with this id'),
            503: problemResponse('The store did not answer and no recent copy exists'),
          },
        },
        put: writeOperation('put'),
        patch: writeOperation('patch'),
      },
      '/healthz': {
        get: { operationId: 'liveness', summary: 'Liveness: the process is up', tags: ['operations'], security: [], responses: { 200: { description: 'Up' } } },
      },
      '/readyz': {
        get: {
          operationId: 'readiness',
          summary: 'Readiness: the store answers and the defaults are ensured',
          tags: ['operations'],
          security: [],
          responses: { 200: { description: 'Ready' }, 503: { description: 'Starting, store unreachable, or shutting down' } },
        },
      },
      '/metrics': {
        get: {
          operationId: 'metrics',
          summary: 'Prometheus metrics (when METRICS_ENABLED)',
          tags: ['operations'],
          security: [],
          responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': {} } }, 404: { description: 'Metrics disabled' } },
        },
      },
      '/openapi.json': {
        get: { operationId: 'openapi', summary: 'This document', tags: ['operations'], security: [], responses: { 200: { description: 'OpenAPI 3.1' } } },
      },
      '/docs': {
        get: { operationId: 'docs', summary: 'This document, rendered', tags: ['operations'], security: [], responses: { 200: { description: 'HTML page' } } },
      },
    },
  };
}

function pascal(id: string): string {
  return id.replace(/(^|[_-])([a-z0-9])/g, (_m, _sep, c: string) => c.toUpperCase());
}
