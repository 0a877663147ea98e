// The Integration entity: one channel integration of the chatbot, with its settings and version.
// It is always valid and never changes. It has two doors, and both check every rule of the domain:
// `create` for a new record, `fromStored` for what a store holds (through the documented legacy fitting
// first, for records the old store wrote); `change` answers the next record, checked as a whole.
import { ValidationError, type FieldError } from './errors';
import { wording } from './field-rules';
import {
  WRITABLE_FIELD_NAMES,
  fallbackOf,
  fieldViolations,
  isOptionalField,
  isWritableField,
  type IntegrationChanges,
  type IntegrationFields,
} from './integration-fields';
import { ID_RULE } from './integration-rules';
import { fitToRules, storedTimes, storedVersion, type StoredIntegration } from './legacy-records';

export type { IntegrationChanges, IntegrationFields } from './integration-fields';
export type { StoredIntegration } from './legacy-records';

/** The record as it travels over HTTP: dates as ISO-8601 strings. */
export type IntegrationPrimitives = { id: string } & IntegrationFields & {
    version: number;
    createdAt: string;
    updatedAt: string;
  };

/** A new record: its id and its fields; a field left out takes its fallback (see WRITABLE_FIELDS). */
export type NewIntegration = { id: string } & Partial<IntegrationFields>;

/** What a store keeps of a record written by this service: every field, the version and both times. */
export type IntegrationRecord = { id: string } & IntegrationFields & {
    version: number;
    createdAt: Date;
    updatedAt: Date;
  };

// The entity carries each writable field as a read-only property of the same name.
export interface Integration extends Readonly<IntegrationFields> {}

// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the constructor assigns every field the interface declares
export class Integration {
  readonly id!: string;
  readonly version!: number;
  readonly createdAt!: Date;
  readonly updatedAt!: Date;

  /** Only after every rule was checked. */
  private constructor(id: string, fields: IntegrationFields, version: number, createdAt: Date, updatedAt: Date) {
    // Field by field: on Node 20 an object literal with a spread among its properties takes V8's slow path.
    const self = this as unknown as Record<string, unknown>;
    self.id = id;
    copyFields(fields, self);
    self.version = version;
    self.createdAt = createdAt;
    self.updatedAt = updatedAt;
    Object.freeze(this);
  }

  /** A new record at version 1; throws ValidationError when it breaks a rule. */
  static create(props: NewIntegration, now: Date): Integration {
    const fields: Record<string, unknown> = {};
    for (const field of WRITABLE_FIELD_NAMES) {
      const given = Object.hasOwn(props, field) ? props[field] : undefined;
      const value = given ?? fallbackOf(field, props.id);
      if (value !== undefined) fields[field] = value;
    }
    return Integration.checked(props.id, fields, 1, now, now);
  }

  /**
   * A record as a store holds it, which may be one the old store wrote: made to fit today's rules first
   * (fitToRules: fallbacks for what it lacks, the rule kinds' fitting for what breaks a rule, the same as
   * migration 003 does), then checked like any other. `storeTime`: when the store says it was made (MongoDB's
   * ObjectId), for a record without createdAt. Throws ValidationError for an id no record can have.
   */
  static fromStored(stored: StoredIntegration, storeTime?: Date): Integration {
    const { createdAt, updatedAt } = storedTimes(stored, storeTime);
    return Integration.checked(stored.id, fitToRules(stored).fields, storedVersion(stored), createdAt, updatedAt);
  }

  private static checked(
    id: string,
    fields: Record<string, unknown>,
    version: number,
    createdAt: Date,
    updatedAt: Date,
  ): Integration {
    const errors: FieldError[] = [...ID_RULE.violations(id, '/id', id)];
    for (const field of WRITABLE_FIELD_NAMES) errors.push(...fieldViolations(id, field, fields[field]));
    if (errors.length > 0) throw new ValidationError(errors);
    return new Integration(id, deepFrozenCopy(fields) as IntegrationFields, version, createdAt, updatedAt);
  }

