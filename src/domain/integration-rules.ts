// The rules of an integration's id and settings, as constants and as a rule kind (see field-rules.ts): the
// settings rule checks keys, depth, size, credentials and each integration's fixed shape, gives its JSON
// Schema and fits a legacy settings object, all from the declarations below.
import type { FieldError } from './errors';
import { LONE_SURROGATE, text, wording, type FieldRule, type Fitted, type JsonSchema } from './field-rules';

export const ID_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
export const ID_MAX_LENGTH = 64;
export const SETTINGS_MAX_DEPTH = 8;
export const SETTINGS_MAX_BYTES = 16 * 1024;
export const RESERVED_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

/** Settings keys that hold credentials: never logged, sealed at rest when a key is configured. */
export const CREDENTIAL_KEYS: readonly string[] = ['secret', 'page_access_token'];
/** The prefix of a value this service sealed: no client may store a credential that looks like one. */
export const SEALED_PREFIX = 'enc:';

/** Integrations whose settings have a fixed set of string fields, all required, no others. */
export const FIXED_STRING_SETTINGS: Readonly<Record<string, readonly string[]>> = {
  facebook: ['verify', 'secret', 'page_access_token'],
};

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type Settings = { [key: string]: JsonValue };

/** The id: the record's key, in every path. */
export const ID_RULE = text({
  minLength: 1,
  maxLength: ID_MAX_LENGTH,
  pattern: ID_PATTERN,
  means: `a lowercase slug of 1-${ID_MAX_LENGTH} characters ([a-z0-9][a-z0-9_-]*)`,
});

export function isValidId(id: unknown): id is string {
  return ID_RULE.violations(id, '', '').length === 0;
}

