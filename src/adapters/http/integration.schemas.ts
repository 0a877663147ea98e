// JSON Schemas (2020-12) of the API's bodies, built from the domain's constants. The request validator
// compiles them and the OpenAPI document embeds them, so what is documented is what is enforced.
import { WRITABLE_FIELDS, WRITABLE_FIELD_NAMES, type FieldRule } from '../../domain/integration-fields';
import {
  ID_MAX_LENGTH,
  ID_PATTERN,
  RESERVED_KEYS,
  SETTINGS_MAX_BYTES,
  SETTINGS_MAX_DEPTH,
  fixedSettingsOf,
} from '../../domain/integration-rules';

export type JsonSchema = Record<string, unknown>;

/** The custom keyword that runs the domain's key, depth and size checks on a settings object. */
export const SAFE_SETTINGS_KEYWORD = 'x-safe-settings';

const settingsDescription =
  `No key may start with "$", contain "." or be one of ${RESERVED_KEYS.join(', ')}; ` +
  `nesting at most ${SETTINGS_MAX_DEPTH} deep; at most ${SETTINGS_MAX_BYTES} bytes serialized.`;

export const genericSettingsSchema: JsonSchema = {
  type: 'object',
  description: `Settings of an integration without a fixed schema. ${settingsDescription}`,
  [SAFE_SETTINGS_KEYWORD]: true,
};

export function fixedSettingsSchema(integrationId: string, fields: readonly string[]): JsonSchema {
  return {
    type: 'object',
    description: `Settings of ${integrationId}: exactly these string fields. ${settingsDescription}`,
    properties: Object.fromEntries(fields.map((field) => [field, { type: 'string' }])),
    required: [...fields],
    additionalProperties: false,
    [SAFE_SETTINGS_KEYWORD]: true,
  };
}

/** Settings schema for one integration id. */
export function settingsSchemaFor(integrationId: string): JsonSchema {
  const fields = fixedSettingsOf(integrationId);
  return fields ? fixedSettingsSchema(integrationId, fields) : genericSettingsSchema;
}

const idSchema: JsonSchema = {
  type: 'string',
  pattern: ID_PATTERN.source,
  minLength: 1,
  maxLength: ID_MAX_LENGTH,
  description: 'Lowercase slug; the key of the record; never changes.',
};

/** The JSON Schema of one of the domain's field rules. */
function ruleSchema(rule: FieldRule, settings: JsonSchema): JsonSchema {
  switch (rule.type) {
    case 'string':
      return { type: 'string', ...(rule.minLength ? { minLength: rule.minLength } : {}), maxLength: rule.maxLength };
    case 'boolean':
      return { type: 'boolean' };
    case 'settings':
      return settings;
  }
}

const fieldSchemas = (settings: JsonSchema): Record<string, JsonSchema> =>
  Object.fromEntries(
    WRITABLE_FIELD_NAMES.map((field) => {
      const { rule, description } = WRITABLE_FIELDS[field];
      const schema = ruleSchema(rule, settings);
      return [field, schema === settings ? schema : { ...schema, description }];
    }),
  );

const writableProperties = (settings: JsonSchema): Record<string, JsonSchema> => ({
  id: { ...idSchema, description: 'Optional; when present it must equal the id in the path.' },
  ...fieldSchemas(settings),
  // The admin UI sends back the whole record it read: these are accepted and ignored, never taken from the client.
  version: { description: 'Ignored: the service sets it. Use If-Match to guard against lost updates.' },
  createdAt: { description: 'Ignored: the service sets it.' },
  updatedAt: { description: 'Ignored: the service sets it.' },
});

export function patchBodySchema(settings: JsonSchema = genericSettingsSchema): JsonSchema {
  return {
    type: 'object',
    description: 'Partial update: only the fields present change; settings, when present, replaces the whole object.',
    properties: writableProperties(settings),
    additionalProperties: false,
  };
}

export function putBodySchema(settings: JsonSchema = genericSettingsSchema): JsonSchema {
  return {
    type: 'object',
    description: 'The whole record as read, changed; fields absent (status, settings) stay as they are.',
    properties: writableProperties(settings),
    required: ['name', 'description'],
    additionalProperties: false,
  };
}

export const integrationSchema: JsonSchema = {
  type: 'object',
  properties: {
    id: idSchema,
    ...fieldSchemas({ type: 'object' }),
    version: { type: 'integer', minimum: 1, description: 'Starts at 1, +1 on every change; the ETag.' },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
  required: ['id', ...WRITABLE_FIELD_NAMES, 'version', 'createdAt', 'updatedAt'],
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
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    requestId: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        properties: { field: { type: 'string', description: 'JSON Pointer into the body' }, message: { type: 'string' } },
        required: ['field', 'message'],
      },
    },
  },
  required: ['type', 'title', 'status'],
};