  /**
   * This record with `changes` applied: one version later, `updatedAt` now, `createdAt` kept, every field
   * left out as it was. Throws ValidationError when a change, or the record it makes, breaks a rule.
   * No change at all, or only values the record already holds, answers this very record.
   */
  change(changes: IntegrationChanges, now: Date): Integration {
    const fields: Record<string, unknown> = this.fields();
    const unknown: FieldError[] = [];
    let given = 0;
    for (const field of Object.keys(changes)) {
      const value = (changes as Record<string, unknown>)[field];
      if (value === undefined) continue;
      given += 1;
      if (!isWritableField(field)) unknown.push({ field: `/${field}`, message: wording.unknownField });
      // null clears an optional field; on a required one it stays, and its rule refuses it.
      else if (value === null && isOptionalField(field)) delete fields[field];
      else fields[field] = value;
    }
    if (unknown.length > 0) throw new ValidationError(unknown);
    if (given === 0) return this;
    const next = Integration.checked(this.id, fields, this.version + 1, this.createdAt, now);
    // Values equal to what the record holds change nothing: no new version.
    return next.changedSince(this).length === 0 ? this : next;
  }

  /** The writable fields whose value differs from `other`'s. */
  changedSince(other: Integration): string[] {
    return WRITABLE_FIELD_NAMES.filter((field) => !sameValue(this[field], other[field]));
  }

  /** The writable fields alone (an optional field this record lacks is left out). */
  fields(): IntegrationFields {
    return copyFields(this, {}) as IntegrationFields;
  }

  /** The record as a store keeps it. */
  toRecord(): IntegrationRecord {
    return this.withFields({ id: this.id }, this.createdAt, this.updatedAt) as IntegrationRecord;
  }

  toPrimitives(): IntegrationPrimitives {
    return this.withFields(
      { id: this.id },
      this.createdAt.toISOString(),
      this.updatedAt.toISOString(),
    ) as IntegrationPrimitives;
  }

  /** `into` with the writable fields, the version and the two times added, in the record's order, one by one. */
  private withFields(into: Record<string, unknown>, createdAt: unknown, updatedAt: unknown): Record<string, unknown> {
    copyFields(this, into);
    into.version = this.version;
    into.createdAt = createdAt;
    into.updatedAt = updatedAt;
    return into;
  }
}

/** `into` with `from`'s writable fields that are present, one by one, in the record's order. */
function copyFields(from: Partial<IntegrationFields>, into: Record<string, unknown>): Record<string, unknown> {
  for (const field of WRITABLE_FIELD_NAMES) if (from[field] !== undefined) into[field] = from[field];
  return into;
}

/**
 * Equal as JSON texts are: the same primitive, or objects (settings) with the same keys in the same order and equal
 * values, or arrays of equal items.
 */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keys = Object.keys(a);
  const others = Object.keys(b);
  if (keys.length !== others.length) return false;
  for (let i = 0; i < keys.length; i += 1) {
    const key = keys[i]!;
    if (key !== others[i] || !sameValue((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]))
      return false;
  }
  return true;
}

// Values this module froze all the way down: entities share them instead of copying them again.
const deepFrozen = new WeakSet<object>();

/** A copy no caller can change: the entity shares its values with whoever reads them. */
function deepFrozenCopy<T>(value: T): T {
  if (typeof value !== 'object' || value === null || deepFrozen.has(value)) return value;
  let copy: object;
  if (Array.isArray(value)) copy = value.map(deepFrozenCopy);
  else {
    const fields: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      const item = deepFrozenCopy((value as Record<string, unknown>)[key]);
      // An own property, never the prototype (the rules refuse the key; a copy does not rely on it).
      if (key === '__proto__') Object.defineProperty(fields, key, { value: item, enumerable: true, writable: true });
      else fields[key] = item;
    }
    copy = fields;
  }
  deepFrozen.add(Object.freeze(copy));
  return copy as T;
}