/** Whether `id` names an integration whose settings have a fixed set of fields. */
export function fixedSettingsOf(id: string | undefined): readonly string[] | undefined {
  return id !== undefined && Object.hasOwn(FIXED_STRING_SETTINGS, id) ? FIXED_STRING_SETTINGS[id] : undefined;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON Pointer (RFC 6901) segment escaping, so a reported field names exactly one place. */
export function pointer(base: string, key: string | number): string {
  return `${base}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

const settingsWording = {
  keyStartsWithDollar: "key must not start with '$'",
  keyContainsDot: "key must not contain '.'",
  keyContainsNul: 'key must not contain the NUL character',
  keyReserved: (key: string): string => `key "${key}" is reserved`,
  tooDeep: `must not nest deeper than ${SETTINGS_MAX_DEPTH} levels`,
  notJson: 'must be a JSON value: a string, a finite number, true, false, null, an array or an object',
  tooLarge: (bytes: number): string => `must not exceed ${SETTINGS_MAX_BYTES} bytes serialized (got ${bytes})`,
  notASetting: (integrationId: string, allowed: readonly string[]): string =>
    `is not a ${integrationId} setting (allowed: ${allowed.join(', ')})`,
  sealedLooking: `must not start with "${SEALED_PREFIX}": that prefix marks values this service sealed`,
};

/** Why a settings key may not be stored, or null when it may. */
export function keyProblem(key: string): string | null {
  if (key.startsWith('$')) return settingsWording.keyStartsWithDollar;
  if (key.includes('.')) return settingsWording.keyContainsDot;
  // BSON keys are NUL-terminated: MongoDB could not store it, so no store may.
  if (key.includes('\0')) return settingsWording.keyContainsNul;
  if (LONE_SURROGATE.test(key)) return wording.notWellFormed;
  if (RESERVED_KEYS.includes(key)) return settingsWording.keyReserved(key);
  return null;
}

/**
 * What JSON carries, and so what a store may keep and a client be answered: a string, a finite number, a boolean,
 * null, an array or a plain object. Not a value JSON has no form for (NaN, an infinity, undefined) or would turn into
 * something else (a Date, a MongoDB ObjectId or Long, a RegExp: objects of their own fields), as a record the old
 * store wrote may hold.
 */
function isJsonKind(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (value === null || Array.isArray(value)) return true;
      const prototype = Object.getPrototypeOf(value);
      return prototype === Object.prototype || prototype === null;
    }
    default:
      return false;
  }
}

/** Whether a settings value holds anything to check: a container, or a value that breaks a rule on its own. */
function mayBreakARule(value: unknown): boolean {
  if (typeof value === 'string') return LONE_SURROGATE.test(value);
  return (typeof value === 'object' && value !== null) || !isJsonKind(value);
}

/**
 * The checks no JSON Schema expresses: JSON values only, forbidden keys at any depth, nesting depth, serialized size.
 * Depth counts containers, the settings object itself being 1.
 */
export function settingsSafetyViolations(settings: unknown, path = '/settings'): FieldError[] {
  const errors: FieldError[] = [];
  let tooDeepReported = false;
  const walk = (value: unknown, at: string, depth: number): void => {
    if (!isJsonKind(value)) {
      errors.push({ field: at, message: settingsWording.notJson });
      return;
    }
    if (typeof value === 'string' && LONE_SURROGATE.test(value))
      errors.push({ field: at, message: wording.notWellFormed });
    if (typeof value !== 'object' || value === null) return;
    if (depth > SETTINGS_MAX_DEPTH) {
      if (!tooDeepReported) errors.push({ field: at, message: settingsWording.tooDeep });
      tooDeepReported = true;
      return;
    }
    const array = Array.isArray(value);
    for (const key of Object.keys(value)) {
      const child = (value as Record<string, unknown>)[key];
      const problem = array ? null : keyProblem(key);
      // A pointer is made only for a path a problem may name: a key, a container, a value that breaks a rule.
      if (problem) errors.push({ field: pointer(at, key), message: problem });
      if (mayBreakARule(child)) walk(child, pointer(at, key), depth + 1);
    }
  };
  walk(settings, path, 1);
  // Too deep is already refused; serializing a value nested thousands deep would overflow the stack.
  if (tooDeepReported) return errors;
  const bytes = Buffer.byteLength(JSON.stringify(settings) ?? '');
  if (bytes > SETTINGS_MAX_BYTES) errors.push({ field: path, message: settingsWording.tooLarge(bytes) });
  return errors;
}

/** The per-integration shape (`facebook` takes exactly its three string fields; others any object), and credentials. */
function settingsShapeViolations(id: string, settings: Record<string, unknown>, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const fields = fixedSettingsOf(id);
  if (fields) {
    for (const field of fields) {
      if (!Object.hasOwn(settings, field)) errors.push({ field: pointer(path, field), message: wording.required });
      else if (typeof settings[field] !== 'string')
        errors.push({ field: pointer(path, field), message: wording.type('string') });
    }
    for (const key of Object.keys(settings)) {
      if (!fields.includes(key))
        errors.push({ field: pointer(path, key), message: settingsWording.notASetting(id, fields) });
    }
  }
  for (const key of CREDENTIAL_KEYS) {
    const value = Object.hasOwn(settings, key) ? settings[key] : undefined;
    if (typeof value === 'string' && value.startsWith(SEALED_PREFIX))
      errors.push({ field: pointer(path, key), message: settingsWording.sealedLooking });
  }
  return errors;
}

/** Every rule a settings value of integration `id` breaks: an object, safe keys, depth and size, its shape. */
export function settingsViolations(id: string, settings: unknown, path = '/settings'): FieldError[] {
  if (!isPlainObject(settings)) return [{ field: path, message: wording.type('object') }];
  return [...settingsSafetyViolations(settings, path), ...settingsShapeViolations(id, settings, path)];
}

/** The custom JSON-Schema keyword that runs the key, depth and size checks no JSON Schema can express. */
export const SAFE_SETTINGS_KEYWORD = 'x-safe-settings';

const settingsDescription =
  'JSON values only (numbers finite, text well-formed Unicode). ' +
  `No key may start with "$", contain "." or be one of ${RESERVED_KEYS.join(', ')}; nesting at most ` +
  `${SETTINGS_MAX_DEPTH} deep; ` +
  `at most ${SETTINGS_MAX_BYTES} bytes serialized; ${CREDENTIAL_KEYS.join(' and ')} must not start with ` +
  `"${SEALED_PREFIX}".`;

// A credential that is a string must not look sealed.
const notSealedLooking: JsonSchema = { not: { type: 'string', pattern: `^${SEALED_PREFIX}` } };

function settingsSchema(id: string | undefined): JsonSchema {
  const fields = fixedSettingsOf(id);
  const credentials = Object.fromEntries(CREDENTIAL_KEYS.map((key) => [key, notSealedLooking]));
  if (!fields) {
    return {
      type: 'object',
      description: `Settings of an integration without a fixed schema. ${settingsDescription}`,
      properties: credentials,
      additionalProperties: true,
      [SAFE_SETTINGS_KEYWORD]: true,
    };
  }
  return {
    type: 'object',
    description: `Settings of ${id}: exactly these string fields. ${settingsDescription}`,
    properties: Object.fromEntries(
      fields.map((field) => [
        field,
        CREDENTIAL_KEYS.includes(field) ? { type: 'string', ...notSealedLooking } : { type: 'string' },
      ]),
    ),
    required: [...fields],
    additionalProperties: false,
    [SAFE_SETTINGS_KEYWORD]: true,
  };
}

/** The top-level settings key a reported field is under (`/settings/a~1b/c` → `a/b`), or undefined for the whole. */
function topKeyOf(field: string, path: string): string | undefined {
  const rest = field.slice(path.length + 1);
  if (field.length <= path.length || rest === '') return undefined;
  return rest.split('/')[0]!.replace(/~1/g, '/').replace(/~0/g, '~');
}

/**
 * A legacy settings object made to fit, by what the check says of it: a missing fixed field becomes '';
 * a key the check objects to (not a setting of this integration, a non-string fixed field, a key no store
 * may hold at any depth below it, a credential that looks sealed) is set aside; what still breaks a rule
 * (the size) sets the whole aside.
 */
function fitSettings(settings: unknown, id: string, fallback: Settings): Fitted<Settings> {
  if (!isPlainObject(settings)) return { value: fallback, setAside: settings, note: 'not an object, set aside' };
  const fitted: Record<string, unknown> = { ...settings };
  const aside: Record<string, unknown> = {};
  const notes: string[] = [];
  // Twice at most: a fixed field set aside (not a string) is then missing, and becomes ''.
  for (let pass = 0; pass < 2; pass += 1) {
    for (const { field, message } of settingsViolations(id, fitted, '')) {
      const key = topKeyOf(field, '');
      if (key === undefined) continue;
      if (message === wording.required) {
        fitted[key] = '';
        if (!Object.hasOwn(aside, key)) notes.push(`${key}: was missing, now ''`);
      } else if (Object.hasOwn(fitted, key)) {
        aside[key] = fitted[key];
        delete fitted[key];
        notes.push(`${key}: set aside (${message})`);
      }
    }
  }
  if (settingsViolations(id, fitted, '').length > 0)
    return { value: fallback, setAside: settings, note: 'still broke a rule, set aside whole' };
  if (notes.length === 0) return { value: fitted as Settings };
  return {
    value: fitted as Settings,
    ...(Object.keys(aside).length > 0 ? { setAside: aside } : {}),
    note: notes.join('; '),
  };
}

/** The settings of an integration: a plain JSON object under the rules above. */
export const SETTINGS_RULE: FieldRule<Settings> = {
  violations: (value, at, id) => settingsViolations(id, value, at),
  schema: settingsSchema,
  fit: fitSettings,
};
