// The record's writable fields, declared once. The entity's type, its checks and its change rule, the
// HTTP schemas, the request's changes and the MongoDB document are all derived from this table: adding a
// field is one entry here (and, if every installation should carry a value, one in the defaults).
import type { FieldError } from './errors';
import { DESCRIPTION_MAX_LENGTH, NAME_MAX_LENGTH, settingsViolations, type Settings } from './integration-rules';
import { messages } from './validation-messages';

/** What a field holds, as data both the domain's check and the edge's JSON Schema are built from. */
export type FieldRule =
  | { readonly type: 'string'; readonly minLength?: number; readonly maxLength: number }
  | { readonly type: 'boolean' }
  | { readonly type: 'settings' };

export interface FieldSpec {
  readonly rule: FieldRule;
  readonly description: string;
  /** The value a record takes when it was created or stored without this field (the old store's records). */
  readonly fallback: (id: string) => unknown;
}

export const WRITABLE_FIELDS = {
  name: {
    rule: { type: 'string', minLength: 1, maxLength: NAME_MAX_LENGTH },
    description: 'Shown in the admin UI.',
    fallback: (id: string) => id,
  },
  description: {
    rule: { type: 'string', maxLength: DESCRIPTION_MAX_LENGTH },
    description: 'Shown in the admin UI.',
    fallback: () => '',
  },
  status: {
    rule: { type: 'boolean' },
    description: 'Enabled or not.',
    fallback: () => false,
  },
  settings: {
    rule: { type: 'settings' },
    description: 'Channel settings; replaced as a whole when written.',
    fallback: () => ({}),
  },
} as const satisfies Record<string, FieldSpec>;

export type WritableField = keyof typeof WRITABLE_FIELDS;
export const WRITABLE_FIELD_NAMES = Object.freeze(Object.keys(WRITABLE_FIELDS)) as readonly WritableField[];

type ValueOf<R extends FieldRule> = R extends { type: 'string' } ? string : R extends { type: 'boolean' } ? boolean : Settings;

/** Every writable field with its value. */
export type IntegrationFields = { [K in WritableField]: ValueOf<(typeof WRITABLE_FIELDS)[K]['rule']> };

/** What an edit may change; a field left out (or undefined) stays as it is. `settings` replaces the whole object. */
export type IntegrationChanges = Partial<IntegrationFields>;

export function isWritableField(name: string): name is WritableField {
  return Object.hasOwn(WRITABLE_FIELDS, name);
}

/** The broken rules of one field's value, for the record `id` (settings rules depend on the integration). */
export function fieldViolations(id: string, field: WritableField, value: unknown): FieldError[] {
  const rule: FieldRule = WRITABLE_FIELDS[field].rule;
  const at = `/${field}`;
  switch (rule.type) {
    case 'string':
      if (typeof value !== 'string') return [{ field: at, message: messages.type('string') }];
      if (value.length < (rule.minLength ?? 0) || value.length > rule.maxLength) {
        return [{ field: at, message: messages.length(rule.minLength, rule.maxLength) }];
      }
      return [];
    case 'boolean':
      return typeof value === 'boolean' ? [] : [{ field: at, message: messages.type('boolean') }];
    case 'settings':
      return settingsViolations(id, value, at);
  }
}
