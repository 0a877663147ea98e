// The rules every Integration obeys, as constants the HTTP schemas are built from and as checks the
// entity runs itself, so no adapter can store what the domain forbids.
import type { FieldError } from './errors';
import { messages } from './validation-messages';

export const ID_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
export const ID_MAX_LENGTH = 64;
export const NAME_MAX_LENGTH = 100;
export const DESCRIPTION_MAX_LENGTH = 500;
export const SETTINGS_MAX_DEPTH = 8;
export const SETTINGS_MAX_BYTES = 16 * 1024;
export const RESERVED_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

/** Settings keys that hold credentials: never logged, encrypted at rest when a key is configured. */
export const CREDENTIAL_KEYS: readonly string[] = ['secret', 'page_access_token'];

/** Integrations whose settings have a fixed set of string fields, all required, no others. */
export const FIXED_STRING_SETTINGS: Readonly<Record<string, readonly string[]>> = {
  facebook: ['verify', 'secret', 'page_access_token'],
};

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type Settings = { [key: string]: JsonValue };

export function isValidId(id: unknown): id is string {
  return typeof id === 'string' && id.length <= ID_MAX_LENGTH && ID_PATTERN.test(id);
}

/** Whether `id` names an integration whose settings have a fixed set of fields. */
export function fixedSettingsOf(id: string): readonly string[] | undefined {
  return Object.hasOwn(FIXED_STRING_SETTINGS, id) ? FIXED_STRING_SETTINGS[id] : undefined;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON Pointer (RFC 6901) segment escaping, so a reported field names exactly one place. */
export function pointer(base: string, key: string | number): string {
  return `${base}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

/** Why a settings key may not be stored, or null when it may. */
export function keyProblem(key: string): string | null {
  if (key.startsWith('$')) return messages.keyStartsWithDollar;
  if (key.includes('.')) return messages.keyContainsDot;
  // BSON keys are NUL-terminated: MongoDB could not store it, so no store may.
  if (key.includes('\0')) return messages.keyContainsNul;
  if (RESERVED_KEYS.includes(key)) return messages.keyReserved(key);
  return null;
}

/**
 * The checks no JSON Schema expresses: forbidden keys at any depth, nesting depth, serialized size.
 * Depth counts containers, the settings object itself being 1.
 */
export function settingsSafetyViolations(settings: unknown, path = '/settings'): FieldError[] {
  const errors: FieldError[] = [];
  let tooDeepReported = false;
  const walk = (value: unknown, at: string, depth: number): void => {
    if (typeof value !== 'object' || value === null) return;
    if (depth > SETTINGS_MAX_DEPTH) {
      if (!tooDeepReported) errors.push({ field: at, message: messages.tooDeep(SETTINGS_MAX_DEPTH) });
      tooDeepReported = true;
      return;
    }
    for (const [key, child] of Object.entries(value)) {
      const childPath = pointer(at, key);
      const problem = Array.isArray(value) ? null : keyProblem(key);
      if (problem) errors.push({ field: childPath, message: problem });
      walk(child, childPath, depth + 1);
    }
  };
  walk(settings, path, 1);
  // Too deep is already refused; serializing a value nested thousands deep would overflow the stack.
  if (tooDeepReported) return errors;
  const bytes = Buffer.byteLength(JSON.stringify(settings) ?? '');
  if (bytes > SETTINGS_MAX_BYTES) errors.push({ field: path, message: messages.tooLarge(SETTINGS_MAX_BYTES, bytes) });
  return errors;
}

/** Every rule a settings value of integration `id` breaks: an object, safe keys, depth and size, its shape. */
export function settingsViolations(id: string, settings: unknown, path = '/settings'): FieldError[] {
  if (!isPlainObject(settings)) return [{ field: path, message: messages.type('object') }];
  return [...settingsSafetyViolations(settings, path), ...settingsShapeViolations(id, settings, path)];
}

/** The per-integration shape: `facebook` takes exactly its three string fields; others any object. */
export function settingsShapeViolations(id: string, settings: Record<string, unknown>, path = '/settings'): FieldError[] {
  const fields = fixedSettingsOf(id);
  if (!fields) return [];
  const errors: FieldError[] = [];
  for (const field of fields) {
    if (!Object.hasOwn(settings, field)) errors.push({ field: pointer(path, field), message: messages.required });
    else if (typeof settings[field] !== 'string') errors.push({ field: pointer(path, field), message: messages.type('string') });
  }
  for (const key of Object.keys(settings)) {
    if (!fields.includes(key)) errors.push({ field: pointer(path, key), message: messages.notASetting(id, fields) });
  }
  return errors;
}
