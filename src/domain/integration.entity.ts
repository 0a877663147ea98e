// The Integration entity: one channel integration of the chatbot, with its settings and version.
// It is always valid and never changes: `create` and `change` check every rule of the domain and
// answer a new, frozen record, so whatever an adapter stores was checked here.
import { ValidationError, type FieldError } from './errors';
import {
  WRITABLE_FIELDS,
  WRITABLE_FIELD_NAMES,
  fieldViolations,
  isWritableField,
  type IntegrationChanges,
  type IntegrationFields,
} from './integration-fields';
import { ID_MAX_LENGTH, isValidId } from './integration-rules';
import { messages } from './validation-messages';

export type { IntegrationChanges, IntegrationFields } from './integration-fields';

/** The record as it travels over HTTP: dates as ISO-8601 strings. */
export type IntegrationPrimitives = { id: string } & IntegrationFields & { version: number; createdAt: string; updatedAt: string };

/** A new record: its id and its fields; a field left out takes its fallback (see WRITABLE_FIELDS). */
export type NewIntegration = { id: string } & Partial<IntegrationFields>;

/**
 * A record as a store holds it. Records the old Python store wrote may lack any field but `id`, and
 * have no version (they are at version 1) nor timestamps.
 */
export type StoredIntegration = { id: string } & { [K in keyof IntegrationFields]?: IntegrationFields[K] | null } & {
  version?: number;
  createdAt?: Date;
  updatedAt?: Date;
};

// The entity carries each writable field as a read-only property of the same name.
export interface Integration extends Readonly<IntegrationFields> {}

export class Integration {
  readonly id!: string;
  readonly version!: number;
  readonly createdAt!: Date;
  readonly updatedAt!: Date;

  private constructor(id: string, fields: IntegrationFields, version: number, createdAt: Date, updatedAt: Date) {
    Object.assign(this, { id, ...fields, version, createdAt, updatedAt });
    Object.freeze(this);
  }

  /** A new record at version 1; throws ValidationError when it breaks a rule. */
  static create(props: NewIntegration, now: Date): Integration {
    const errors: FieldError[] = isValidId(props.id) ? [] : [{ field: '/id', message: messages.idShape(ID_MAX_LENGTH) }];
    const fields = withFallbacks(props);
    for (const field of WRITABLE_FIELD_NAMES) errors.push(...fieldViolations(props.id, field, fields[field]));
    if (errors.length > 0) throw new ValidationError(errors);
    return new Integration(props.id, deepFrozenCopy(fields), 1, now, now);
  }

  /**
   * Rebuilds a stored record as it is: stored data is read, never refused, and a field the old store
   * did not write takes its fallback. Its next change is checked as a whole.
   */
  static restore(stored: StoredIntegration): Integration {
    const createdAt = stored.createdAt ?? new Date(0);
    return new Integration(stored.id, deepFrozenCopy(withFallbacks(stored)), stored.version ?? 1, createdAt, stored.updatedAt ?? createdAt);
  }

  /**
   * This record with `changes` applied: one version later, `updatedAt` now, `createdAt` kept, every field
   * left out as it was. Throws ValidationError when a change, or the record it makes, breaks a rule.
   * No change at all answers this very record.
   */
  change(changes: IntegrationChanges, now: Date): Integration {
    const given = Object.entries(changes).filter(([, value]) => value !== undefined);
    const errors: FieldError[] = [];
    for (const [field] of given) if (!isWritableField(field)) errors.push({ field: `/${field}`, message: messages.unknownField });
    if (errors.length > 0) throw new ValidationError(errors);
    if (given.length === 0) return this;
    const fields = { ...this.fields(), ...Object.fromEntries(given) } as IntegrationFields;
    for (const field of WRITABLE_FIELD_NAMES) errors.push(...fieldViolations(this.id, field, fields[field]));
    if (errors.length > 0) throw new ValidationError(errors);
    return new Integration(this.id, deepFrozenCopy(fields), this.version + 1, this.createdAt, now);
  }

  /** The writable fields whose value differs from `other`'s. */
  changedSince(other: Integration): string[] {
    return WRITABLE_FIELD_NAMES.filter((field) => JSON.stringify(this[field]) !== JSON.stringify(other[field]));
  }

  /** The writable fields alone. */
  fields(): IntegrationFields {
    return Object.fromEntries(WRITABLE_FIELD_NAMES.map((field) => [field, this[field]])) as IntegrationFields;
  }

  /** The same record with other settings, neither checked nor versioned: for adapters that encode values at rest. */
  withStoredSettings(settings: IntegrationFields['settings']): Integration {
    return new Integration(this.id, { ...this.fields(), settings: deepFrozenCopy(settings) }, this.version, this.createdAt, this.updatedAt);
  }

  toStored(): Required<StoredIntegration> {
    return { id: this.id, ...this.fields(), version: this.version, createdAt: this.createdAt, updatedAt: this.updatedAt };
  }

  toPrimitives(): IntegrationPrimitives {
    return { id: this.id, ...this.fields(), version: this.version, createdAt: this.createdAt.toISOString(), updatedAt: this.updatedAt.toISOString() };
  }
}

function withFallbacks(props: StoredIntegration): IntegrationFields {
  const fields: Record<string, unknown> = {};
  for (const field of WRITABLE_FIELD_NAMES) {
    const value = Object.hasOwn(props, field) ? props[field] : undefined;
    fields[field] = value ?? WRITABLE_FIELDS[field].fallback(props.id);
  }
  return fields as IntegrationFields;
}

// Values this module froze all the way down: entities share them instead of copying them again.
const deepFrozen = new WeakSet<object>();

/** A copy no caller can change: the entity shares its values with whoever reads them. */
function deepFrozenCopy<T>(value: T): T {
  if (typeof value !== 'object' || value === null || deepFrozen.has(value)) return value;
  const copy = (Array.isArray(value) ? value.map(deepFrozenCopy) : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, deepFrozenCopy(v)]))) as object;
  deepFrozen.add(Object.freeze(copy));
  return copy as T;
}
