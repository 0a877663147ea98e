// Records the old Python store left behind that today's rules refuse, and what is done about them. The
// migrations apply these rules; they live here because they are the domain's rules, stated once.
import { WRITABLE_FIELDS, WRITABLE_FIELD_NAMES, fieldViolations, type IntegrationFields } from './integration-fields';
import type { StoredIntegration } from './integration.entity';
import { fixedSettingsOf, isPlainObject, keyProblem, type Settings } from './integration-rules';

export interface DuplicateChoice<D> {
  kept: D;
  extras: D[];
  /** The rule that chose, in words, for the log line. */
  why: string;
}

/**
 * Which of several records with one id stays: the highest version (a record without one is at 1), and
 * among equals the first in the collection's natural order, which is the one the old store's find_one
 * returned, so the one the chatbot has been serving. `records` must be in natural order.
 */
export function chooseAmongDuplicates<D extends { version?: number }>(records: readonly D[]): DuplicateChoice<D> {
  let kept = records[0];
  for (const record of records) if ((record.version ?? 1) > (kept.version ?? 1)) kept = record;
  const top = kept.version ?? 1;
  const tied = records.filter((record) => (record.version ?? 1) === top).length > 1;
  return {
    kept,
    extras: records.filter((record) => record !== kept),
    why: tied ? `first in natural order among those at the highest version (${top}): the one the old store's find_one served` : `highest version (${top})`,
  };
}

export interface FittedRecord {
  fields: IntegrationFields;
  /** What had to go for the record to fit, by field (settings by key); empty when it already fitted. */
  setAside: Record<string, unknown>;
  /** What was done, by field or settings key name; never a value. */
  notes: string[];
}

/**
 * The record made to fit today's rules with as little change as possible, so the admin UI can edit it:
 * a missing or null field takes its fallback; facebook keeps exactly its three string settings (a missing
 * one is ''; another key, or a non-string value, is set aside); a settings key no store may hold is set
 * aside; an over-long name or description is cut to fit (the original set aside); a non-boolean status is
 * set aside and false.
 */
export function fitToRules(stored: StoredIntegration): FittedRecord {
  const setAside: Record<string, unknown> = {};
  const notes: string[] = [];
  const fields = {} as Record<string, unknown>;
  for (const field of WRITABLE_FIELD_NAMES) {
    const value = Object.hasOwn(stored, field) ? stored[field] : undefined;
    if (value === undefined || value === null) {
      fields[field] = WRITABLE_FIELDS[field].fallback(stored.id);
      notes.push(`${field}: was ${value === null ? 'null' : 'missing'}, now its default`);
    } else {
      fields[field] = value;
    }
  }

  const settings = fields.settings;
  if (!isPlainObject(settings)) {
    setAside.settings = settings;
    fields.settings = {};
    notes.push('settings: not an object, set aside');
  } else {
    fields.settings = fitSettings(stored.id, settings as Settings, setAside, notes);
  }

  for (const field of ['name', 'description'] as const) {
    const rule = WRITABLE_FIELDS[field].rule;
    const value = fields[field];
    if (typeof value !== 'string') {
      setAside[field] = value;
      fields[field] = WRITABLE_FIELDS[field].fallback(stored.id);
      notes.push(`${field}: not a string, set aside`);
    } else if (value.length > rule.maxLength) {
      setAside[field] = value;
      fields[field] = value.slice(0, rule.maxLength);
      notes.push(`${field}: cut to ${rule.maxLength} characters`);
    } else if (value.length < ('minLength' in rule ? rule.minLength : 0)) {
      fields[field] = WRITABLE_FIELDS[field].fallback(stored.id);
      notes.push(`${field}: empty, now its default`);
    }
  }
  if (typeof fields.status !== 'boolean') {
    setAside.status = fields.status;
    fields.status = false;
    notes.push('status: not a boolean, set aside');
  }

  // Whatever is left unfixable for a field (a settings object too large, say) is set aside whole.
  for (const field of WRITABLE_FIELD_NAMES) {
    if (fieldViolations(stored.id, field, fields[field]).length > 0) {
      setAside[field] = setAside[field] ?? fields[field];
      fields[field] = WRITABLE_FIELDS[field].fallback(stored.id);
      notes.push(`${field}: still broke a rule, set aside whole`);
    }
  }
  return { fields: fields as IntegrationFields, setAside, notes };
}

function fitSettings(id: string, settings: Settings, setAside: Record<string, unknown>, notes: string[]): Settings {
  const fitted: Settings = {};
  const asideSettings: Record<string, unknown> = {};
  const fixed = fixedSettingsOf(id);
  for (const [key, value] of Object.entries(settings)) {
    const unsafe = keyProblem(key) !== null || hasUnsafeKeyWithin(value);
    if (unsafe || (fixed && !fixed.includes(key)) || (fixed && typeof value !== 'string')) {
      asideSettings[key] = value;
      notes.push(`settings.${key}: set aside (${unsafe ? 'a key no store may hold' : fixed?.includes(key) ? 'not a string' : `not a ${id} setting`})`);
    } else {
      fitted[key] = value;
    }
  }
  for (const key of fixed ?? []) {
    if (!Object.hasOwn(fitted, key)) {
      fitted[key] = '';
      if (!Object.hasOwn(asideSettings, key)) notes.push(`settings.${key}: was missing, now ''`);
    }
  }
  if (Object.keys(asideSettings).length > 0) setAside.settings = asideSettings;
  return fitted;
}

function hasUnsafeKeyWithin(value: unknown, depth = 0): boolean {
  if (typeof value !== 'object' || value === null || depth > 16) return depth > 16;
  return Object.entries(value).some(([key, child]) => (!Array.isArray(value) && keyProblem(key) !== null) || hasUnsafeKeyWithin(child, depth + 1));
}
