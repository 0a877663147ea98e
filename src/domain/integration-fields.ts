// The record's writable fields, declared once. The entity's type, its checks and its change rule, the
// HTTP schemas, the request's changes, the legacy fitting and the stored record are all derived from this
// table: adding a field is one entry here (and a new kind of rule, if it needs one, one in field-rules.ts).
import type { FieldError } from './errors';
import { flag, text, type FieldRule } from './field-rules';
import { SETTINGS_RULE } from './integration-rules';

export interface FieldSpec {
  readonly rule: FieldRule;
  readonly description: string;
  /**
   * The value a record takes when it was created or stored without this field (the old store's records).
   * A field without one is optional: a record may lack it.
   */
  readonly fallback?: (id: string) => unknown;
}

export const WRITABLE_FIELDS = {
  name: {
    rule: text({ minLength: 1, maxLength: 100 }),
    description: 'Shown in the admin UI.',
    fallback: (id: string) => id,
  },
  description: {
    rule: text({ maxLength: 500 }),
    description: 'Shown in the admin UI.',
    fallback: () => '',
  },
  status: {
    rule: flag(),
    description: 'Enabled or not.',
    fallback: () => false,
  },
  settings: {
    rule: SETTINGS_RULE,
    description: 'Channel settings; replaced as a whole when written.',
    fallback: () => ({}),
  },
} as const satisfies Record<string, FieldSpec>;

type Table = typeof WRITABLE_FIELDS;
export type WritableField = keyof Table;
export const WRITABLE_FIELD_NAMES = Object.freeze(Object.keys(WRITABLE_FIELDS)) as readonly WritableField[];

type ValueOf<K extends WritableField> = Table[K]['rule'] extends FieldRule<infer T> ? T : never;
type Required = { [K in WritableField]: Table[K] extends { fallback: unknown } ? K : never }[WritableField];
type Optional = Exclude<WritableField, Required>;

/** Every writable field with its value; an optional field may be absent. */
export type IntegrationFields = { [K in Required]: ValueOf<K> } & { [K in Optional]?: ValueOf<K> };

/**
 * What an edit may change; a field left out (or undefined) stays as it is. `settings` replaces the whole object.
 * `null` clears an optional field (the record then lacks it); a required field cannot be cleared.
 */
export type IntegrationChanges = { [K in Required]?: ValueOf<K> } & { [K in Optional]?: ValueOf<K> | null };

export function isWritableField(name: string): name is WritableField {
  return Object.hasOwn(WRITABLE_FIELDS, name);
}

export function isOptionalField(field: WritableField): boolean {
  return (WRITABLE_FIELDS[field] as FieldSpec).fallback === undefined;
}

/** The field's fallback for record `id`; undefined for an optional field. */
export function fallbackOf(field: WritableField, id: string): unknown {
  return (WRITABLE_FIELDS[field] as FieldSpec).fallback?.(id);
}

/** The broken rules of one field's value, for the record `id`; an optional field may be undefined. */
export function fieldViolations(id: string, field: WritableField, value: unknown): FieldError[] {
  if (value === undefined && isOptionalField(field)) return [];
  return (WRITABLE_FIELDS[field].rule as FieldRule).violations(value, `/${field}`, id);
}
