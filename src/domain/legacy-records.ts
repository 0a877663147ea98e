// Records as stores hold them, and the rules for those the old Python store left behind, stated once: the
// entity reads stored records through them, the repositories and the migrations filter and fit with them.
import {
  WRITABLE_FIELD_NAMES,
  WRITABLE_FIELDS,
  fallbackOf,
  fieldViolations,
  isOptionalField,
  type IntegrationFields,
} from './integration-fields';
import type { FieldRule } from './field-rules';

/**
 * A record as a store holds it. Records the old Python store wrote may lack any field but `id` (or hold it
 * as null), and have no version nor timestamps.
 */
export type StoredIntegration = { id: string } & { [K in keyof IntegrationFields]?: IntegrationFields[K] | null } & {
  version?: number | null;
  createdAt?: Date | null;
  updatedAt?: Date | null;
};

/** The version a stored record is at: the old store never wrote one, and a record without one (or null) is at 1. */
export const LEGACY_VERSION = 1;
export function storedVersion(stored: { version?: number | null }): number {
  return stored.version ?? LEGACY_VERSION;
}

/** When a record whose creation time nobody wrote down was made, if nothing else tells: never "now", which moves. */
export const UNKNOWN_CREATION_TIME = new Date(0);

/**
 * When a stored record was created: its `createdAt`, else the time its store can tell (MongoDB: the ObjectId's),
 * else UNKNOWN_CREATION_TIME. Its `updatedAt`, when absent, is that same time.
 */
export function storedTimes(stored: StoredIntegration, storeTime?: Date): { createdAt: Date; updatedAt: Date } {
  const createdAt = stored.createdAt ?? storeTime ?? UNKNOWN_CREATION_TIME;
  return { createdAt, updatedAt: stored.updatedAt ?? createdAt };
}

export interface DuplicateChoice<D> {
  kept: D;
  extras: D[];
  /** The rule that chose, in words, for the log line. */
  why: string;
}

/**
 * Which of several records with one id stays: the highest version (see storedVersion), and among equals the
 * first in the collection's natural order, which is the one the old store's find_one returned, so the one the
 * chatbot has been serving. `records` must be in natural order.
 */
export function chooseAmongDuplicates<D extends { version?: number | null }>(
  records: readonly D[],
): DuplicateChoice<D> {
  let kept = records[0]!;
  for (const record of records) if (storedVersion(record) > storedVersion(kept)) kept = record;
  const top = storedVersion(kept);
  const tied = records.filter((record) => storedVersion(record) === top).length > 1;
  return {
    kept,
    extras: records.filter((record) => record !== kept),
    why: tied
      ? `first in natural order among those at the highest version (${top}): the one the old store's find_one served`
      : `highest version (${top})`,
  };
}

export interface FittedRecord {
  fields: IntegrationFields;
  /** What had to go for the record to fit, by field; empty when it already fitted. */
  setAside: Record<string, unknown>;
  /** What was done, by field; names, never values. */
  notes: string[];
}

/**
 * The record made to fit today's rules with as little change as possible, so the admin UI can edit it: a
 * missing or null field takes its fallback; a value that breaks its rule is fitted by the rule's kind (see
 * field-rules.ts and SETTINGS_RULE: a text cut to length, a settings key set aside, a missing facebook
 * setting ''), and what had to go is returned to be kept. A record that fits is returned as it is.
 */
export function fitToRules(stored: StoredIntegration): FittedRecord {
  const fields: Record<string, unknown> = {};
  const setAside: Record<string, unknown> = {};
  const notes: string[] = [];
  for (const field of WRITABLE_FIELD_NAMES) {
    const given = Object.hasOwn(stored, field) ? stored[field] : undefined;
    const fallback = fallbackOf(field, stored.id);
    if (given === undefined || given === null) {
      if (isOptionalField(field)) continue;
      fields[field] = fallback;
      notes.push(`${field}: was ${given === null ? 'null' : 'missing'}, now its default`);
      continue;
    }
    if (fieldViolations(stored.id, field, given).length === 0) {
      fields[field] = given;
      continue;
    }
    const fitted = (WRITABLE_FIELDS[field].rule as FieldRule).fit(given, stored.id, fallback);
    if (fitted.value !== undefined) fields[field] = fitted.value;
    if (fitted.setAside !== undefined) setAside[field] = fitted.setAside;
    notes.push(`${field}: ${fitted.note ?? 'fitted'}`);
  }
  return { fields: fields as IntegrationFields, setAside, notes };
}
