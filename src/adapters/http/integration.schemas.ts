// JSON Schemas (2020-12) of the API's bodies and answers, built from the domain's rules (each rule kind gives
// its own schema). The request validator compiles them and the OpenAPI document embeds them, so what is
// documented is what is enforced.
import type { JsonSchema } from '../../domain/field-rules';
import {
  WRITABLE_FIELDS,
  WRITABLE_FIELD_NAMES,
  isOptionalField,
  type FieldSpec,
} from '../../domain/integration-fields';
import { ID_RULE } from '../../domain/integration-rules';

export type { JsonSchema } from '../../domain/field-rules';

/** The names the document's components give these schemas. */
export const schemaName = {
  record: 'Integration',
  put: 'IntegrationPut',
  patch: 'IntegrationPatch',
  problem: 'Problem',
  fixed: (id: string, kind: 'put' | 'patch' | 'settings'): string => {
    const name = id.replace(/(^|[_-])([a-z0-9])/g, (_m, _sep, c: string) => c.toUpperCase());
    return `${name}${kind === 'settings' ? 'Settings' : kind === 'put' ? 'IntegrationPut' : 'IntegrationPatch'}`;
  },
};

/** The fields the service sets itself: in every record it answers, ignored in a body. */
export const SERVER_SET_FIELDS = ['version', 'createdAt', 'updatedAt'] as const;

/** Each writable field's schema for the record `id` (undefined: any record). */
function fieldSchemas(id: string | undefined): Record<string, JsonSchema> {
  return Object.fromEntries(
    WRITABLE_FIELD_NAMES.map((field) => {
      const { rule, description } = WRITABLE_FIELDS[field] as FieldSpec;
      return [
        field,
        { ...rule.schema(id), description: `${description}${isOptionalField(field) ? ' Optional.' : ''}` },
      ];
    }),
  );
}

const idSchema: JsonSchema = {
  ...ID_RULE.schema(),
  description: 'Lowercase slug; the key of the record; never changes.',
};

/** The fields of a body: an optional field also takes `null`, which clears it. */
function writableFieldSchemas(id: string | undefined): Record<string, JsonSchema> {
  const schemas = fieldSchemas(id);
  for (const field of WRITABLE_FIELD_NAMES.filter(isOptionalField)) {
    const { description, ...schema } = schemas[field]!;
    schemas[field] = { description: `${description} null clears it.`, anyOf: [schema, { type: 'null' }] };
  }
  return schemas;
}

function writableProperties(id: string | undefined): Record<string, JsonSchema> {
  return {
    id: { ...idSchema, description: 'Optional; when present it must equal the id in the path.' },
    ...writableFieldSchemas(id),
    // The admin UI sends back the whole record it read: these are accepted and ignored, never taken from the client.
    version: { description: 'Ignored: the service sets it. Use If-Match to guard against lost updates.' },
    createdAt: { description: 'Ignored: the service sets it.' },
    updatedAt: { description: 'Ignored: the service sets it.' },
  };
}

/** A PATCH body for record `id` (undefined: an integration without fixed settings). */
export function patchBodySchema(id?: string): JsonSchema {
  return {
    type: 'object',
    description: 'Partial update: only the fields present change; settings, when present, replaces the whole object.',
    properties: writableProperties(id),
    additionalProperties: false,
  };
}

/** A PUT body: the whole record as read, changed; `name` and `description` required, fields absent stay. */
export function putBodySchema(id?: string): JsonSchema {
  return {
    type: 'object',
    description: 'The whole record as read, changed; fields absent (status, settings) stay as they are.',
    properties: writableProperties(id),
    required: ['name', 'description'],
    additionalProperties: false,
  };
}

/** The settings schema of record `id`. */
export function settingsSchema(id?: string): JsonSchema {
  return fieldSchemas(id).settings!;
}

export const integrationSchema: JsonSchema = {
  type: 'object',
  properties: {
    id: idSchema,
    ...fieldSchemas(undefined),
    version: { type: 'integer', minimum: 1, readOnly: true, description: 'Starts at 1, +1 on every change; the ETag.' },
    createdAt: { type: 'string', format: 'date-time', readOnly: true },
    updatedAt: { type: 'string', format: 'date-time', readOnly: true },
  },
  required: ['id', ...WRITABLE_FIELD_NAMES.filter((field) => !isOptionalField(field)), ...SERVER_SET_FIELDS],
  additionalProperties: false,
};

export const ensureDefaultsResultSchema: JsonSchema = {
  type: 'object',
  properties: {
    created: { type: 'array', items: { type: 'string' } },
    existing: { type: 'array', items: { type: 'string' } },
  },
  required: ['created', 'existing'],
  additionalProperties: false,
};

export const problemSchema: JsonSchema = {
  type: 'object',
  description: 'RFC 9457 problem details.',
  properties: {
    type: {
      type: 'string',
      description:
        'urn:problem-type:integrations-service:<slug>; integration-not-found and no-route tell a missing record ' +
        'from a wrong URL.',
    },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string', description: 'The path and query asked for.' },
    requestId: { type: 'string', description: 'The request id of the log lines (also in X-Request-Id).' },
    errors: {
      type: 'array',
      description: 'For 422: every broken rule.',
      items: {
        type: 'object',
        properties: {
          field: { type: 'string', description: 'JSON Pointer into the body' },
          message: { type: 'string' },
        },
        required: ['field', 'message'],
        additionalProperties: false,
      },
    },
  },
  required: ['type', 'title', 'status', 'detail', 'instance', 'requestId'],
  additionalProperties: false,
};
